//! Sending members their view of a plan. The holder queues the whole plan,
//! one section per data category ([`crate::Plan::view_payload`]), to each
//! active member under that member's own consent record; the release
//! policy keeps only the sections that consent covers and signs a receipt
//! for what leaves. So a member sees its sections and nothing else, and
//! every view is a release in the audit log.

use carenet_consent::Purpose;
use carenet_fabric::audit::Entry;
use carenet_fabric::directory::PartyEntry;
use carenet_fabric::store::Store;
use carenet_fabric::store::outbox::NewMessage;
use carenet_fabric::{Error, PartyId, audited, outbox_enqueue};
use carenet_proto::v1::{self, LegalBasisKind};

use crate::model::{Plan, VIEW_TYPE, view_document_id};
use crate::{Result, members, plan};

/// Queues the plan's current version to each active member (or only to
/// `only`), unless that member has it already. Returns (member, message id)
/// of every member that has or gets this version.
pub async fn send(
    store: &Store,
    plan_id: &str,
    only: Option<&str>,
) -> Result<Vec<(String, String)>> {
    let plan = current(store, plan_id).await?;
    queue(store, &plan, only).await
}

/// The plan as it is sent: loaded, with its memberships checked today.
pub async fn current(store: &Store, plan_id: &str) -> Result<Plan> {
    let plan = plan::load(store, plan_id).await?;
    Ok(if members::refresh(store, &plan).await? {
        plan::load(store, plan_id).await?
    } else {
        plan
    })
}

/// What one member's view of the plan holds: the plan as it is sent, cut to
/// the categories of that member's consent as the release policy cuts it
/// (the benchmark's unit of work; the release itself signs a receipt too).
pub async fn assemble(store: &Store, plan_id: &str, party: &str) -> Result<Vec<u8>> {
    let plan = current(store, plan_id).await?;
    let Some(member) = plan.active_members().find(|m| m.party == party) else {
        return Err(Error::NotFound(format!(
            "member {party} of case plan {plan_id}"
        )));
    };
    let Some(record) = carenet_consent::record::ConsentStore::new(store.clone())
        .latest(&member.consent_record)
        .await?
    else {
        return Err(Error::NotFound(format!(
            "consent {}",
            member.consent_record
        )));
    };
    let allowed = record
        .version
        .categories
        .iter()
        .filter_map(|c| carenet_consent::Category::parse("categories", c).ok())
        .collect();
    let (cut, _) = carenet_consent::policy::project(&plan.view_payload(), &allowed)
        .ok_or_else(|| Error::Corrupt(format!("case plan {plan_id}: view")))?;
    Ok(prost::Message::encode_to_vec(&cut))
}

/// Queues `plan` as loaded (its memberships refreshed by the caller).
pub async fn queue(
    store: &Store,
    plan: &Plan,
    only: Option<&str>,
) -> Result<Vec<(String, String)>> {
    Ok(queue_new(store, plan, only).await?.0)
}

/// As [`queue`], and how many views it queued now.
pub async fn queue_new(
    store: &Store,
    plan: &Plan,
    only: Option<&str>,
) -> Result<(Vec<(String, String)>, usize)> {
    let version = u32::try_from(plan.version)
        .map_err(|_| Error::Corrupt(format!("case plan {}: version", plan.id)))?;
    let document_id = view_document_id(&plan.id);
    let sent = store.sent_versions(VIEW_TYPE, &document_id).await?;
    let mut out = Vec::new();
    let mut messages = Vec::new();
    for m in plan.active_members() {
        if only.is_some_and(|p| p != m.party) {
            continue;
        }
        if let Some(s) = sent
            .iter()
            .find(|s| s.recipient == m.party && s.version == version)
        {
            out.push((m.party.clone(), s.message_id.clone()));
            continue;
        }
        messages.push(NewMessage {
            recipient: PartyId::parse("members.party", &m.party)?,
            document_type: VIEW_TYPE.into(),
            document_id: document_id.clone(),
            version,
            purpose: Purpose::CaseMembership.as_str().into(),
            legal_basis: v1::LegalBasis {
                kind: LegalBasisKind::Consent as i32,
                reference: m.consent_record.clone(),
                consent_receipt: Vec::new(),
            },
            payload: plan.view_payload(),
            actor: carenet_fabric::actor::SYSTEM_STAFF.into(),
            child_ref: Some(plan.child_ref.clone()),
        });
    }
    if messages.is_empty() {
        return Ok((out, 0));
    }
    let ids = store.prepare(&messages).await?;
    audited!(&store.db, tx => {
        let mut entries: Vec<Entry> = Vec::new();
        outbox_enqueue!(tx, &messages, &ids, &mut entries);
        ((), entries)
    });
    store.wake_outbox();
    out.extend(messages.iter().map(|m| m.recipient.to_string()).zip(ids));
    let queued = messages.len();
    Ok((out, queued))
}

/// A member's request for its current view (the `Caseplan/RequestView`
/// RPC): only an active member of an existing plan gets one; anyone else is
/// refused the same way whether the plan exists or not, and audited.
pub async fn answer_request(store: &Store, caller: &PartyEntry, plan_id: &str) -> Result<String> {
    // The id comes from another node: it reaches the audit log only if it
    // has an id's form.
    let subject = if crate::model::is_id(plan_id) {
        plan_id.to_owned()
    } else {
        "(not an id)".to_owned()
    };
    let refuse = || async {
        let e = Entry {
            actor: caller.id.to_string(),
            action: "refused:case_view".into(),
            message_id: subject.clone(),
            counterparty: caller.id.to_string(),
            purpose: Purpose::CaseMembership.as_str().into(),
            ..Entry::default()
        };
        carenet_fabric::audit::append(&store.db, &[e]).await?;
        Err::<String, Error>(Error::PermissionDenied(
            "only a member of the plan gets its view".into(),
        ))
    };
    if !crate::model::is_id(plan_id) {
        return refuse().await;
    }
    let plan = match plan::load(store, plan_id).await {
        Ok(p) => p,
        Err(Error::NotFound(_)) => return refuse().await,
        Err(e) => return Err(e),
    };
    if members::active(store, &plan, caller.id.as_str())
        .await?
        .is_none()
    {
        return refuse().await;
    }
    let plan = plan::load(store, plan_id).await?;
    let sent = queue(store, &plan, Some(caller.id.as_str())).await?;
    sent.into_iter()
        .next()
        .map(|(_, id)| id)
        .ok_or_else(|| Error::precondition("the view could not be queued"))
}
