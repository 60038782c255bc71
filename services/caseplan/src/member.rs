//! A member's side: the views of the plans this party is a member of (the
//! latest of each, indexed by id only; the content stays in the inbox,
//! where a withdrawal erases it), progress on its own tasks back to the
//! holder, and asking the holder for a fresh view.
//!
//! Progress travels under the holder's consent record: the member holds no
//! record of its own, so it sends the holder's receipt of the view it acts
//! on (`carenet_consent::policy::answer_receipt`), and the holder checks the
//! membership again when it applies the step.

use carenet_consent::Purpose;
use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::directory::Directory;
use carenet_fabric::store::Store;
use carenet_fabric::store::outbox::NewMessage;
use carenet_fabric::tls::NodeTls;
use carenet_fabric::{Actor, Error, PartyId, audited, outbox_enqueue, with_db};
use carenet_proto::v1;
use prost::Message;

use crate::model::{MemberView, NOTE_STEP, PROGRESS_TYPE, VIEW_TYPE, plan_of_view};
use crate::task::{self, State, Step, Who};
use crate::{Result, roles};

/// Indexes the views that arrived since the last call: per (holder, plan)
/// the newest version, labelled with the pupil's name when the view holds
/// it (the label is erased with the content). A view whose plan id (from
/// its document id) or any id inside it has not an id's form is refused
/// here, at arrival (audited, never indexed): nothing of it reaches a
/// list, a page or a link.
pub async fn sync(store: &Store) -> Result<()> {
    let new = store
        .received_not_in(&[VIEW_TYPE], "case_view_seen")
        .await?;
    for item in new {
        let plan_id = plan_of_view(&item.header.document_id).unwrap_or_default();
        let view = match store.received(&item.message_id).await? {
            Some(doc) if !doc.payload.is_empty() => {
                MemberView::from_payload(&item.sender, plan_id, &doc.payload).ok()
            }
            _ => None,
        };
        let refused = match &view {
            _ if !crate::model::is_id(plan_id) => Some("plan_id".to_owned()),
            Some(v) => v.malformed_id(),
            // Unreadable or withdrawn: nothing to index, nothing to refuse.
            None => None,
        };
        if let Some(field) = &refused {
            tracing::warn!(
                message_id = %item.message_id,
                holder = %item.sender,
                field = %field,
                "case view refused at arrival: an id has not an id's form"
            );
        }
        if refused.is_none()
            && let Some(pupil) = view.as_ref().and_then(|v| v.pupil.as_ref())
        {
            store.label_received(&item.message_id, &pupil.name).await?;
        }
        let at = if item.received_at_ms > 0 {
            item.received_at_ms
        } else {
            now_ms()
        };
        let index = refused.is_none() && view.is_some();
        let audit = Entry {
            actor: item.sender.clone(),
            action: "refused:case_view_arrival".into(),
            message_id: item.message_id.clone(),
            counterparty: item.sender.clone(),
            purpose: Purpose::CaseMembership.as_str().into(),
            ..Entry::default()
        };
        audited!(&store.db, tx => {
            let first = sqlx::query("INSERT INTO case_view_seen (message_id) VALUES ($1) ON CONFLICT (message_id) DO NOTHING")
                .bind(&item.message_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if first && index {
                sqlx::query(
                    "INSERT INTO case_view_in (holder, plan_id, message_id, plan_version, received_at_ms) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (holder, plan_id) DO UPDATE SET message_id = excluded.message_id, \
                     plan_version = excluded.plan_version, received_at_ms = excluded.received_at_ms \
                     WHERE excluded.plan_version > case_view_in.plan_version",
                )
                .bind(&item.sender)
                .bind(plan_id)
                .bind(&item.message_id)
                .bind(i64::from(item.header.version))
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            ((), if first && refused.is_some() { vec![audit] } else { Vec::new() })
        });
    }
    Ok(())
}

/// A plan this party is a member of, as its latest view names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub holder: String,
    pub plan_id: String,
    pub version: u64,
    /// The pupil's name, if the view holds it.
    pub pupil_name: Option<String>,
    pub received_at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct ViewRow {
    holder: String,
    plan_id: String,
    message_id: String,
    plan_version: i64,
    received_at_ms: i64,
}

/// The plans whose view this party holds (a withdrawn one is gone).
pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<Listed>> {
    carenet_fabric::actor::require(store, actor, &roles::MEMBER, "case").await?;
    sync(store).await?;
    let rows: Vec<ViewRow> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT holder, plan_id, message_id, plan_version, received_at_ms FROM case_view_in \
             ORDER BY received_at_ms DESC, plan_id",
        )
        .fetch_all(pool)
        .await?
    });
    let ids: Vec<String> = rows.iter().map(|r| r.message_id.clone()).collect();
    let labels = store.received_labels(&ids).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let label = labels.get(&r.message_id)?;
            Some(Listed {
                holder: r.holder,
                plan_id: r.plan_id,
                version: u64::try_from(r.plan_version).unwrap_or_default(),
                pupil_name: label.clone(),
                received_at_ms: r.received_at_ms,
            })
        })
        .collect())
}

async fn latest(
    store: &Store,
    holder: &str,
    plan_id: &str,
) -> Result<(MemberView, v1::EnvelopeHeader)> {
    sync(store).await?;
    let row: Option<ViewRow> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT holder, plan_id, message_id, plan_version, received_at_ms FROM case_view_in WHERE holder = $1 AND plan_id = $2",
        )
        .bind(holder)
        .bind(plan_id)
        .fetch_optional(pool)
        .await?
    });
    let gone = || Error::NotFound(format!("case plan {plan_id} at {holder}"));
    let row = row.ok_or_else(gone)?;
    let doc = store.received(&row.message_id).await?.ok_or_else(gone)?;
    if doc.payload.is_empty() {
        return Err(gone());
    }
    let view = MemberView::from_payload(holder, plan_id, &doc.payload)?;
    // Indexed before arrival checked every id: still never shown.
    if view.malformed_id().is_some() {
        return Err(gone());
    }
    Ok((view, doc.header))
}

/// The latest view of one plan, unaudited, or `None` when it is gone: for
/// the work lists ([`crate::work`]), which audit what they show.
pub async fn latest_view(store: &Store, holder: &str, plan_id: &str) -> Result<Option<MemberView>> {
    match latest(store, holder, plan_id).await {
        Ok((view, _)) => Ok(Some(view)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The plan held by `holder` that came from its record `origin`
/// `origin_id` (a ZAT case), as a view this party holds names it: the plan
/// id, or `None` while no view of it has arrived (or it was withdrawn).
/// Not audited: it reads no content, only which plan replaces a record.
pub async fn plan_from(
    store: &Store,
    holder: &str,
    origin: &str,
    origin_id: &str,
) -> Result<Option<String>> {
    sync(store).await?;
    let rows: Vec<ViewRow> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT holder, plan_id, message_id, plan_version, received_at_ms FROM case_view_in WHERE holder = $1 ORDER BY plan_id",
        )
        .bind(holder)
        .fetch_all(pool)
        .await?
    });
    for row in rows {
        let Ok((view, _)) = latest(store, holder, &row.plan_id).await else {
            continue;
        };
        if view
            .header
            .as_ref()
            .is_some_and(|h| h.origin == origin && h.origin_id == origin_id)
        {
            return Ok(Some(view.plan_id));
        }
    }
    Ok(None)
}

/// The latest view of one plan: the sections this party's consent covers;
/// each reading is audited.
pub async fn show(store: &Store, actor: &Actor, holder: &str, plan_id: &str) -> Result<MemberView> {
    carenet_fabric::actor::require(store, actor, &roles::MEMBER, plan_id).await?;
    let (view, _) = latest(store, holder, plan_id).await?;
    let e = Entry {
        counterparty: holder.to_owned(),
        purpose: Purpose::CaseMembership.as_str().into(),
        ..actor.entry("case_view_read", plan_id)
    };
    carenet_fabric::audit::append(&store.db, &[e]).await?;
    Ok(view)
}

/// Reports a step on one of this party's own tasks to the holder (or, with
/// step `note`, a progress note without a change of state): checked
/// here against the task as the latest view shows it (`seen` is the version
/// the step was decided on), applied there. Returns the queued message id.
#[allow(clippy::too_many_arguments)]
pub async fn report(
    store: &Store,
    actor: &Actor,
    holder: &str,
    plan_id: &str,
    task_id: &str,
    step: &str,
    seen: u32,
    note: &str,
) -> Result<String> {
    carenet_fabric::actor::require(store, actor, &roles::MEMBER, plan_id).await?;
    report_checked(
        store, actor, holder, plan_id, task_id, step, seen, note, false,
    )
    .await
}

/// [`report`] once the actor is allowed: a member role, or (`named`) the
/// person this party's task names, who reports only on that task.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn report_checked(
    store: &Store,
    actor: &Actor,
    holder: &str,
    plan_id: &str,
    task_id: &str,
    step: &str,
    seen: u32,
    note: &str,
    named: bool,
) -> Result<String> {
    // A note travels as progress without a step: no change of state.
    let step = if step == NOTE_STEP {
        None
    } else {
        Some(Step::parse("step", step).map_err(|e| Error::invalid("step", e.to_string()))?)
    };
    if step == Some(Step::Cancel) {
        return Err(Error::invalid(
            "step",
            "only the case coordinator cancels a task",
        ));
    }
    let (view, header) = latest(store, holder, plan_id).await?;
    let task = view
        .tasks
        .iter()
        .find(|t| t.id == task_id)
        .ok_or_else(|| Error::NotFound(format!("task {task_id}")))?;
    if named && (task.person != actor.staff || task.owner != store.party.as_str()) {
        return Err(Error::NotFound(format!("task {task_id}")));
    }
    if task.owner != store.party.as_str() {
        return Err(Error::PermissionDenied(format!(
            "task {task_id} is {}'s, not this party's",
            task.owner
        )));
    }
    if view.header.as_ref().is_some_and(|h| h.status != "open") {
        return Err(
            Error::precondition(format!("case plan {plan_id} is closed"))
                .coded(carenet_fabric::Reason::CaseState),
        );
    }
    match step {
        Some(step) => {
            let from = State::parse("state", &task.state)
                .map_err(|_| Error::Corrupt(format!("task {task_id}")))?;
            task::next(from, step, Who::Owner).map_err(|e| {
                Error::precondition(e.to_string()).coded(carenet_fabric::Reason::CaseState)
            })?;
            if step.needs_reason() && note.trim().is_empty() {
                return Err(Error::invalid("note", "this step needs a reason")
                    .coded(carenet_fabric::Reason::Required));
            }
        }
        None if note.trim().is_empty() => {
            return Err(
                Error::invalid("note", "a note needs text").coded(carenet_fabric::Reason::Required)
            );
        }
        None => {}
    }
    if note.len() > 4000 {
        return Err(Error::invalid("note", "at most 4000 characters")
            .coded(carenet_fabric::Reason::TooLong));
    }
    if seen != task.version {
        return Err(Error::Aborted(format!(
            "task {task_id} changed meanwhile (version {} now): read it again",
            task.version
        )));
    }
    let basis = header
        .legal_basis
        .clone()
        .ok_or_else(|| Error::Corrupt(format!("case view {plan_id}: legal basis")))?;
    let progress = v1::CaseProgress {
        plan_id: plan_id.to_owned(),
        task_id: task_id.to_owned(),
        step: step.map_or(NOTE_STEP, Step::as_str).to_owned(),
        based_on_version: seen,
        note: note.trim().to_owned(),
        staff_ref: actor.staff.clone(),
        at_ms: now_ms(),
    };
    let payload = v1::CategorizedDocument {
        sections: vec![v1::Section {
            category: task.category.clone(),
            name: "case_progress".into(),
            content: progress.encode_to_vec(),
        }],
    }
    .encode_to_vec();
    let messages = vec![NewMessage {
        recipient: PartyId::parse("holder", holder)?,
        document_type: PROGRESS_TYPE.into(),
        document_id: format!("progress-{}", uuid::Uuid::new_v4().hyphenated()),
        version: 1,
        purpose: Purpose::CaseMembership.as_str().into(),
        legal_basis: v1::LegalBasis {
            kind: v1::LegalBasisKind::Consent as i32,
            reference: basis.reference,
            consent_receipt: basis.consent_receipt,
        },
        payload,
        actor: actor.audit_name(),
        child_ref: None,
    }];
    let ids = store.prepare(&messages).await?;
    audited!(&store.db, tx => {
        let mut entries = Vec::new();
        outbox_enqueue!(tx, &messages, &ids, &mut entries);
        ((), entries)
    });
    store.wake_outbox();
    Ok(ids.into_iter().next().unwrap_or_default())
}

/// Asks the holder over mTLS for this party's current view of a plan (the
/// holder queues it; it arrives through the exchange). Returns the holder's
/// message id. Refused unless this party is an active member there.
pub async fn ask_view(
    store: &Store,
    actor: &Actor,
    tls: &NodeTls,
    directory: &Directory,
    holder: &str,
    plan_id: &str,
) -> Result<String> {
    carenet_fabric::actor::require(store, actor, &roles::MEMBER, plan_id).await?;
    let holder_id = PartyId::parse("holder", holder)?;
    let Some(entry) = directory.get(holder) else {
        return Err(Error::invalid(
            "holder",
            "not a party in the region directory",
        ));
    };
    let channel = carenet_fabric::tls::channel(
        tls,
        &holder_id,
        &entry.endpoint,
        Some(entry.spki_sha256),
        std::time::Duration::from_secs(10),
    )?;
    let reply = v1::caseplan_client::CaseplanClient::new(channel)
        .request_view(v1::CaseViewRequest {
            plan_id: plan_id.to_owned(),
        })
        .await
        .map_err(Error::Remote)?
        .into_inner();
    let e = Entry {
        counterparty: holder.to_owned(),
        purpose: Purpose::CaseMembership.as_str().into(),
        ..actor.entry("case_view_asked", plan_id)
    };
    carenet_fabric::audit::append(&store.db, &[e]).await?;
    Ok(reply.message_id)
}

/// The plans a member of staff may see here: those this party holds (for
/// the holder's roles) and those it is a member of (for the member roles).
pub struct Overview {
    /// Whether the actor may read the plans this party holds.
    pub holds: bool,
    pub held: Vec<crate::plan::Listed>,
    pub member_of: Vec<Listed>,
}

/// The plans held here and joined elsewhere, as far as the actor's roles
/// reach; an actor with neither role is refused (audited, naming the
/// member roles). Pages, API and CLI list plans through this one rule.
pub async fn overview(store: &Store, actor: &Actor) -> Result<Overview> {
    let holds = actor.may(&store.party, &roles::READ).is_ok();
    let joins = actor.may(&store.party, &roles::MEMBER).is_ok();
    let held = if holds {
        crate::plan::list(store, actor).await?
    } else {
        Vec::new()
    };
    // Without the holder's roles the member list decides, and refuses (and
    // audits) an actor that has no member role either.
    let member_of = if joins || !holds {
        list(store, actor).await?
    } else {
        Vec::new()
    };
    Ok(Overview {
        holds,
        held,
        member_of,
    })
}
