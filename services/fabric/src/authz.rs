//! Who is calling.
//!
//! The caller is whoever its verified certificate names, and only if that
//! certificate is the one the directory pins for that party and is not revoked.
//! Which party kinds may call which RPC is the slice registry's table, checked
//! for every call by the [`crate::gate`] in front of the services; object
//! level checks (only the named recipient may fetch a message) are made by the
//! service that owns the object.

use tonic::Request;

use crate::directory::{Directory, PartyEntry};
use crate::tls::PeerInfo;
use crate::{Error, Result};

/// Authenticates the caller of `request`: its directory entry.
pub fn authorize<T>(request: &Request<T>, directory: &Directory) -> Result<PartyEntry> {
    let peer = request
        .extensions()
        .get::<PeerInfo>()
        .ok_or_else(|| Error::Unauthenticated("no verified client certificate".into()))?;
    authorize_peer(peer, directory)
}

/// The directory entry of a verified certificate: named party, pinned key,
/// not revoked, and the directory still fresh (stale trust is no trust:
/// revocations since may be missing).
pub fn authorize_peer(peer: &PeerInfo, directory: &Directory) -> Result<PartyEntry> {
    directory.check_fresh()?;
    identify_peer(peer, directory)
}

/// The directory entry of a verified certificate, whether or not the
/// directory is fresh: for health, reflection and fetching the directory
/// itself, which a node with stale trust still needs.
pub fn identify_peer(peer: &PeerInfo, directory: &Directory) -> Result<PartyEntry> {
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
    Ok(entry.clone())
}
