//! hosting's keys in the Dapr state store: every record in one document (`hosting/services`),
//! changed read-modify-write with its ETag (first-write), so two writers never lose each other's
//! changes and a root taken meanwhile is seen; and each archive in base64 chunks
//! (`hosting/archive/<app_id>/<sha256>/<n>`), so a restart with an empty data dir can unpack
//! every installed release again.

use std::time::Duration;

use backon::BackoffBuilder;
use base64::Engine;
use keel_sdk::dapr::{DaprClient, SaveItem};
use keel_sdk::service::retry;

use crate::error::HostingError;
use crate::model::{ArchiveRef, Records, RECORDS_KEY};

/// The store, through this service's sidecar.
#[derive(Clone)]
pub struct Store {
    dapr: DaprClient,
    name: String,
    chunk_bytes: usize,
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

impl Store {
    /// The store `name` through `dapr`, archives cut in chunks of `chunk_bytes`.
    pub fn new(dapr: DaprClient, name: &str, chunk_bytes: usize) -> Self {
        Self { dapr, name: name.to_owned(), chunk_bytes }
    }

    /// The sidecar client.
    pub fn dapr(&self) -> &DaprClient {
        &self.dapr
    }

    /// Every record, and the document's ETag.
    pub async fn load(&self) -> Result<(Records, Option<String>), HostingError> {
        match self.dapr.get_state_json::<Records>(&self.name, RECORDS_KEY).await? {
            Some((records, etag)) => Ok((records, etag)),
            None => Ok((Records::new(), None)),
        }
    }

    /// Applies `change` to the current document and writes it back if nobody wrote in between
    /// (re-reading and re-applying after a lost race). Returns the document written.
    pub async fn update<F>(&self, mut change: F) -> Result<Records, HostingError>
    where
        F: FnMut(&mut Records) -> Result<(), HostingError>,
    {
        let mut pauses = retry::after_race(8).build();
        loop {
            let (mut records, etag) = self.load().await?;
            change(&mut records)?;
            let value = serde_json::to_value(&records).map_err(HostingError::internal)?;
            match self
                .dapr
                .save_state(&self.name, &[SaveItem::new(RECORDS_KEY, value).first_write(etag)])
                .await
            {
                Ok(()) => return Ok(records),
                Err(e) if e.is_etag_mismatch() => match pauses.next() {
                    Some(pause) => tokio::time::sleep(pause).await,
                    None => return Err(HostingError::Contention),
                },
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Stores `archive` of `app_id`; returns where it is.
    pub async fn put_archive(
        &self,
        app_id: &str,
        sha256: &str,
        archive: &[u8],
    ) -> Result<ArchiveRef, HostingError> {
        let chunks = archive.chunks(self.chunk_bytes.max(1));
        let mut at = ArchiveRef {
            sha256: sha256.to_owned(),
            bytes: archive.len() as u64,
            chunks: chunks.len() as u32,
        };
        if archive.is_empty() {
            at.chunks = 0;
        }
        for (i, chunk) in archive.chunks(self.chunk_bytes.max(1)).enumerate() {
            let item =
                SaveItem::new(at.chunk_key(app_id, i as u32), serde_json::Value::String(B64.encode(chunk)));
            if let Err(e) = self.dapr.save_state(&self.name, &[item]).await {
                self.delete_archive(app_id, &at).await;
                return Err(e.into());
            }
        }
        Ok(at)
    }

    /// Reads an archive back, checking its size and digest.
    pub async fn get_archive(&self, app_id: &str, at: &ArchiveRef) -> Result<Vec<u8>, HostingError> {
        let mut out = Vec::with_capacity(at.bytes as usize);
        for i in 0..at.chunks {
            let key = at.chunk_key(app_id, i);
            let Some((text, _)) = self.dapr.get_state_json::<String>(&self.name, &key).await? else {
                return Err(HostingError::internal(format!("archive chunk {key} is missing from the store")));
            };
            out.extend(
                B64.decode(text).map_err(|e| HostingError::internal(format!("archive chunk {key}: {e}")))?,
            );
        }
        let sha = crate::bundle::hex(&<sha2::Sha256 as sha2::Digest>::digest(&out));
        if out.len() as u64 != at.bytes || sha != at.sha256 {
            return Err(HostingError::internal(format!(
                "archive of {app_id} in the store does not match its digest"
            )));
        }
        Ok(out)
    }

    /// Removes an archive's chunks (best effort: a leftover chunk is only space).
    pub async fn delete_archive(&self, app_id: &str, at: &ArchiveRef) {
        for i in 0..at.chunks {
            let key = at.chunk_key(app_id, i);
            if let Err(e) = self.dapr.delete_state(&self.name, &key, None).await {
                tracing::warn!(error = %e, %key, "Cannot delete an archive chunk");
            }
        }
    }

    /// Waits until the store answers (at boot), doubling the pause up to 2 s.
    pub async fn wait_ready(&self) -> (Records, Option<String>) {
        let mut pauses = retry::until_up(Duration::from_millis(100), Duration::from_secs(2)).build();
        loop {
            match self.load().await {
                Ok(loaded) => return loaded,
                Err(e) => {
                    tracing::info!(error = %e, detail = ?std::error::Error::source(&e).map(|s| s.to_string()), "State store not ready yet");
                    tokio::time::sleep(pauses.next().unwrap_or(Duration::from_secs(2))).await;
                }
            }
        }
    }
}
