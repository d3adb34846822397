//! Finding the target app-id and method of an invocation (daprd's `findTargetIDAndMethod`), in
//! daprd's order: (1) the `dapr-app-id` header, (2) HTTP Basic auth with user `dapr-app-id`,
//! (3) the URL form `/v1.0/invoke/<app-id>/method/<method...>`.

use crate::golang::{path, url};
use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use base64::Engine;
use keel_sdk::dapr::headers::DAPR_APP_ID;

/// Where an invocation goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The app-id as addressed (possibly `id.namespace`).
    pub app_id: String,
    /// The method, not yet normalised.
    pub method: String,
    /// True for the header form: the `dapr-app-id` header must not be forwarded.
    pub from_header: bool,
}

/// Finds the target in the decoded request path `path` and the headers; `None` means daprd's
/// 404 `failed getting app id either from the URL path or the header dapr-app-id`.
pub fn find(decoded_path: &str, headers: &HeaderMap) -> Option<Target> {
    let whole_path = || path::clean(decoded_path).trim_start_matches('/').to_owned();

    // 1. The dapr-app-id header wins, and the whole path is the method.
    if let Some(id) = headers.get(DAPR_APP_ID).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()) {
        return Some(Target { app_id: id.to_owned(), method: whole_path(), from_header: true });
    }

    // 2. Basic auth `dapr-app-id:<id>` (user name compared case-insensitively). The
    //    Authorization header itself is forwarded, as daprd does.
    if let Some(id) = basic_auth_app_id(headers) {
        return Some(Target { app_id: id, method: whole_path(), from_header: false });
    }

    // 3. /v1.0/invoke/<id>/method/<method...>, empty segments between the prefix parts allowed.
    let rest = &decoded_path[path_has_prefix(decoded_path, &["v1.0", "invoke"])?..];
    let idx = rest.find("/method/").filter(|&i| i > 0)?;
    let raw_id = &rest[..idx];
    let method = &rest[idx + "/method/".len()..];
    let app_id = match url::query_unescape(raw_id) {
        Ok(t) if !t.is_empty() => t,
        _ => raw_id.to_owned(),
    };
    let method = match path::clean(method).as_str() {
        "." => String::new(),
        m => m.to_owned(),
    };
    Some(Target { app_id, method, from_header: false })
}

fn basic_auth_app_id(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let encoded = auth.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let mut parts = text.split(':');
    let (user, id) = (parts.next()?, parts.next()?);
    if parts.next().is_some() || !user.eq_ignore_ascii_case(DAPR_APP_ID) || id.is_empty() {
        return None;
    }
    Some(id.to_owned())
}

/// daprd's `pathHasPrefix`: the byte index just after the prefix segments (skipping empty
/// segments, so `/v1.0////invoke/x` matches), or `None`.
fn path_has_prefix(p: &str, prefix: &[&str]) -> Option<usize> {
    let bytes = p.as_bytes();
    let mut found = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' {
            i += 1;
            continue;
        }
        if found == prefix.len() {
            return Some(i);
        }
        let end = p[i..].find('/').map(|e| i + e).unwrap_or(bytes.len());
        if &p[i..end] != prefix[found] {
            return None;
        }
        found += 1;
        i = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_static(k), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn url_target(p: &str) -> Option<(String, String)> {
        find(p, &HeaderMap::new()).map(|t| (t.app_id, t.method))
    }

    #[test]
    fn url_form_extracts_id_and_cleaned_method() {
        assert_eq!(url_target("/v1.0/invoke/app/method/a/b"), Some(("app".into(), "a/b".into())));
        assert_eq!(url_target("/v1.0////invoke/app/method/x"), Some(("app".into(), "x".into())));
        assert_eq!(
            url_target("/v1.0/invoke/app/method/admin/../public"),
            Some(("app".into(), "public".into()))
        );
        assert_eq!(url_target("/v1.0/invoke/app/method/foo/"), Some(("app".into(), "foo".into())));
        assert_eq!(url_target("/v1.0/invoke/app/method/"), Some(("app".into(), "".into())));
        assert_eq!(url_target("/v1.0/invoke/http:%2F%2Fhost/method/x").unwrap().0, "http://host");
        assert_eq!(url_target("/v1.0/invoke/app"), None);
        assert_eq!(url_target("/v1.0/invoke/app/nomethod"), None);
        assert_eq!(url_target("/foo"), None);
        assert_eq!(url_target("/v1.0/invokes/app/method/x"), None);
    }

    #[test]
    fn header_form_wins_and_takes_the_whole_path() {
        let t = find("/v1.0/invoke/other/method/x", &headers(&[("dapr-app-id", "app")])).unwrap();
        assert_eq!(
            (t.app_id.as_str(), t.method.as_str(), t.from_header),
            ("app", "v1.0/invoke/other/method/x", true)
        );
        let t = find("/admin/../public/", &headers(&[("dapr-app-id", "app")])).unwrap();
        assert_eq!(t.method, "public");
    }

    #[test]
    fn basic_auth_form_needs_the_dapr_app_id_user() {
        let enc = |s: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(s));
        let t = find("/checkout/100", &headers(&[("authorization", &enc("Dapr-App-Id:checkout"))])).unwrap();
        assert_eq!((t.app_id.as_str(), t.method.as_str()), ("checkout", "checkout/100"));
        assert!(find("/checkout", &headers(&[("authorization", &enc("bob:secret"))])).is_none());
    }
}
