//! The slice contract: what a domain crate brings to a node, in one place.
//!
//! A slice (consent, handover, and the care slices after them) declares its
//! document types ([`DocumentType`]: purposes, legal bases, which party kinds
//! may send it to which, retention, data categories), the records it keeps
//! of its own and how long ([`RecordKind`]), the RPCs it serves and which
//! party kinds may call each ([`RpcRule`]), its background jobs ([`Job`]),
//! its config section and its gRPC services. The node composes a
//! list of slices into one [`Registry`]; the fabric checks every send, notify,
//! fetch and arrival against it on both sides, takes retention from it, and
//! refuses any RPC a caller's kind is not allowed.

use std::collections::BTreeMap;
use std::sync::Arc;

use carenet_proto::v1::{self, LegalBasisKind};
pub use futures::future::BoxFuture;

use crate::party::PartyKind;
use crate::store::Store;
use crate::{Error, Result};

/// What starts a document's retention clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetentionClock {
    /// Its delivery: at the sender the signed receipt, at the receiver the
    /// arrival. The fabric's purge deletes the content when the period ends.
    Delivery,
    /// The end of the case a record belongs to (a ZAT case closed, a plan
    /// closed, an IZO registration's last step): for a school's own care
    /// records, which its slice purges when the period ends.
    CaseEnd,
}

/// A kind of record a slice keeps of its own (never sent as such), with its
/// retention period: e.g. a school's IZO registrations. The slice's job
/// purges it with proof in the audit chain; the node's config may change
/// the period (`[retention]`, by the kind's name) where a longer legal
/// period applies.
#[derive(Clone, Debug)]
pub struct RecordKind {
    /// `record.<name>`: 1-64 characters of a-z, 0-9, '_' and '.'.
    pub name: &'static str,
    /// Days it is kept, counted from [`Self::retention_clock`].
    pub retention_days: u32,
    pub retention_clock: RetentionClock,
}

/// One document type a slice sends over the exchange.
#[derive(Clone, Debug)]
pub struct DocumentType {
    /// `carenet.<name>`: 1-64 characters of a-z, 0-9, '_' and '.'.
    pub name: &'static str,
    /// The purposes it may travel under (consent purposes, e.g. `transfer_dossier`).
    pub purposes: &'static [&'static str],
    /// The legal bases it may travel under.
    pub legal_bases: &'static [LegalBasisKind],
    /// The statutory tasks (their references, e.g. the article of law) it may
    /// travel under when its basis is a statutory task: a message naming any
    /// other task is refused on both sides. Empty when it never travels on one.
    pub statutory_tasks: &'static [&'static str],
    /// Which party kinds may send it to which (sender kind, recipient kind).
    pub flows: &'static [(PartyKind, PartyKind)],
    /// Days its content is kept, counted from [`Self::retention_clock`].
    pub retention_days: u32,
    pub retention_clock: RetentionClock,
    /// The data categories its sections may hold (consent categories).
    pub categories: &'static [&'static str],
}

impl DocumentType {
    pub fn allows_flow(&self, sender: PartyKind, recipient: PartyKind) -> bool {
        self.flows.contains(&(sender, recipient))
    }
}

/// The kinds of party that may call one RPC (`/package.Service/Method`).
#[derive(Clone, Copy, Debug)]
pub struct RpcRule {
    pub path: &'static str,
    pub kinds: &'static [PartyKind],
}

/// All five party kinds: for RPCs every party uses.
pub const EVERY_KIND: &[PartyKind] = &PartyKind::ALL;

/// A staff member's relation to a pupil as one slice's own records show it
/// (assigned as mentor, registered them for the IZO, coordinates their
/// plan): the basis on which staff without a school-wide role may see that
/// pupil's consents. The relation is read from the slice's current records,
/// so it ends when they change (another mentor, a purged case).
#[derive(Clone, Copy, Debug)]
pub struct Relation {
    /// What the relation is (`mentor`, `izo_registrant`, ...): a token.
    pub name: &'static str,
    /// Whether it holds between the pupil (`child_ref`) and the staff id,
    /// read from the slice's own tables.
    pub holds: RelationCheck,
}

/// `holds(store, child_ref, staff)` of a [`Relation`].
pub type RelationCheck = for<'a> fn(&'a Store, &'a str, &'a str) -> BoxFuture<'a, Result<bool>>;

/// A background job a slice runs on the node's schedule.
pub struct Job {
    pub name: &'static str,
    pub run: Box<dyn Fn(JobContext) -> BoxFuture<'static, Result<usize>> + Send + Sync>,
}

/// What a job gets each time it runs.
#[derive(Clone)]
pub struct JobContext {
    pub store: Store,
    pub registry: Arc<Registry>,
    /// Milliseconds since the epoch, as of this run.
    pub now_ms: i64,
    /// Which run since the node started: 0 at start, then one per interval.
    pub run: u64,
    /// The time between runs.
    pub interval_ms: i64,
}

/// A domain slice of a node.
pub trait Slice: Send + Sync {
    /// Short name; also the name of its config section (`[handover]`).
    fn name(&self) -> &'static str;
    fn document_types(&self) -> &'static [DocumentType] {
        &[]
    }
    fn rpcs(&self) -> &'static [RpcRule] {
        &[]
    }
    /// The records it keeps of its own, with their retention.
    fn records(&self) -> &'static [RecordKind] {
        &[]
    }
    /// Its background jobs (built from the node's config).
    fn jobs(&self) -> Vec<Job> {
        Vec::new()
    }
    /// Jobs that run as soon as messages arrived (one run at a time; what
    /// arrives during a run causes one more), e.g. applying a member's
    /// progress to a plan; they get the same [`JobContext`].
    fn arrival_jobs(&self) -> Vec<Job> {
        Vec::new()
    }
    /// How its records relate staff to pupils ([`Relation`]).
    fn relations(&self) -> &'static [Relation] {
        &[]
    }
    /// Adds its gRPC services to the node's router.
    fn services(
        &self,
        _ctx: &ServiceContext,
        routes: tonic::service::Routes,
    ) -> tonic::service::Routes {
        routes
    }
}

/// What a slice's gRPC services may use.
#[derive(Clone)]
pub struct ServiceContext {
    pub store: Store,
    pub directory: Arc<crate::directory::Directory>,
    pub registry: Arc<Registry>,
}

/// Why the registry refuses a message; names no personal data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal(pub String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One message as the registry checks it.
#[derive(Clone, Copy)]
pub struct Check<'a> {
    pub document_type: &'a str,
    pub purpose: &'a str,
    pub legal_basis: Option<&'a v1::LegalBasis>,
    pub sender: PartyKind,
    pub recipient: PartyKind,
}

/// Every document type and RPC of the slices a node runs.
#[derive(Debug, Default)]
pub struct Registry {
    types: BTreeMap<&'static str, DocumentType>,
    records: BTreeMap<&'static str, RecordKind>,
    rpcs: BTreeMap<&'static str, &'static [PartyKind]>,
    relations: Vec<Relation>,
}

impl Registry {
    /// Composes the slices; a document type or RPC declared twice, or a
    /// malformed declaration, is an error.
    pub fn new<'a>(slices: impl IntoIterator<Item = &'a dyn Slice>) -> Result<Self> {
        let mut registry = Registry::default();
        for slice in slices {
            for t in slice.document_types() {
                if !crate::store::outbox::valid_token(t.name) {
                    return Err(Error::Config(format!(
                        "document type {:?}: not a token",
                        t.name
                    )));
                }
                if t.purposes.is_empty() || t.legal_bases.is_empty() || t.flows.is_empty() {
                    return Err(Error::Config(format!(
                        "document type {}: name its purposes, legal bases and flows",
                        t.name
                    )));
                }
                if t.legal_bases.contains(&LegalBasisKind::StatutoryTask)
                    == t.statutory_tasks.is_empty()
                {
                    return Err(Error::Config(format!(
                        "document type {}: name its statutory tasks exactly when it travels on one",
                        t.name
                    )));
                }
                if t.retention_clock != RetentionClock::Delivery {
                    return Err(Error::Config(format!(
                        "document type {}: its retention runs from delivery",
                        t.name
                    )));
                }
                if registry.types.insert(t.name, t.clone()).is_some() {
                    return Err(Error::Config(format!(
                        "document type {} is declared by two slices",
                        t.name
                    )));
                }
            }
            for r in slice.relations() {
                if !crate::store::outbox::valid_token(r.name) {
                    return Err(Error::Config(format!(
                        "relation {:?}: name it with a token",
                        r.name
                    )));
                }
                registry.relations.push(*r);
            }
            for r in slice.records() {
                if !r.name.starts_with("record.") || !crate::store::outbox::valid_token(r.name) {
                    return Err(Error::Config(format!(
                        "record kind {:?}: not a token record.<name>",
                        r.name
                    )));
                }
                if r.retention_days == 0 {
                    return Err(Error::Config(format!(
                        "record kind {}: keep it at least a day",
                        r.name
                    )));
                }
                if registry.records.insert(r.name, r.clone()).is_some() {
                    return Err(Error::Config(format!(
                        "record kind {} is declared by two slices",
                        r.name
                    )));
                }
            }
            for r in slice.rpcs() {
                if registry.rpcs.insert(r.path, r.kinds).is_some() {
                    return Err(Error::Config(format!(
                        "rpc {} is declared by two slices",
                        r.path
                    )));
                }
            }
        }
        Ok(registry)
    }

    pub fn document_type(&self, name: &str) -> Option<&DocumentType> {
        self.types.get(name)
    }

    pub fn document_types(&self) -> impl Iterator<Item = &DocumentType> {
        self.types.values()
    }

    /// The retention period of a document type or record kind, if it is
    /// registered.
    pub fn retention_days(&self, name: &str) -> Option<u32> {
        self.types
            .get(name)
            .map(|t| t.retention_days)
            .or_else(|| self.records.get(name).map(|r| r.retention_days))
    }

    /// The record kinds of the node's slices.
    pub fn record_kinds(&self) -> impl Iterator<Item = &RecordKind> {
        self.records.values()
    }

    /// Changes the retention period of a registered type or record kind
    /// (node config).
    pub fn set_retention_days(&mut self, name: &str, days: u32) -> Result<()> {
        if days == 0 {
            return Err(Error::invalid(
                format!("retention.{name}"),
                "must be at least 1 day",
            ));
        }
        if let Some(t) = self.types.get_mut(name) {
            t.retention_days = days;
            return Ok(());
        }
        match self.records.get_mut(name) {
            Some(r) => {
                r.retention_days = days;
                Ok(())
            }
            None => Err(Error::invalid(
                format!("retention.{name}"),
                "not a document type or record kind registered by this node's slices",
            )),
        }
    }

    /// The first relation between staff member `staff` and the pupil
    /// `child_ref` that a slice's records show, or `None`.
    pub async fn relation(
        &self,
        store: &Store,
        child_ref: &str,
        staff: &str,
    ) -> Result<Option<&'static str>> {
        for r in &self.relations {
            if (r.holds)(store, child_ref, staff).await? {
                return Ok(Some(r.name));
            }
        }
        Ok(None)
    }

    /// The kinds that may call `path`; `None` if no slice serves it.
    pub fn rpc_kinds(&self, path: &str) -> Option<&'static [PartyKind]> {
        self.rpcs.get(path).copied()
    }

    /// Whether a party of `kind` may call `path`, with the reason if not.
    pub fn check_rpc(&self, path: &str, kind: PartyKind) -> std::result::Result<(), Refusal> {
        match self.rpc_kinds(path) {
            None => Err(Refusal(format!("{path} is not served here"))),
            Some(kinds) if kinds.contains(&kind) => Ok(()),
            Some(_) => Err(Refusal(format!("a {} may not call {path}", kind.as_str()))),
        }
    }

    /// The registered type of this name.
    fn registered(&self, name: &str) -> std::result::Result<&DocumentType, Refusal> {
        self.types.get(name).ok_or_else(|| {
            Refusal(format!(
                "document type {name} is not registered on this node"
            ))
        })
    }

    /// The type allows `sender`'s kind to send it to `recipient`'s.
    fn flow(
        t: &DocumentType,
        sender: PartyKind,
        recipient: PartyKind,
    ) -> std::result::Result<(), Refusal> {
        if t.allows_flow(sender, recipient) {
            Ok(())
        } else {
            Err(Refusal(format!(
                "a {} may not send {} to a {}",
                sender.as_str(),
                t.name,
                recipient.as_str()
            )))
        }
    }

    /// The type travels for `purpose` on `legal_basis`.
    fn purpose_and_basis(
        t: &DocumentType,
        purpose: &str,
        legal_basis: Option<&v1::LegalBasis>,
    ) -> std::result::Result<(), Refusal> {
        if !t.purposes.contains(&purpose) {
            return Err(Refusal(format!(
                "{} does not travel for purpose {purpose}",
                t.name
            )));
        }
        let basis = legal_basis
            .and_then(|b| LegalBasisKind::try_from(b.kind).ok())
            .unwrap_or(LegalBasisKind::Unspecified);
        if !t.legal_bases.contains(&basis) {
            return Err(Refusal(format!(
                "{} does not travel on the basis {}",
                t.name,
                basis.as_str_name()
            )));
        }
        if basis == LegalBasisKind::StatutoryTask {
            let task = legal_basis.map(|b| b.reference.as_str()).unwrap_or("");
            if !t.statutory_tasks.contains(&task) {
                return Err(Refusal(format!(
                    "{} does not travel on the statutory task {task:?}: not one this node registers",
                    t.name
                )));
            }
        }
        Ok(())
    }

    /// Checks a message against its registered type: known type, a flow the
    /// type allows from the sender's kind to the recipient's, one of its
    /// purposes and legal bases.
    pub fn check(&self, m: &Check<'_>) -> std::result::Result<&DocumentType, Refusal> {
        let t = self.registered(m.document_type)?;
        Self::flow(t, m.sender, m.recipient)?;
        Self::purpose_and_basis(t, m.purpose, m.legal_basis)?;
        Ok(t)
    }

    /// The checks that need no party kinds: a registered type, one of its
    /// purposes and legal bases (the flow is checked where the kinds are known).
    pub fn check_unrouted(
        &self,
        document_type: &str,
        purpose: &str,
        legal_basis: Option<&v1::LegalBasis>,
    ) -> std::result::Result<(), Refusal> {
        Self::purpose_and_basis(self.registered(document_type)?, purpose, legal_basis)
    }

    /// A payload may hold only the data categories its type registers: every
    /// section of its `CategorizedDocument` in the list. A type that
    /// registers no categories carries ids and times, not a categorised
    /// document, and is not looked into.
    pub fn check_categories(
        &self,
        document_type: &str,
        payload: &[u8],
    ) -> std::result::Result<(), Refusal> {
        let t = self.registered(document_type)?;
        if t.categories.is_empty() {
            return Ok(());
        }
        let Ok(doc) = <v1::CategorizedDocument as prost::Message>::decode(payload) else {
            return Err(Refusal(format!(
                "{} must be a categorised document",
                t.name
            )));
        };
        match doc
            .sections
            .iter()
            .find(|s| !t.categories.contains(&s.category.as_str()))
        {
            Some(s) => Err(Refusal(format!(
                "{} does not carry data of category {}",
                t.name, s.category
            ))),
            None => Ok(()),
        }
    }

    /// A notification names only the type: known, and a flow from the
    /// sender's kind to this node's kind.
    pub fn check_notified(
        &self,
        document_type: &str,
        sender: PartyKind,
        receiver: PartyKind,
    ) -> std::result::Result<(), Refusal> {
        Self::flow(self.registered(document_type)?, sender, receiver)
    }
}

/// The fabric's own part of every node: the exchange, the directory, the
/// audit comparison and checkpoints, and the withdrawal notice a holder
/// sends when a basis ends (AVG art. 19).
pub struct FabricSlice;

/// The statutory task a withdrawal notice travels on: the controller tells
/// every recipient that data it received must no longer be used.
pub const WITHDRAWAL_TASK: &str = "avg-art-19";

/// The document types of a withdrawal notice and of an audit checkpoint
/// (ids and hashes only, no personal data).
pub static FABRIC_TYPES: &[DocumentType] = &[
    DocumentType {
        name: crate::store::inbox::WITHDRAWAL_TYPE,
        purposes: &["withdrawal"],
        legal_bases: &[LegalBasisKind::StatutoryTask],
        statutory_tasks: &[WITHDRAWAL_TASK],
        flows: &ALL_FLOWS,
        retention_days: 730,
        retention_clock: RetentionClock::Delivery,
        categories: &[],
    },
    // Kept at the SWV as long as the audit logs it anchors (ten years).
    DocumentType {
        name: crate::checkpoint::CHECKPOINT_TYPE,
        purposes: &[crate::checkpoint::CHECKPOINT_PURPOSE],
        legal_bases: &[LegalBasisKind::StatutoryTask],
        statutory_tasks: &[crate::checkpoint::CHECKPOINT_TASK],
        flows: &[
            (PartyKind::PoSchool, PartyKind::Swv),
            (PartyKind::VoSchool, PartyKind::Swv),
            (PartyKind::ZatPartner, PartyKind::Swv),
            (PartyKind::Vervolg, PartyKind::Swv),
        ],
        retention_days: 3650,
        retention_clock: RetentionClock::Delivery,
        categories: &[],
    },
];

/// Every (sender kind, recipient kind) pair.
pub const ALL_FLOWS: [(PartyKind, PartyKind); 25] = {
    let k = PartyKind::ALL;
    let mut out = [(PartyKind::Swv, PartyKind::Swv); 25];
    let mut i = 0;
    while i < 25 {
        out[i] = (k[i / 5], k[i % 5]);
        i += 1;
    }
    out
};

static FABRIC_RPCS: &[RpcRule] = &[
    RpcRule {
        path: "/carenet.v1.Exchange/Notify",
        kinds: EVERY_KIND,
    },
    RpcRule {
        path: "/carenet.v1.Exchange/Fetch",
        kinds: EVERY_KIND,
    },
    RpcRule {
        path: "/carenet.v1.Exchange/Acknowledge",
        kinds: EVERY_KIND,
    },
    // Served by the SWV node; every party refreshes its directory from it.
    RpcRule {
        path: "/carenet.v1.Directory/Get",
        kinds: EVERY_KIND,
    },
    RpcRule {
        path: "/carenet.v1.Audit/ListShared",
        kinds: EVERY_KIND,
    },
    // Answered by the SWV, which keeps the checkpoints.
    RpcRule {
        path: "/carenet.v1.Audit/ListCheckpoints",
        kinds: EVERY_KIND,
    },
];

impl Slice for FabricSlice {
    fn name(&self) -> &'static str {
        "fabric"
    }
    fn document_types(&self) -> &'static [DocumentType] {
        FABRIC_TYPES
    }
    fn rpcs(&self) -> &'static [RpcRule] {
        FABRIC_RPCS
    }
    fn jobs(&self) -> Vec<Job> {
        vec![
            Job {
                name: "retention purge",
                run: Box::new(|ctx: JobContext| {
                    Box::pin(async move {
                        let r = ctx.store.purge_expired(&ctx.registry, ctx.now_ms).await?;
                        Ok(r.received + r.sent)
                    })
                }),
            },
            Job {
                name: "audit checkpoint",
                // Periodic; at start only for a node that anchored before
                // and not for an interval (see checkpoint::send_at_start).
                run: Box::new(|ctx: JobContext| {
                    Box::pin(async move {
                        if ctx.run == 0 {
                            crate::checkpoint::send_at_start(
                                &ctx.store,
                                ctx.now_ms,
                                ctx.interval_ms,
                            )
                            .await
                        } else {
                            crate::checkpoint::send_due(&ctx.store, ctx.now_ms).await
                        }
                    })
                }),
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PartyKind::*;

    struct Demo;
    static TYPES: &[DocumentType] = &[DocumentType {
        name: "carenet.test_note",
        purposes: &["share_with_partner"],
        legal_bases: &[LegalBasisKind::Consent],
        statutory_tasks: &[],
        flows: &[(VoSchool, ZatPartner)],
        retention_days: 10,
        retention_clock: RetentionClock::Delivery,
        categories: &["identity"],
    }];
    static RPCS: &[RpcRule] = &[RpcRule {
        path: "/carenet.v1.Test/Do",
        kinds: &[VoSchool],
    }];
    static RECORDS: &[RecordKind] = &[RecordKind {
        name: "record.test_case",
        retention_days: 730,
        retention_clock: RetentionClock::CaseEnd,
    }];
    impl Slice for Demo {
        fn name(&self) -> &'static str {
            "demo"
        }
        fn records(&self) -> &'static [RecordKind] {
            RECORDS
        }
        fn document_types(&self) -> &'static [DocumentType] {
            TYPES
        }
        fn rpcs(&self) -> &'static [RpcRule] {
            RPCS
        }
    }

    fn basis(kind: LegalBasisKind) -> v1::LegalBasis {
        v1::LegalBasis {
            kind: kind as i32,
            ..Default::default()
        }
    }

    #[test]
    fn checks_type_flow_purpose_and_basis() {
        let r = Registry::new([&Demo as &dyn Slice]).expect("registry");
        let consent = basis(LegalBasisKind::Consent);
        let ok = Check {
            document_type: "carenet.test_note",
            purpose: "share_with_partner",
            legal_basis: Some(&consent),
            sender: VoSchool,
            recipient: ZatPartner,
        };
        assert!(r.check(&ok).is_ok());
        let e = r.check(&Check { sender: Swv, ..ok }).expect_err("flow");
        assert_eq!(e.0, "a swv may not send carenet.test_note to a zat_partner");
        assert!(
            r.check(&Check {
                document_type: "carenet.other",
                ..ok
            })
            .is_err()
        );
        assert!(
            r.check(&Check {
                purpose: "transfer_dossier",
                ..ok
            })
            .is_err()
        );
        let statutory = basis(LegalBasisKind::StatutoryTask);
        let e = r
            .check(&Check {
                document_type: "carenet.test_note",
                purpose: "share_with_partner",
                legal_basis: Some(&statutory),
                sender: VoSchool,
                recipient: ZatPartner,
            })
            .expect_err("basis");
        assert!(e.0.contains("LEGAL_BASIS_KIND_STATUTORY_TASK"), "{e}");
        assert_eq!(r.retention_days("carenet.test_note"), Some(10));
        assert!(r.check_rpc("/carenet.v1.Test/Do", VoSchool).is_ok());
        assert!(r.check_rpc("/carenet.v1.Test/Do", Swv).is_err());
        assert!(r.check_rpc("/carenet.v1.Test/Other", VoSchool).is_err());
    }

    #[test]
    fn a_type_declared_twice_is_refused() {
        assert!(Registry::new([&Demo as &dyn Slice, &Demo as &dyn Slice]).is_err());
    }

    #[test]
    fn a_record_kind_has_a_period_the_config_may_change() {
        let mut r = Registry::new([&Demo as &dyn Slice]).expect("registry");
        assert_eq!(r.retention_days("record.test_case"), Some(730));
        r.set_retention_days("record.test_case", 1825)
            .expect("a longer legal period");
        assert_eq!(r.retention_days("record.test_case"), Some(1825));
        assert!(r.set_retention_days("record.test_case", 0).is_err());
        assert!(r.set_retention_days("record.other", 10).is_err());
        assert_eq!(r.record_kinds().count(), 1);
    }
}
