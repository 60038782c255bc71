//! E-mail notifications (ADR 0009): people are told that something waits
//! for them in carenet, never what.
//!
//! A person's address comes from their login's `email` claim and is kept
//! per person ([`remember`], table `notify_person`) with their choice: a
//! mail per item (`per_bericht`) or one overview a day (`dagelijks`).
//! What waits for whom is derived in one place ([`waiting`]) from the
//! node's stored state; the start pages list it and a periodic scan puts
//! it in a durable outbox (`notify_outbox`), one row per (person, event,
//! item), so an event is enqueued once however often it is seen. A sender
//! in the gateway sends what is due with retries and backoff (a mail server
//! that is down loses nothing), marks each row sent once the server took
//! it, and gives up after `notifications.give_up_after_hours`. Every
//! sending and every giving up is in the node's audit log, under the
//! outbox row's random id and the event's name: no address, no name.

pub(crate) mod mail;
pub(crate) mod waiting;

use std::sync::Weak;

use carenet_consent::portal::Guardian;
use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::store::{Db, Store};
use carenet_fabric::{Actor, Role, audited, with_db};

use crate::Error;
use crate::config::NotificationsSection;
use mail::Mailer;
use waiting::Item;

/// How a person wants to be told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// One mail per item, as soon as it waits.
    PerBericht,
    /// One mail a day with everything that waits.
    Dagelijks,
}

impl Mode {
    pub(crate) const ALL: [Mode; 2] = [Mode::PerBericht, Mode::Dagelijks];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mode::PerBericht => "per_bericht",
            Mode::Dagelijks => "dagelijks",
        }
    }

    pub(crate) fn parse(field: &str, text: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == text)
            .ok_or_else(|| Error::invalid(field, "per_bericht of dagelijks"))
    }
}

/// Who: staff of this party or a guardian of the portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Staff,
    Guardian,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Staff => "staff",
            Kind::Guardian => "guardian",
        }
    }
}

/// Every value the notifier writes to a checked column, by column (the
/// stored-enum test writes and reads back each on both backends).
pub fn stored_values() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        (
            "notify_person.mode",
            Mode::ALL.iter().map(|m| m.as_str()).collect(),
        ),
        (
            "notify_person.kind",
            vec![Kind::Staff.as_str(), Kind::Guardian.as_str()],
        ),
        ("notify_outbox.state", vec![PENDING, SENT, GIVEN_UP]),
    ]
}

/// The outbox's states: waiting to be sent (again), sent, given up.
const PENDING: &str = "pending";
const SENT: &str = "sent";
const GIVEN_UP: &str = "given_up";

/// The key of a person: kind and subject (staff id or pseudonym).
pub(crate) fn person(kind: Kind, subject: &str) -> String {
    format!("{}:{subject}", kind.as_str())
}

/// Whether `text` can be an address to send to (checked at login, so a
/// claim that is no address is not kept).
fn is_address(text: &str) -> bool {
    text.len() <= 254 && text.parse::<lettre::Address>().is_ok()
}

/// Keeps the address a login gave (and the roles it named, from which what
/// waits follows); the person's choice of how to be told stays. A login
/// without an address (or with one that is not) changes nothing.
pub(crate) async fn remember(
    db: &Db,
    kind: Kind,
    subject: &str,
    roles: &[String],
    email: Option<&str>,
) -> carenet_fabric::Result<()> {
    let Some(email) = email.map(str::trim).filter(|e| is_address(e)) else {
        return Ok(());
    };
    with_db!(db, pool => {
        sqlx::query(
            "INSERT INTO notify_person (person, kind, subject, roles, email, mode, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (person) DO UPDATE SET roles = excluded.roles, email = excluded.email, \
             updated_at_ms = excluded.updated_at_ms",
        )
        .bind(person(kind, subject))
        .bind(kind.as_str())
        .bind(subject)
        .bind(roles.join(" "))
        .bind(email)
        .bind(Mode::PerBericht.as_str())
        .bind(now_ms())
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// The person's choice, if their login gave an address.
pub(crate) async fn mode_of(db: &Db, person: &str) -> Result<Option<Mode>, Error> {
    let row: Option<(String,)> = with_db!(db, pool => {
        sqlx::query_as("SELECT mode FROM notify_person WHERE person = $1")
            .bind(person)
            .fetch_optional(pool)
            .await
            .map_err(carenet_fabric::Error::from)?
    });
    row.map(|(m,)| Mode::parse("notify_person.mode", &m))
        .transpose()
}

/// The person chooses how to be told.
pub(crate) async fn choose(db: &Db, person: &str, mode: Mode) -> Result<(), Error> {
    let changed = with_db!(db, pool => {
        sqlx::query("UPDATE notify_person SET mode = $2, updated_at_ms = $3 WHERE person = $1")
            .bind(person)
            .bind(mode.as_str())
            .bind(now_ms())
            .execute(pool)
            .await
            .map_err(carenet_fabric::Error::from)?
            .rows_affected()
    });
    if changed == 0 {
        return Err(Error::invalid(
            "wijze",
            "uw inlog gaf geen e-mailadres: berichten per e-mail kunnen niet",
        ));
    }
    Ok(())
}

/// Puts `items` in the outbox for `person`, each (person, event, item)
/// once: an item already there (pending, sent or given up) is left as it
/// is. Returns how many were new.
pub(crate) async fn enqueue(
    db: &Db,
    person: &str,
    items: &[Item],
) -> carenet_fabric::Result<usize> {
    let now = now_ms();
    let mut new = 0;
    for i in items {
        let key = format!("{person}|{}|{}", i.event.as_str(), i.item);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let done = with_db!(db, pool => {
            sqlx::query(
                "INSERT INTO notify_outbox (event_key, id, person, event, path, state, attempts, \
                 next_attempt_at_ms, created_at_ms) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) \
                 ON CONFLICT (event_key) DO NOTHING",
            )
            .bind(&key)
            .bind(&id)
            .bind(person)
            .bind(i.event.as_str())
            .bind(&i.path)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        new += usize::try_from(done).unwrap_or(0);
    }
    Ok(new)
}

#[derive(sqlx::FromRow)]
struct PersonRow {
    person: String,
    kind: String,
    subject: String,
    roles: String,
    email: String,
    mode: String,
    last_digest_on: Option<String>,
}

async fn persons(db: &Db) -> carenet_fabric::Result<Vec<PersonRow>> {
    Ok(with_db!(db, pool => {
        sqlx::query_as(
            "SELECT person, kind, subject, roles, email, mode, last_digest_on FROM notify_person ORDER BY person",
        )
        .fetch_all(pool)
        .await?
    }))
}

/// What waits for one stored person now (see [`waiting`]).
async fn items_of(store: &Store, p: &PersonRow) -> carenet_fabric::Result<Vec<Item>> {
    if p.kind == Kind::Guardian.as_str() {
        let guardian = Guardian {
            party: store.party.clone(),
            id: p.subject.clone(),
            name: String::new(),
        };
        return waiting::guardian(store, &guardian).await;
    }
    let roles: Vec<Role> = p
        .roles
        .split_whitespace()
        .filter_map(|r| Role::parse("roles", r).ok())
        .collect();
    let actor = Actor::new(store.party.clone(), &p.subject, roles)?;
    waiting::staff(store, &actor).await
}

/// The scan: what waits for every person with an address goes into the
/// outbox (once per item). Returns how many rows were new.
pub(crate) async fn scan(store: &Store) -> carenet_fabric::Result<usize> {
    let mut new = 0;
    for p in persons(&store.db).await? {
        match items_of(store, &p).await {
            Ok(items) => new += enqueue(&store.db, &p.person, &items).await?,
            // One person's trouble (a link ended meanwhile) stops nobody else.
            Err(e) => tracing::warn!(kind = %p.kind, error = %e, "what waits not derived"),
        }
    }
    Ok(new)
}

#[derive(sqlx::FromRow)]
struct Due {
    id: String,
    event: String,
    path: String,
    attempts: i64,
    created_at_ms: i64,
}

/// The hour of the day in the Netherlands.
fn dutch_hour(ms: i64) -> i8 {
    jiff::Timestamp::from_millisecond(ms)
        .ok()
        .and_then(|t| t.in_tz(carenet_fabric::clock::ZONE).ok())
        .map_or(0, |z| z.hour())
}

fn entry(action: &str, id: &str, event: &str) -> Entry {
    Entry {
        actor: "notifier".into(),
        action: action.into(),
        message_id: id.into(),
        purpose: event.into(),
        ..Entry::default()
    }
}

/// Sends what is due: per person, each item on its own, or for those who
/// chose the daily overview, everything pending in one mail once a day
/// from `digest_hour`. A failure is retried later; each sending and each
/// giving up is audited.
pub(crate) async fn send_due(
    db: &Db,
    mailer: &Mailer,
    settings: &NotificationsSection,
) -> carenet_fabric::Result<usize> {
    let now = now_ms();
    let today = carenet_fabric::clock::today().to_string();
    let mut sent = 0;
    for p in persons(db).await? {
        let daily = p.mode == Mode::Dagelijks.as_str();
        if daily
            && (dutch_hour(now) < i8::try_from(settings.digest_hour).unwrap_or(7)
                || p.last_digest_on.as_deref() == Some(today.as_str()))
        {
            continue;
        }
        let due: Vec<Due> = with_db!(db, pool => {
            sqlx::query_as(
                "SELECT id, event, path, attempts, created_at_ms FROM notify_outbox \
                 WHERE person = $1 AND state = 'pending' AND next_attempt_at_ms <= $2 \
                 ORDER BY created_at_ms, id LIMIT 200",
            )
            .bind(&p.person)
            .bind(now)
            .fetch_all(pool)
            .await?
        });
        if due.is_empty() {
            continue;
        }
        let batches: Vec<&[Due]> = if daily {
            vec![&due[..]]
        } else {
            due.chunks(1).collect()
        };
        for batch in batches {
            let paths: Vec<&str> = batch.iter().map(|d| d.path.as_str()).collect();
            match mailer.send(&p.email, &paths).await {
                Ok(()) => {
                    sent += 1;
                    let entries = batch
                        .iter()
                        .map(|d| entry("notification_sent", &d.id, &d.event))
                        .collect();
                    audited!(db, tx => {
                        for d in batch {
                            sqlx::query(
                                "UPDATE notify_outbox SET state = 'sent', attempts = attempts + 1, \
                                 done_at_ms = $2 WHERE id = $1 AND state = 'pending'",
                            )
                            .bind(&d.id)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        }
                        if daily {
                            sqlx::query("UPDATE notify_person SET last_digest_on = $2 WHERE person = $1")
                                .bind(&p.person)
                                .bind(&today)
                                .execute(&mut *tx)
                                .await?;
                        }
                        ((), entries)
                    });
                }
                Err(why) => {
                    tracing::warn!(reason = %why.0, items = batch.len(), "notification not sent; retried later");
                    failed(db, batch, now, settings).await?;
                }
            }
        }
    }
    Ok(sent)
}

/// A failed sending: each row waits longer (doubling, up to the maximum),
/// or, past the give-up period, is given up (audited).
async fn failed(
    db: &Db,
    batch: &[Due],
    now: i64,
    settings: &NotificationsSection,
) -> carenet_fabric::Result<()> {
    let give_up_ms = i64::try_from(settings.give_up_after_hours * 3_600_000).unwrap_or(i64::MAX);
    for d in batch {
        let attempts = d.attempts + 1;
        if now - d.created_at_ms >= give_up_ms {
            tracing::warn!(event = %d.event, "notification given up");
            audited!(db, tx => {
                sqlx::query(
                    "UPDATE notify_outbox SET state = 'given_up', attempts = $2, done_at_ms = $3 \
                     WHERE id = $1 AND state = 'pending'",
                )
                .bind(&d.id)
                .bind(attempts)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                ((), vec![entry("notification_given_up", &d.id, &d.event)])
            });
            continue;
        }
        let shift = u32::try_from(attempts - 1).unwrap_or(0).min(20);
        let wait_secs = settings
            .retry_base_secs
            .saturating_mul(1u64 << shift)
            .min(settings.retry_max_secs);
        let next = now + i64::try_from(wait_secs * 1000).unwrap_or(i64::MAX / 2);
        with_db!(db, pool => {
            sqlx::query(
                "UPDATE notify_outbox SET attempts = $2, next_attempt_at_ms = $3 WHERE id = $1 AND state = 'pending'",
            )
            .bind(&d.id)
            .bind(attempts)
            .bind(next)
            .execute(pool)
            .await?;
        });
    }
    Ok(())
}

/// Starts the gateway's notifier when `[smtp]` is set: every `poll_secs`
/// it fills the outbox from what waits and sends what is due, until the
/// gateway is gone.
pub(crate) fn start(state: Weak<crate::Inner>, mailer: Mailer) {
    tokio::spawn(async move {
        let mut tick = {
            let Some(inner) = state.upgrade() else {
                return;
            };
            tokio::time::interval(std::time::Duration::from_secs(
                inner.config.notifications.poll_secs,
            ))
        };
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(inner) = state.upgrade() else {
                break;
            };
            if let Err(e) = scan(&inner.store).await {
                tracing::warn!(error = %e, "notification scan failed");
            }
            if let Err(e) = send_due(&inner.store.db, &mailer, &inner.config.notifications).await {
                tracing::warn!(error = %e, "notifications not sent");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_back_and_bad_ones_name_the_field() {
        for m in Mode::ALL {
            assert_eq!(Mode::parse("wijze", m.as_str()).unwrap(), m);
        }
        match Mode::parse("wijze", "wekelijks") {
            Err(Error::InvalidArgument { field, .. }) => assert_eq!(field, "wijze"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_addresses_are_kept() {
        assert!(is_address("ouder-1@thuis.example"));
        for bad in ["", "ouder", "ouder@", "<script>@x", "a b@c.nl"] {
            assert!(!is_address(bad), "{bad}");
        }
    }
}
