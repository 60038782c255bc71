//! Who may call what.
//!
//! The caller is whoever its verified certificate names, and only if that
//! certificate is the one the directory pins for that party and is not revoked.
//! Then the party kind must be allowed to use the RPC ([`kind_may_call`]); object
//! level checks (only the named recipient may fetch a message) are made by the
//! service that owns the object.

use tonic::Request;

use crate::directory::{Directory, PartyEntry};
use crate::party::PartyKind;
use crate::tls::PeerInfo;
use crate::{Error, Result};

/// The RPCs a node serves to other parties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rpc {
    ExchangeNotify,
    ExchangeFetch,
    ExchangeAcknowledge,
    DirectoryGet,
    AuditListShared,
    BenchEcho,
}

impl Rpc {
    pub const ALL: [Rpc; 6] = [
        Rpc::ExchangeNotify,
        Rpc::ExchangeFetch,
        Rpc::ExchangeAcknowledge,
        Rpc::DirectoryGet,
        Rpc::AuditListShared,
        Rpc::BenchEcho,
    ];
}

/// The party kind × RPC table. Every party takes part in the exchange and may
/// read the directory and the audit records that name it. Domain RPCs added by
/// later services (e.g. deciding a support request: SWV only) get their rows here.
pub fn kind_may_call(kind: PartyKind, rpc: Rpc) -> bool {
    use PartyKind::*;
    match rpc {
        Rpc::ExchangeNotify
        | Rpc::ExchangeFetch
        | Rpc::ExchangeAcknowledge
        | Rpc::DirectoryGet
        | Rpc::AuditListShared => matches!(kind, PoSchool | VoSchool | Swv | ZatPartner | Vervolg),
        Rpc::BenchEcho => true,
    }
}

/// Authenticates the caller of `request` and checks it may call `rpc`.
pub fn authorize<T>(request: &Request<T>, directory: &Directory, rpc: Rpc) -> Result<PartyEntry> {
    let peer = request
        .extensions()
        .get::<PeerInfo>()
        .ok_or_else(|| Error::Unauthenticated("no verified client certificate".into()))?;
    authorize_peer(peer, directory, rpc)
}

pub fn authorize_peer(peer: &PeerInfo, directory: &Directory, rpc: Rpc) -> Result<PartyEntry> {
    let party = peer
        .party
        .as_ref()
        .ok_or_else(|| Error::Unauthenticated("certificate names no carenet party".into()))?;
    let snapshot = directory.snapshot();
    if snapshot.is_revoked(&peer.serial) {
        return Err(Error::Unauthenticated("certificate is revoked".into()));
    }
    let entry = snapshot
        .get(party.as_str())
        .ok_or_else(|| Error::Unauthenticated(format!("party {party} is not in the directory")))?;
    if entry.spki_sha256 != peer.spki_sha256 {
        return Err(Error::Unauthenticated(format!(
            "certificate key of {party} does not match the directory pin"
        )));
    }
    if !kind_may_call(entry.kind, rpc) {
        return Err(Error::PermissionDenied(format!(
            "a {} may not call {rpc:?}",
            entry.kind.as_str()
        )));
    }
    Ok(entry.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_takes_part_in_the_exchange() {
        for kind in PartyKind::ALL {
            for rpc in Rpc::ALL {
                assert!(kind_may_call(kind, rpc), "{kind:?} {rpc:?}");
            }
        }
    }
}
