//! The provider's signing keys (its JWKS), cached.
//!
//! The set read at discovery is used until a token names a key it does not
//! hold (the provider rotated its keys) or it is older than [`MAX_AGE`];
//! then it is fetched again, by one request at a time and at most once per
//! [`MIN_REFETCH`], so tokens naming unknown keys cannot make the gateway
//! call the provider at their pace. A failed fetch keeps the keys it had.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use openidconnect::core::CoreJsonWebKeySet;
use openidconnect::{JsonWebKey, JsonWebKeySetUrl};

use crate::Error;

/// Keys older than this are fetched again before use.
const MAX_AGE: Duration = Duration::from_secs(3600);
/// An unknown key id fetches the set again at most this often.
const MIN_REFETCH: Duration = Duration::from_secs(10);

pub(crate) struct Keys {
    url: JsonWebKeySetUrl,
    current: RwLock<Cached>,
    /// One fetch at a time.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Cached {
    set: Arc<CoreJsonWebKeySet>,
    fetched: Instant,
    /// The last fetch, and whether it failed.
    attempted: Instant,
    failed: bool,
}

impl Cached {
    fn holds(&self, kid: Option<&str>) -> bool {
        kid.is_none_or(|kid| {
            self.set
                .keys()
                .iter()
                .any(|k| k.key_id().is_some_and(|id| id.as_str() == kid))
        })
    }

    /// What to answer without fetching, if anything: the set when it holds
    /// the key and is fresh, or when it was fetched (or tried) a moment ago.
    fn answer(&self, kid: Option<&str>) -> Option<Result<Arc<CoreJsonWebKeySet>, Error>> {
        let holds = self.holds(kid);
        if holds && self.fetched.elapsed() < MAX_AGE {
            return Some(Ok(self.set.clone()));
        }
        if self.attempted.elapsed() < MIN_REFETCH {
            return Some(if holds || !self.failed {
                Ok(self.set.clone())
            } else {
                Err(Error::Unavailable("provider keys".into()))
            });
        }
        None
    }
}

impl Keys {
    /// The keys at `url`, of which discovery already read `initial`.
    pub fn new(url: JsonWebKeySetUrl, initial: CoreJsonWebKeySet) -> Self {
        let now = Instant::now();
        Self {
            url,
            current: RwLock::new(Cached {
                set: Arc::new(initial),
                fetched: now,
                attempted: now,
                failed: false,
            }),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn snapshot(&self) -> Cached {
        // A poisoned lock still holds a whole set (it is replaced at once).
        match self.current.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn store(&self, next: Cached) {
        match self.current.write() {
            Ok(mut c) => *c = next,
            Err(p) => *p.into_inner() = next,
        }
    }

    /// The key set to check a token signed with key `kid` against, fetched
    /// again first if it lacks that key or is old. `Unavailable` when the
    /// key is unknown and the provider cannot be asked.
    pub async fn for_kid(
        &self,
        http: &openidconnect::reqwest::Client,
        kid: Option<&str>,
    ) -> Result<Arc<CoreJsonWebKeySet>, Error> {
        if let Some(answer) = self.snapshot().answer(kid) {
            return answer;
        }
        let _one = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        let cached = self.snapshot();
        if let Some(answer) = cached.answer(kid) {
            return answer;
        }
        match CoreJsonWebKeySet::fetch_async(&self.url, http).await {
            Ok(set) => {
                let set = Arc::new(set);
                let now = Instant::now();
                self.store(Cached {
                    set: set.clone(),
                    fetched: now,
                    attempted: now,
                    failed: false,
                });
                tracing::info!("provider keys fetched");
                Ok(set)
            }
            Err(e) => {
                tracing::warn!(error = %e, "provider keys not fetched");
                let holds = cached.holds(kid);
                self.store(Cached {
                    attempted: Instant::now(),
                    failed: true,
                    ..cached.clone()
                });
                if holds {
                    Ok(cached.set)
                } else {
                    Err(Error::Unavailable("provider keys".into()))
                }
            }
        }
    }
}
