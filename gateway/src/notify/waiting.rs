//! What waits for whom: the one derivation, from the node's stored state,
//! that both the start pages ("wat wacht op mij", the parent portal's home)
//! and the e-mail notifications read, so that what a mail points to is what
//! the page lists. Each item is an event about one record (its id, never a
//! pupil reference or a name) and the page behind login where it is done.
//!
//! Each part is asked only of a role that may see it (checked here without
//! an audit record, as the start page does), and reads ids and dates only:
//! deriving what waits is no reading of a dossier or a plan.

use carenet_consent::links::LinkState;
use carenet_consent::portal::{self, Guardian};
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, with_db};
use carenet_handover::dossier::DossierState;
use carenet_proto::v1::ConsentStatus;

/// How long something that happened (a withdrawal confirmed, a plan changed,
/// feedback received, a plan's tasks sent to a member) counts as waiting.
pub(crate) const RECENT_MS: i64 = 14 * 24 * 60 * 60 * 1000;
/// How many days ahead a plan's evaluation counts as due.
pub(crate) const EVALUATION_AHEAD_DAYS: i64 = 7;

/// What happened, for whom: guardians get the first four, staff the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Event {
    ConsentRequest,
    DossierToRead,
    WithdrawalConfirmed,
    PlanChanged,
    NewPupil,
    DossierRequest,
    TaskAssigned,
    TaskOverdue,
    EvaluationDue,
    FeedbackReceived,
}

impl Event {
    #[cfg(test)]
    pub(crate) const ALL: [Event; 10] = [
        Event::ConsentRequest,
        Event::DossierToRead,
        Event::WithdrawalConfirmed,
        Event::PlanChanged,
        Event::NewPupil,
        Event::DossierRequest,
        Event::TaskAssigned,
        Event::TaskOverdue,
        Event::EvaluationDue,
        Event::FeedbackReceived,
    ];

    /// As the outbox and the audit log name it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Event::ConsentRequest => "consent_request",
            Event::DossierToRead => "dossier_to_read",
            Event::WithdrawalConfirmed => "withdrawal_confirmed",
            Event::PlanChanged => "plan_changed",
            Event::NewPupil => "new_pupil",
            Event::DossierRequest => "dossier_request",
            Event::TaskAssigned => "task_assigned",
            Event::TaskOverdue => "task_overdue",
            Event::EvaluationDue => "evaluation_due",
            Event::FeedbackReceived => "feedback_received",
        }
    }

    /// As the pages list it (Dutch).
    pub(crate) fn label(self) -> &'static str {
        match self {
            Event::ConsentRequest => "Er wordt om uw toestemming gevraagd",
            Event::DossierToRead => "Overdrachtsdossier om te lezen",
            Event::WithdrawalConfirmed => "Uw intrekking van toestemming is vastgelegd",
            Event::PlanChanged => "Het plan van aanpak is gewijzigd",
            Event::NewPupil => "Dossiers van nieuwe leerlingen te lezen",
            Event::DossierRequest => "Verzoeken om een dossier",
            Event::TaskAssigned => "Taken voor u in een plan van aanpak",
            Event::TaskOverdue => "Acties over de datum",
            Event::EvaluationDue => "Evaluaties van een plan te houden",
            Event::FeedbackReceived => "Terugkoppeling ontvangen",
        }
    }
}

/// One thing that waits: the event, the record it is about (an id) and
/// the page where it is done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Item {
    pub event: Event,
    pub item: String,
    pub path: String,
}

fn item(event: Event, item: impl Into<String>, path: impl Into<String>) -> Item {
    Item {
        event,
        item: item.into(),
        path: path.into(),
    }
}

/// `YYYY-MM-DD`, `days` from today (Dutch calendar).
pub(crate) fn day(days: i64) -> String {
    carenet_consent::record::format_date(
        carenet_fabric::clock::today() + time::Duration::days(days),
    )
}

/// Two ids of a row (a plan and a task, a plan and a date).
type Pair = (String, String);

/// What waits for a member of staff, as `actor` (party, staff id, roles).
pub(crate) async fn staff(store: &Store, actor: &Actor) -> carenet_fabric::Result<Vec<Item>> {
    use carenet_handover::{destination, incoming, roles};
    let may = |rule: &carenet_fabric::actor::Rule| actor.may(&store.party, rule).is_ok();
    let me = actor.staff.as_str();
    let now = carenet_fabric::clock::now_ms();
    let mut items = Vec::new();
    // A mentor's (an SLB's) new pupils whose digest they have not opened.
    if roles::is_mentor(actor) {
        for i in incoming::list(store).await? {
            if i.available && i.mentor.as_deref() == Some(me) && i.opened_at_ms.is_none() {
                items.push(item(Event::NewPupil, i.message_id, "/mijn-leerlingen"));
            }
        }
    }
    // Another school asked for a dossier: the IB answers on the start page.
    if may(&roles::PUBLISH) {
        for w in destination::waiting(store, actor).await? {
            items.push(item(Event::DossierRequest, w.id, "/"));
        }
    }
    // Feedback on a dossier this school sent: told to whoever may read it.
    if may(&roles::FEEDBACK_READ) {
        for (message, dossier) in feedback_received(store, now).await? {
            items.push(item(
                Event::FeedbackReceived,
                message,
                crate::href::path(&["dossiers", &dossier]),
            ));
        }
    }
    // A member's staff: a plan's tasks came in or changed (a new view).
    if may(&carenet_caseplan::roles::MEMBER) {
        carenet_caseplan::member::sync(store).await?;
        let rows: Vec<(String, String, String)> = with_db!(&store.db, pool => {
            sqlx::query_as(
                "SELECT holder, plan_id, message_id FROM case_view_in \
                 WHERE received_at_ms >= $1 ORDER BY received_at_ms, plan_id",
            )
            .bind(now - RECENT_MS)
            .fetch_all(pool)
            .await?
        });
        for (holder, plan, message) in rows {
            items.push(item(
                Event::TaskAssigned,
                message,
                crate::href::path(&["deelname", &holder, &plan]),
            ));
        }
    }
    // The case coordinator: overdue actions and evaluations due in their plans.
    if may(&carenet_caseplan::roles::READ) {
        let (overdue, evaluations): (Vec<Pair>, Vec<Pair>) = with_db!(&store.db, pool => {
            let overdue = sqlx::query_as(
                "SELECT t.plan_id, t.id FROM case_task t JOIN case_plan p ON p.id = t.plan_id \
                 WHERE p.coordinator = $1 AND p.status = 'open' \
                 AND t.state IN ('requested', 'accepted', 'in_progress', 'on_hold') \
                 AND t.due_on <> '' AND t.due_on < $2 ORDER BY t.due_on, t.plan_id, t.id",
            )
            .bind(me)
            .bind(day(0))
            .fetch_all(pool)
            .await?;
            let evaluations = sqlx::query_as(
                "SELECT id, evaluation_on FROM case_plan WHERE coordinator = $1 AND status = 'open' \
                 AND evaluation_on <> '' AND evaluation_on <= $2 ORDER BY evaluation_on, id",
            )
            .bind(me)
            .bind(day(EVALUATION_AHEAD_DAYS))
            .fetch_all(pool)
            .await?;
            (overdue, evaluations)
        });
        for (plan, task) in overdue {
            let path = crate::href::path(&["plannen", &plan]);
            items.push(item(Event::TaskOverdue, format!("{plan}/{task}"), path));
        }
        for (plan, on) in evaluations {
            let path = crate::href::path(&["plannen", &plan]);
            items.push(item(Event::EvaluationDue, format!("{plan}/{on}"), path));
        }
    }
    Ok(items)
}

/// Feedback that came back on this school's dossiers lately: (message,
/// dossier), oldest first. The start page lists the dossiers of these.
pub(crate) async fn feedback_received(
    store: &Store,
    now: i64,
) -> carenet_fabric::Result<Vec<(String, String)>> {
    Ok(with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT s.message_id, s.document_id FROM handover_status s \
             JOIN handover_dossier d ON d.id = s.document_id \
             WHERE s.status = 'feedback' AND s.at_ms >= $1 ORDER BY s.at_ms, s.message_id",
        )
        .bind(now - RECENT_MS)
        .fetch_all(pool)
        .await?
    }))
}

/// What waits for a guardian, over each child they are linked to today
/// (children by their place in the guardian's own list, as the portal
/// addresses them), as far as the portal's age rules let them see it.
pub(crate) async fn guardian(
    store: &Store,
    guardian: &Guardian,
) -> carenet_fabric::Result<Vec<Item>> {
    let now = carenet_fabric::clock::now_ms();
    let mut items = Vec::new();
    for (i, l) in portal::links(store, guardian)
        .await?
        .into_iter()
        .enumerate()
    {
        if l.state != LinkState::Active {
            continue;
        }
        let link = portal::linked(store, guardian, &l.child_ref).await?;
        let child = format!("/ouders/kind/{}", i + 1);
        for c in portal::consents(store, &link).await? {
            let v = &c.version;
            let key = format!("{}/{}", v.record_id, v.version);
            match c.status() {
                ConsentStatus::Requested => {
                    items.push(item(Event::ConsentRequest, key, child.clone()));
                }
                ConsentStatus::Withdrawn if v.recorded_at_ms >= now - RECENT_MS => {
                    items.push(item(Event::WithdrawalConfirmed, key, child.clone()));
                }
                _ => {}
            }
        }
        if link.access().inspection() {
            for (id, _, state) in carenet_handover::dossier::for_guardian(store, &link).await? {
                if state == DossierState::AwaitingInspection {
                    let path = crate::href::path(&["ouders", "dossier", &id]);
                    items.push(item(Event::DossierToRead, id, path));
                }
            }
        }
        if carenet_caseplan::plan::has_plan(store, &link).await? {
            let row: Option<(String, i64, i64)> = with_db!(&store.db, pool => {
                sqlx::query_as(
                    "SELECT id, version, updated_at_ms FROM case_plan WHERE child_ref = $1 \
                     ORDER BY status = 'open' DESC, updated_at_ms DESC LIMIT 1",
                )
                .bind(link.child_ref())
                .fetch_optional(pool)
                .await?
            });
            if let Some((plan, version, at)) = row
                && at >= now - RECENT_MS
            {
                items.push(item(
                    Event::PlanChanged,
                    format!("{plan}/{version}"),
                    format!("{child}/plan"),
                ));
            }
        }
    }
    Ok(items)
}

/// Items counted by what they are and where they are done, in a stable
/// order, for a page's list.
pub(crate) fn grouped(items: &[Item]) -> Vec<(&'static str, usize, String)> {
    let mut groups: std::collections::BTreeMap<(Event, String), usize> = Default::default();
    for i in items {
        *groups.entry((i.event, i.path.clone())).or_default() += 1;
    }
    groups
        .into_iter()
        .map(|((event, path), n)| (event.label(), n, path))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_has_its_own_name_and_label() {
        let mut names: Vec<_> = Event::ALL.iter().map(|e| e.as_str()).collect();
        let mut labels: Vec<_> = Event::ALL.iter().map(|e| e.label()).collect();
        names.sort_unstable();
        names.dedup();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(names.len(), Event::ALL.len());
        assert_eq!(labels.len(), Event::ALL.len());
    }

    #[test]
    fn a_page_lists_each_kind_of_item_once_per_page_with_its_count() {
        let items = [
            item(Event::TaskOverdue, "p1/t1", "/plannen/p1"),
            item(Event::TaskOverdue, "p1/t2", "/plannen/p1"),
            item(Event::EvaluationDue, "p1/2027-01-01", "/plannen/p1"),
            item(Event::TaskOverdue, "p2/t1", "/plannen/p2"),
        ];
        assert_eq!(
            grouped(&items),
            vec![
                ("Acties over de datum", 2, "/plannen/p1".to_owned()),
                ("Acties over de datum", 1, "/plannen/p2".to_owned()),
                (
                    "Evaluaties van een plan te houden",
                    1,
                    "/plannen/p1".to_owned()
                ),
            ]
        );
    }
}
