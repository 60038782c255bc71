//! Client channels to other parties, looked up in the directory and kept per
//! party while its endpoint and key pin stay the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::transport::Channel;

use crate::directory::Directory;
use crate::tls::{NodeTls, channel};
use crate::{Error, Result};

/// A channel with the endpoint and pin it was made for.
type CachedChannel = (String, [u8; 32], Channel);

pub struct Peers {
    tls: Arc<NodeTls>,
    directory: Arc<Directory>,
    timeout: Duration,
    cache: Mutex<HashMap<String, CachedChannel>>,
}

impl Peers {
    pub fn new(tls: Arc<NodeTls>, directory: Arc<Directory>, timeout: Duration) -> Self {
        Self {
            tls,
            directory,
            timeout,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// A channel to `party` as the directory describes it now.
    pub fn channel(&self, party: &str) -> Result<Channel> {
        self.directory.check_fresh()?;
        let entry = self
            .directory
            .get(party)
            .ok_or_else(|| Error::Unavailable(format!("party {party} is not in the directory")))?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((endpoint, pin, ch)) = cache.get(party)
            && *endpoint == entry.endpoint
            && *pin == entry.spki_sha256
        {
            return Ok(ch.clone());
        }
        let ch = channel(
            &self.tls,
            &entry.id,
            &entry.endpoint,
            Some(entry.spki_sha256),
            self.timeout,
        )?;
        cache.insert(
            party.to_owned(),
            (entry.endpoint.clone(), entry.spki_sha256, ch.clone()),
        );
        Ok(ch)
    }

    /// Drops all channels, e.g. after the CRL changed.
    pub fn clear(&self) {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
