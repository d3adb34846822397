//! The state API: get, save, delete, bulk get and transactions, with ETags and concurrency
//! options. Keys are percent-encoded here, so any key a caller uses arrives intact.

use std::collections::HashMap;

use actix_web::http::{header, Method, StatusCode};
use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::DaprError;
use super::DaprClient;
use crate::service::snippet;

/// Everything but unreserved characters is escaped; daprd decodes keys with `QueryUnescape`,
/// so a literal `+` must travel as `%2B` or it becomes a space.
pub(super) const KEY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// How a write treats a concurrent change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Concurrency {
    /// The write fails unless the given ETag is current (or, without an ETag, the key is new).
    FirstWrite,
    /// The last write wins (Dapr's default).
    LastWrite,
}

/// Options of one write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateOptions {
    /// Concurrency mode; Dapr's default is last-write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
}

/// One value to save.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SaveItem {
    /// The key (without the store's prefix).
    pub key: String,
    /// The JSON value.
    pub value: serde_json::Value,
    /// The ETag the write depends on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Concurrency options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<StateOptions>,
    /// Component metadata, e.g. `ttlInSeconds`.
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub metadata: HashMap<String, String>,
}

impl SaveItem {
    /// A last-write-wins save of `value` under `key`.
    pub fn new(key: impl Into<String>, value: serde_json::Value) -> Self {
        Self { key: key.into(), value, etag: None, options: None, metadata: HashMap::new() }
    }

    /// Makes the write conditional: with `Some(etag)` it succeeds only if the stored ETag still
    /// matches; with `None` only if the key does not exist yet.
    pub fn first_write(mut self, etag: Option<String>) -> Self {
        self.etag = etag;
        self.options = Some(StateOptions { concurrency: Some(Concurrency::FirstWrite) });
        self
    }

    /// Expires the value after `seconds`.
    pub fn ttl_seconds(mut self, seconds: u64) -> Self {
        self.metadata.insert("ttlInSeconds".into(), seconds.to_string());
        self
    }
}

/// A stored value and its ETag.
#[derive(Debug, Clone, PartialEq)]
pub struct StateItem {
    /// The value as stored (JSON text).
    pub value: Bytes,
    /// The current ETag, when the store has one.
    pub etag: Option<String>,
}

impl StateItem {
    /// Decodes the value.
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, DaprError> {
        serde_json::from_slice(&self.value).map_err(|e| DaprError::Decode {
            what: what.to_owned(),
            reason: format!("{e} in {}", snippet(&self.value)),
        })
    }
}

/// One entry of a bulk get answer (`data` is daprd's field name).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BulkItem {
    /// The key asked for.
    pub key: String,
    /// The value, absent when the key does not exist.
    #[serde(default)]
    pub data: Option<serde_json::Value>,
    /// The ETag.
    #[serde(default)]
    pub etag: Option<String>,
    /// A per-key error.
    #[serde(default)]
    pub error: Option<String>,
}

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "operation", content = "request", rename_all = "lowercase")]
pub enum TransactionOp {
    /// Save a value (its ETag and options apply).
    Upsert(SaveItem),
    /// Delete a key, conditionally on `etag` when given.
    Delete(DeleteItem),
}

/// A delete inside a transaction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeleteItem {
    /// The key.
    pub key: String,
    /// The ETag the delete depends on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Concurrency options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<StateOptions>,
}

impl DeleteItem {
    /// An unconditional delete.
    pub fn new(key: impl Into<String>) -> Self {
        Self { key: key.into(), etag: None, options: None }
    }

    /// A delete that fails unless `etag` is current.
    pub fn if_match(key: impl Into<String>, etag: String) -> Self {
        Self {
            key: key.into(),
            etag: Some(etag),
            options: Some(StateOptions { concurrency: Some(Concurrency::FirstWrite) }),
        }
    }
}

#[derive(Serialize)]
struct Transaction<'a> {
    operations: &'a [TransactionOp],
}

fn key_path(store: &str, key: &str) -> String {
    format!("/v1.0/state/{}/{}", utf8_percent_encode(store, KEY), utf8_percent_encode(key, KEY))
}

fn encode<T: Serialize + ?Sized>(what: &str, v: &T) -> Result<Vec<u8>, DaprError> {
    serde_json::to_vec(v).map_err(|e| DaprError::Decode { what: what.to_owned(), reason: e.to_string() })
}

impl DaprClient {
    /// Reads `key` from `store`; `None` when it does not exist.
    pub async fn get_state(&self, store: &str, key: &str) -> Result<Option<StateItem>, DaprError> {
        let what = format!("get state {key:?} from store {store:?}");
        let req = self.request(Method::GET, &key_path(store, key));
        let (status, headers, body) = self.send_buffered(&what, req, None).await?;
        match status {
            StatusCode::OK => {
                let etag = headers.get(header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
                Ok(Some(StateItem { value: body, etag }))
            }
            StatusCode::NO_CONTENT => Ok(None),
            s => Err(DaprError::from_answer(what, s, &body)),
        }
    }

    /// Reads and decodes `key`; `None` when it does not exist.
    pub async fn get_state_json<T: DeserializeOwned>(
        &self,
        store: &str,
        key: &str,
    ) -> Result<Option<(T, Option<String>)>, DaprError> {
        match self.get_state(store, key).await? {
            Some(item) => {
                let value = item.json(&format!("decode state {key:?} from store {store:?}"))?;
                Ok(Some((value, item.etag)))
            }
            None => Ok(None),
        }
    }

    /// Saves `items`. A lost first-write race is [`DaprError::EtagMismatch`].
    pub async fn save_state(&self, store: &str, items: &[SaveItem]) -> Result<(), DaprError> {
        let what = format!("save {} state item(s) to store {store:?}", items.len());
        let req = self
            .request(Method::POST, &format!("/v1.0/state/{}", utf8_percent_encode(store, KEY)))
            .insert_header((header::CONTENT_TYPE, "application/json"));
        let (status, _, body) = self.send_buffered(&what, req, Some(encode(&what, items)?)).await?;
        expect_no_content(what, status, &body)
    }

    /// Deletes `key`, conditionally on `etag` when given (first-write). Deleting a missing key
    /// without an ETag succeeds.
    pub async fn delete_state(&self, store: &str, key: &str, etag: Option<&str>) -> Result<(), DaprError> {
        let what = format!("delete state {key:?} from store {store:?}");
        let mut path = key_path(store, key);
        let mut req_etag = None;
        if let Some(etag) = etag {
            path.push_str("?concurrency=first-write");
            req_etag = Some(etag.to_owned());
        }
        let mut req = self.request(Method::DELETE, &path);
        if let Some(etag) = req_etag {
            req = req.insert_header((header::IF_MATCH, etag));
        }
        let (status, _, body) = self.send_buffered(&what, req, None).await?;
        expect_no_content(what, status, &body)
    }

    /// Reads several keys at once, in the order asked.
    pub async fn bulk_get(&self, store: &str, keys: &[String]) -> Result<Vec<BulkItem>, DaprError> {
        let what = format!("bulk get {} key(s) from store {store:?}", keys.len());
        let req = self
            .request(Method::POST, &format!("/v1.0/state/{}/bulk", utf8_percent_encode(store, KEY)))
            .insert_header((header::CONTENT_TYPE, "application/json"));
        let payload = encode(&what, &serde_json::json!({ "keys": keys }))?;
        let (status, _, body) = self.send_buffered(&what, req, Some(payload)).await?;
        if status != StatusCode::OK {
            return Err(DaprError::from_answer(what, status, &body));
        }
        serde_json::from_slice(&body)
            .map_err(|e| DaprError::Decode { what, reason: format!("{e} in {}", snippet(&body)) })
    }

    /// Runs `ops` atomically. A stale ETag fails the whole transaction with
    /// [`DaprError::EtagMismatch`].
    pub async fn transact(&self, store: &str, ops: &[TransactionOp]) -> Result<(), DaprError> {
        let what = format!("state transaction of {} operation(s) on store {store:?}", ops.len());
        let req = self
            .request(Method::POST, &format!("/v1.0/state/{}/transaction", utf8_percent_encode(store, KEY)))
            .insert_header((header::CONTENT_TYPE, "application/json"));
        let payload = encode(&what, &Transaction { operations: ops })?;
        let (status, _, body) = self.send_buffered(&what, req, Some(payload)).await?;
        expect_no_content(what, status, &body)
    }
}

fn expect_no_content(what: String, status: StatusCode, body: &[u8]) -> Result<(), DaprError> {
    if status.is_success() {
        Ok(())
    } else {
        Err(DaprError::from_answer(what, status, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_escaped_so_plus_and_slash_survive() {
        assert_eq!(key_path("statestore", "a+b/c d"), "/v1.0/state/statestore/a%2Bb%2Fc%20d");
    }

    #[test]
    fn transactions_serialise_in_daprs_shape() {
        let ops = [
            TransactionOp::Upsert(SaveItem::new("k1", json!({"a": 1})).first_write(Some("e1".into()))),
            TransactionOp::Delete(DeleteItem::if_match("k2", "e2".into())),
        ];
        let v = serde_json::to_value(Transaction { operations: &ops }).unwrap();
        assert_eq!(
            v,
            json!({"operations": [
                {"operation": "upsert", "request": {"key": "k1", "value": {"a": 1}, "etag": "e1",
                    "options": {"concurrency": "first-write"}}},
                {"operation": "delete", "request": {"key": "k2", "etag": "e2",
                    "options": {"concurrency": "first-write"}}}
            ]})
        );
    }

    #[test]
    fn save_items_carry_ttl_as_metadata() {
        let v = serde_json::to_value([SaveItem::new("k", json!(1)).ttl_seconds(5)]).unwrap();
        assert_eq!(v, json!([{"key": "k", "value": 1, "metadata": {"ttlInSeconds": "5"}}]));
    }
}
