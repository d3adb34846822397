//! OAuth request bodies: `application/x-www-form-urlencoded` (RFC 6749 §3.2), every parameter at
//! most once, and client authentication by HTTP Basic or body parameters (§2.3.1).

use std::collections::HashMap;

use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE};
use actix_web::HttpRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use keel_sdk::service::snippet;

use crate::error::{AuthError, OAuthCode};

/// The parameters of an OAuth request.
pub struct Form(HashMap<String, String>);

/// Client credentials as presented.
pub struct ClientCredentials {
    /// The client id.
    pub id: String,
    /// The secret (never logged).
    pub secret: String,
    /// Presented with HTTP Basic (a refusal must challenge Basic).
    pub basic: bool,
}

fn invalid_request(msg: impl Into<String>) -> AuthError {
    AuthError::oauth(OAuthCode::InvalidRequest, msg)
}

impl Form {
    /// Parses `body`; refuses another content type and repeated parameters.
    pub fn parse(req: &HttpRequest, body: &[u8]) -> Result<Self, AuthError> {
        let ct = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(invalid_request("the body must be application/x-www-form-urlencoded"));
        }
        let mut params = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            if params.insert(k.clone().into_owned(), v.into_owned()).is_some() {
                let name = snippet(k.as_bytes());
                return Err(invalid_request(format!("parameter {name:?} is given more than once")));
            }
        }
        Ok(Self(params))
    }

    /// Parameter `name`, absent when missing or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// Parameter `name`, `invalid_request` when missing.
    pub fn require(&self, name: &str) -> Result<&str, AuthError> {
        self.get(name).ok_or_else(|| invalid_request(format!("parameter {name:?} is missing")))
    }

    /// The client credentials of the request, if any: HTTP Basic or `client_id`/`client_secret`
    /// in the body, not both.
    pub fn client_credentials(&self, req: &HttpRequest) -> Result<Option<ClientCredentials>, AuthError> {
        let basic = basic_credentials(req)?;
        let body = self
            .get("client_id")
            .map(|id| (id.to_owned(), self.get("client_secret").unwrap_or("").to_owned()));
        match (basic, body) {
            (Some(_), Some(_)) => Err(invalid_request("use one client authentication method, not both")),
            (Some((id, secret)), None) => Ok(Some(ClientCredentials { id, secret, basic: true })),
            (None, Some((id, secret))) => Ok(Some(ClientCredentials { id, secret, basic: false })),
            (None, None) => Ok(None),
        }
    }
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`, when present.
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, AuthError> {
    let Some(value) = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return Ok(None) };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else { return Ok(None) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let bad = || AuthError::OAuth {
        code: OAuthCode::InvalidClient,
        description: "malformed HTTP Basic credentials".into(),
        basic: true,
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    // Both parts are form-urlencoded before base64 (RFC 6749 §2.3.1): `+` is a space.
    let unescape =
        |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    Ok(Some((unescape(id), unescape(secret))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        let basic = STANDARD.encode("my%20client:p%40ss+word%3A");
        let req = TestRequest::default()
            .insert_header(("authorization", format!("Basic {basic}")))
            .to_http_request();
        let form = Form(HashMap::new());
        let creds = form.client_credentials(&req).unwrap().unwrap();
        assert_eq!(
            (creds.id.as_str(), creds.secret.as_str(), creds.basic),
            ("my client", "p@ss word:", true)
        );
    }

    #[test]
    fn two_client_authentication_methods_are_refused() {
        let basic = STANDARD.encode("a:b");
        let req = TestRequest::default()
            .insert_header(("authorization", format!("Basic {basic}")))
            .to_http_request();
        let form = Form([("client_id".to_owned(), "a".to_owned())].into());
        assert!(matches!(
            form.client_credentials(&req),
            Err(AuthError::OAuth { code: OAuthCode::InvalidRequest, .. })
        ));
    }
}
