//! The secrets API (`GET /v1.0/secrets/<store>/<name>`): one secret's map of keys to values, read
//! from a Dapr secret store component (`secretstores.local.file` locally; Kubernetes, Vault or a
//! cloud store in production). Values never appear in errors or logs.

use std::collections::BTreeMap;

use actix_web::http::{Method, StatusCode};
use percent_encoding::utf8_percent_encode;

use super::state::KEY;
use super::{DaprClient, DaprError};

/// A secret's values by key, kept out of `Debug` output.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub BTreeMap<String, String>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Secret {
    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

impl DaprClient {
    /// Reads secret `name` from secret store `store`. A missing store, a name the sidecar's
    /// Configuration does not allow, or a secret the store does not have are the sidecar's
    /// refusals ([`DaprError::Api`]: 401 `ERR_SECRET_STORE_NOT_FOUND`, 403 `ERR_PERMISSION_DENIED`,
    /// 500 `ERR_SECRET_GET` / `ERR_SECRET_STORES_NOT_CONFIGURED`).
    pub async fn get_secret(&self, store: &str, name: &str) -> Result<Secret, DaprError> {
        let what = format!("get secret {name:?} from secret store {store:?}");
        let path =
            format!("/v1.0/secrets/{}/{}", utf8_percent_encode(store, KEY), utf8_percent_encode(name, KEY));
        let (status, _, body) = self.send_buffered(&what, self.request(Method::GET, &path), None).await?;
        if status != StatusCode::OK {
            return Err(DaprError::from_answer(what, status, &body));
        }
        // The body holds the secret: a decode error says where it failed, never what it read.
        serde_json::from_slice(&body).map(Secret).map_err(|e| DaprError::Decode {
            what,
            reason: format!("not a JSON object of strings (line {}, column {})", e.line(), e.column()),
        })
    }
}
