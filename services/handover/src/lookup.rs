//! The index a receiving school's request is answered from: each dossier
//! carries the *pupil tag* of the pupil it is about, a keyed hash of the BSN
//! (or onderwijsnummer) and date of birth that OSO's request names, so a
//! request finds its dossier with one indexed query instead of decoding
//! every dossier of the node.
//!
//! The tag is HMAC-SHA256 under a key of this node's own
//! (`handover_secret`, made on first use, never sent anywhere). What the key
//! gives: the column holds no BSN, and a BSN and date of birth have so few
//! values that a plain hash of them could be reversed by trying them all;
//! without the key a tag cannot be tested against a list of BSNs (a leaked
//! export of the column, a log line), and the tags of two nodes cannot be
//! joined to follow a pupil from school to school. The key is kept beside
//! the dossiers, which hold the BSN inside their document anyway: it does
//! not protect against whoever reads the whole database, and is not meant to.

use carenet_fabric::clock::now_ms;
use carenet_fabric::store::Store;
use carenet_fabric::with_db;
use ring::hmac;

use crate::dossier::Route;
use crate::model::Dossier;
use crate::oso::{self, Section};
use crate::{Error, Result};

/// The name of the pupil lookup key in `handover_secret`.
const KEY_NAME: &str = "pupil_lookup";

/// This node's pupil lookup key, made (32 random bytes) on first use; two
/// processes making it at once keep the one that was stored first.
pub(crate) async fn key(store: &Store) -> Result<hmac::Key> {
    let read = || async {
        let row: Option<(Vec<u8>,)> = with_db!(&store.db, pool => {
            sqlx::query_as("SELECT secret FROM handover_secret WHERE name = $1")
                .bind(KEY_NAME)
                .fetch_optional(pool)
                .await?
        });
        Ok::<_, Error>(row.map(|(s,)| s))
    };
    let secret = match read().await? {
        Some(s) => s,
        None => {
            let mut fresh = [0u8; 32];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut fresh)
                .map_err(|_| Error::Corrupt("no randomness for the pupil lookup key".into()))?;
            with_db!(&store.db, pool => {
                sqlx::query(
                    "INSERT INTO handover_secret (name, secret, created_at_ms) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(KEY_NAME)
                .bind(fresh.to_vec())
                .bind(now_ms())
                .execute(pool)
                .await?;
            });
            read()
                .await?
                .ok_or_else(|| Error::Corrupt("handover_secret".into()))?
        }
    };
    Ok(hmac::Key::new(hmac::HMAC_SHA256, &secret))
}

/// The tag of a pupil number and date of birth (as OSO writes them).
pub(crate) fn tag(key: &hmac::Key, pupil_number: &str, birth_date: &str) -> String {
    let mut msg = Vec::with_capacity(pupil_number.len() + birth_date.len() + 1);
    msg.extend_from_slice(pupil_number.as_bytes());
    msg.push(0);
    msg.extend_from_slice(birth_date.as_bytes());
    hex::encode(hmac::sign(key, &msg).as_ref())
}

/// The tag of the pupil a dossier is about; empty when it names none.
pub(crate) fn tag_of(key: &hmac::Key, sections: &[Section]) -> String {
    match oso::pupil_key(sections) {
        Some((number, born)) => tag(key, number.trim(), born.trim()),
        None => String::new(),
    }
}

/// Tags the dossiers stored before the tag existed (their first request
/// after the upgrade decodes them once; after that none is left untagged).
async fn backfill(store: &Store, key: &hmac::Key) -> Result<()> {
    let rows: Vec<(String, Vec<u8>)> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT id, document FROM handover_dossier WHERE pupil_tag IS NULL")
            .fetch_all(pool)
            .await?
    });
    for (id, document) in rows {
        let dossier =
            Dossier::decode(&document).map_err(|_| Error::Corrupt(format!("dossier {id}")))?;
        let tag = tag_of(key, &dossier.sections);
        with_db!(&store.db, pool => {
            sqlx::query("UPDATE handover_dossier SET pupil_tag = $1 WHERE id = $2 AND pupil_tag IS NULL")
                .bind(&tag)
                .bind(&id)
                .execute(pool)
                .await?;
        });
    }
    Ok(())
}

/// A dossier a request matched: its id and the school it goes to, if recorded.
#[derive(Clone, Debug)]
pub(crate) struct Match {
    pub id: String,
    pub destination: Option<String>,
}

/// The newest dossier about the pupil with `tag` on a route that delivers
/// to `kind`, without decoding any dossier.
pub(crate) async fn find(
    store: &Store,
    key: &hmac::Key,
    tag: &str,
    kind: carenet_fabric::PartyKind,
) -> Result<Option<Match>> {
    backfill(store, key).await?;
    let rows: Vec<(String, String, Option<String>)> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, route, destination FROM handover_dossier WHERE pupil_tag = $1 \
             ORDER BY created_at_ms DESC, id DESC",
        )
        .bind(tag)
        .fetch_all(pool)
        .await?
    });
    for (id, route, destination) in rows {
        let route = Route::parse("handover_dossier.route", &route)
            .map_err(|_| Error::Corrupt("handover_dossier.route".into()))?;
        if route.recipient_kind() == Some(kind) {
            return Ok(Some(Match { id, destination }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_depends_on_the_key_and_both_fields() {
        let a = hmac::Key::new(hmac::HMAC_SHA256, b"node a");
        let b = hmac::Key::new(hmac::HMAC_SHA256, b"node b");
        let t = tag(&a, "269326728", "2003-03-17");
        assert_eq!(t, tag(&a, "269326728", "2003-03-17"));
        assert_ne!(t, tag(&b, "269326728", "2003-03-17"));
        assert_ne!(t, tag(&a, "269326728", "2003-03-18"));
        assert_ne!(t, tag(&a, "26932672", "82003-03-17"));
        assert!(!t.contains("269326728"));
    }
}
