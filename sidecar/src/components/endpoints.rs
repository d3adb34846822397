//! `HTTPEndpoint` resources (daprd's `pkg/apis/httpEndpoint/v1alpha1`): named non-Dapr endpoints
//! in the resources folders, so an app invokes `/v1.0/invoke/<name>/method/...` and the sidecar
//! calls `<spec.baseUrl>/<method>` with `spec.headers` set on the request. Loaded like
//! components: every YAML document of `kind: HTTPEndpoint`, `scopes` honoured, duplicates refused.
//! A name of an `HTTPEndpoint` wins over an app-id of the same name, as in daprd.

use std::path::Path;

use actix_web::http::header::{HeaderName, HeaderValue};
use serde::Deserialize;

use super::{yaml_files, ComponentError, ResourcesPath, API_VERSION};

/// One named non-Dapr endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpEndpoint {
    /// `metadata.name`: the id apps invoke it by.
    pub name: String,
    /// `spec.baseUrl`.
    pub base_url: String,
    /// `spec.headers`, set on every request to it (replacing the caller's of the same name).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    api_version: Option<String>,
    metadata: Option<RawMeta>,
    spec: Option<RawSpec>,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Deserialize)]
struct RawMeta {
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSpec {
    base_url: Option<String>,
    #[serde(default)]
    headers: Vec<RawHeader>,
    client_tls: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawHeader {
    name: Option<String>,
    value: Option<serde_yaml_ng::Value>,
    secret_key_ref: Option<serde_yaml_ng::Value>,
}

/// The endpoints visible to `app_id` from `paths`.
pub fn load(paths: &[ResourcesPath], app_id: &str) -> Result<Vec<HttpEndpoint>, ComponentError> {
    let mut out: Vec<(HttpEndpoint, std::path::PathBuf)> = Vec::new();
    for rp in paths {
        for file in yaml_files(rp)? {
            let text = std::fs::read_to_string(&file)
                .map_err(|source| ComponentError::Read { path: file.clone(), source })?;
            for ep in parse_file(&file, &text, app_id)? {
                if let Some((_, first)) = out.iter().find(|(e, _)| e.name == ep.name) {
                    return Err(ComponentError::Duplicate {
                        name: ep.name,
                        first: first.clone(),
                        second: file.clone(),
                    });
                }
                out.push((ep, file.clone()));
            }
        }
    }
    Ok(out.into_iter().map(|(e, _)| e).collect())
}

/// Parses the `HTTPEndpoint` documents of one file.
pub fn parse_file(path: &Path, text: &str, app_id: &str) -> Result<Vec<HttpEndpoint>, ComponentError> {
    let invalid = |field: &str, reason: String| ComponentError::Invalid {
        path: path.to_owned(),
        field: field.to_owned(),
        reason,
    };
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let value = serde_yaml_ng::Value::deserialize(doc)
            .map_err(|e| ComponentError::Parse { path: path.to_owned(), message: e.to_string() })?;
        if value.get("kind").and_then(|k| k.as_str()) != Some("HTTPEndpoint") {
            continue;
        }
        let raw: Raw = serde_yaml_ng::from_value(value)
            .map_err(|e| ComponentError::Parse { path: path.to_owned(), message: e.to_string() })?;
        if raw.api_version.as_deref() != Some(API_VERSION) {
            return Err(invalid("apiVersion", format!("must be {API_VERSION:?}")));
        }
        let name = raw.metadata.and_then(|m| m.name).filter(|n| !n.trim().is_empty());
        let name = name.ok_or_else(|| invalid("metadata.name", "missing".into()))?;
        let spec = raw.spec.ok_or_else(|| invalid("spec", "missing".into()))?;
        let base_url = spec.base_url.unwrap_or_default();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(invalid("spec.baseUrl", "required, with an http:// or https:// prefix".into()));
        }
        if spec.client_tls.is_some() {
            return Err(invalid("spec.clientTLS", "TLS is not supported by the local sidecar".into()));
        }
        let mut headers = Vec::with_capacity(spec.headers.len());
        for (i, h) in spec.headers.into_iter().enumerate() {
            let field = |f: &str| format!("spec.headers[{i}].{f}");
            if h.secret_key_ref.is_some() {
                return Err(invalid(
                    &field("secretKeyRef"),
                    "secret references are not supported by the local sidecar; use a value".into(),
                ));
            }
            let hname = h.name.unwrap_or_default();
            let hname = HeaderName::from_bytes(hname.as_bytes())
                .map_err(|_| invalid(&field("name"), format!("{hname:?} is not a header name")))?;
            let text = match h.value {
                Some(serde_yaml_ng::Value::String(s)) => s,
                Some(serde_yaml_ng::Value::Number(n)) => n.to_string(),
                Some(serde_yaml_ng::Value::Bool(b)) => b.to_string(),
                None | Some(serde_yaml_ng::Value::Null) => String::new(),
                Some(_) => {
                    return Err(invalid(&field("value"), "must be a string, number or boolean".into()))
                }
            };
            let hvalue = HeaderValue::from_str(&text)
                .map_err(|_| invalid(&field("value"), "is not a valid header value".into()))?;
            headers.push((hname, hvalue));
        }
        if !raw.scopes.is_empty() && !raw.scopes.iter().any(|s| s == app_id) {
            continue;
        }
        out.push(HttpEndpoint { name, base_url, headers });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_with_headers_scopes_and_refusals() {
        let yaml = "apiVersion: dapr.io/v1alpha1\nkind: HTTPEndpoint\nmetadata:\n  name: ext\nspec:\n  baseUrl: http://127.0.0.1:9000/base\n  headers:\n  - name: x-api-key\n    value: k1\n---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: store\nspec:\n  type: state.in-memory\n  version: v1\n---\napiVersion: dapr.io/v1alpha1\nkind: HTTPEndpoint\nmetadata:\n  name: other\nspec:\n  baseUrl: http://x\nscopes: [someone]\n";
        let eps = parse_file(Path::new("e.yaml"), yaml, "app").unwrap();
        assert_eq!(eps.len(), 1);
        assert_eq!((eps[0].name.as_str(), eps[0].base_url.as_str()), ("ext", "http://127.0.0.1:9000/base"));
        assert_eq!(eps[0].headers[0].1, "k1");
        let bad = "apiVersion: dapr.io/v1alpha1\nkind: HTTPEndpoint\nmetadata:\n  name: x\nspec:\n  baseUrl: ftp://x\n";
        let err = parse_file(Path::new("b.yaml"), bad, "app").unwrap_err().to_string();
        assert!(err.contains("spec.baseUrl"), "{err}");
    }
}
