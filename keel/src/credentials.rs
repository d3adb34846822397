//! Credentials stay where they belong (issue 13 §4): a client's `Authorization` header (a bearer
//! token, or client credentials in HTTP Basic) and its credential cookies are for keel's gate and
//! for auth, never for a plugin. Keel removes them before an external request goes to a plugin
//! and before the pre-route hook sees it, as Envoy's `jwt_authn` (`forward: false`) and Kong's
//! `hide_credentials` do; the plugin gets the verified identity headers instead, so a plugin
//! cannot replay a user's token. Auth keeps them: its token, introspection and management
//! endpoints authenticate the caller themselves.
//!
//! Only the external flow is filtered: on the app port, what a calling app sends is its own
//! choice (a plugin calling auth with a client-credentials token it got itself).

use std::borrow::Cow;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, COOKIE};

use keel_sdk::protocol::AUTH_APP_ID;

/// The cookie names keel removes by default (`KEEL_CREDENTIAL_COOKIES`): the names the platform's
/// own login ticket and session use (the console's session and its CSRF token among them).
pub const DEFAULT_COOKIES: &str = "keel_session,keel_csrf,keel_token,keel_ticket";

/// The apps that receive the client's credentials as they came: auth, which verifies them itself.
pub const HOLDERS: [&str; 1] = [AUTH_APP_ID];

/// What keel removes from an external request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Cookie names that carry credentials, compared exactly (cookie names are case-sensitive).
    cookies: Vec<String>,
}

// === impl Credentials ===

impl Credentials {
    /// From a comma-separated list of cookie names (blank entries ignored).
    pub fn new(cookies: &str) -> Self {
        let cookies =
            cookies.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect();
        Self { cookies }
    }

    /// Whether `plugin` gets the credentials as they came.
    pub fn holder(plugin: &str) -> bool {
        HOLDERS.contains(&plugin)
    }

    /// Removes `Authorization` and the credential cookies from the outgoing `headers`, unless
    /// `plugin` is a holder.
    pub fn strip_for(&self, plugin: &str, headers: &mut HeaderMap) {
        if Self::holder(plugin) {
            return;
        }
        headers.remove(AUTHORIZATION);
        let cookies: Vec<HeaderValue> = headers.get_all(COOKIE).cloned().collect();
        if cookies.is_empty() {
            return;
        }
        headers.remove(COOKIE);
        for value in &cookies {
            match self.cookie(value) {
                Some(Cow::Borrowed(_)) => headers.append(COOKIE, value.clone()),
                Some(Cow::Owned(kept)) => {
                    // Built from pieces of a valid value, so it is valid too.
                    if let Ok(v) = HeaderValue::from_str(&kept) {
                        headers.append(COOKIE, v);
                    }
                }
                None => {}
            }
        }
    }

    /// Whether a header never shown to anyone but a holder: `Authorization`.
    pub fn is_authorization(name: &HeaderName) -> bool {
        name == AUTHORIZATION
    }

    /// A `Cookie` value without the credential cookies: `Borrowed` when nothing was removed,
    /// `None` when nothing is left. A value that is not text is dropped whole (it cannot be
    /// inspected).
    pub fn cookie<'v>(&self, value: &'v HeaderValue) -> Option<Cow<'v, str>> {
        let text = value.to_str().ok()?;
        let is_credential = |pair: &str| {
            let name = pair.split_once('=').map_or(pair, |(n, _)| n).trim();
            self.cookies.iter().any(|c| c == name)
        };
        let pairs = text.split(';').map(str::trim).filter(|p| !p.is_empty());
        if !pairs.clone().any(is_credential) {
            return Some(Cow::Borrowed(text));
        }
        let kept: Vec<&str> = pairs.filter(|p| !is_credential(p)).collect();
        (!kept.is_empty()).then(|| Cow::Owned(kept.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn a_plugin_gets_neither_the_token_nor_credential_cookies() {
        let creds = Credentials::new(DEFAULT_COOKIES);
        let mut h = headers(&[
            ("authorization", "Bearer s3cret"),
            ("cookie", "theme=dark; keel_session=s3cret; lang=en"),
            ("cookie", "keel_token=s3cret"),
            ("x-a", "1"),
        ]);
        creds.strip_for("echo", &mut h);
        assert!(h.get("authorization").is_none());
        assert_eq!(h.get_all("cookie").collect::<Vec<_>>(), ["theme=dark; lang=en"]);
        assert_eq!(h.get("x-a").unwrap(), "1");
    }

    #[test]
    fn auth_keeps_them() {
        let creds = Credentials::new(DEFAULT_COOKIES);
        let mut h = headers(&[("authorization", "Basic abc"), ("cookie", "keel_session=x")]);
        creds.strip_for("auth", &mut h);
        assert_eq!(h.get("authorization").unwrap(), "Basic abc");
        assert_eq!(h.get("cookie").unwrap(), "keel_session=x");
    }

    #[test]
    fn cookie_names_are_configurable_and_exact() {
        let creds = Credentials::new(" sid , ,token");
        let v = HeaderValue::from_static("SID=1; sid=2; token=3; tokens=4");
        assert_eq!(creds.cookie(&v).as_deref(), Some("SID=1; tokens=4"));
        let v = HeaderValue::from_static("a=1");
        assert!(matches!(creds.cookie(&v), Some(Cow::Borrowed("a=1"))));
        assert_eq!(creds.cookie(&HeaderValue::from_static("sid=1")), None);
        assert_eq!(Credentials::new("").cookie(&HeaderValue::from_static("sid=1")).as_deref(), Some("sid=1"));
    }
}
