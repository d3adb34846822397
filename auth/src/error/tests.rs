//! Every variant of [`AuthError`] on the wire: its status, its catalogue code and fault, the
//! exact body, its headers, and that a platform failure's cause reaches the log but never the
//! caller.

use std::collections::BTreeSet;
use std::time::Duration;

use actix_web::body::to_bytes;
use keel_sdk::protocol::errors::{Fault, Refused};
use keel_sdk::protocol::headers::X_KEEL_ERROR;
use serde_json::{json, Value};

use super::*;

/// What one refusal must look like.
struct Expected {
    status: u16,
    code: &'static str,
    fault: Fault,
    /// The message the caller is told.
    msg: String,
    /// RFC 6749 §5.2 `error`, for OAuth refusals.
    oauth: Option<&'static str>,
    www_authenticate: Option<String>,
    no_store: bool,
    /// Text that only the log may carry (addresses, store errors, bug details).
    hidden: Option<&'static str>,
}

fn expect(status: u16, code: &'static str, fault: Fault, msg: impl Into<String>) -> Expected {
    Expected {
        status,
        code,
        fault,
        msg: msg.into(),
        oauth: None,
        www_authenticate: None,
        no_store: false,
        hidden: None,
    }
}

/// Which variant `e` is. Exhaustive on purpose: a new variant does not compile until it is
/// numbered here, and [`VARIANTS`] then fails the test until it has a case below.
fn variant(e: &AuthError) -> usize {
    match e {
        AuthError::Invalid(_) => 0,
        AuthError::Unauthenticated(_) => 1,
        AuthError::Forbidden(_) => 2,
        AuthError::NotFound(_) => 3,
        AuthError::Conflict(_) => 4,
        AuthError::OAuth { .. } => 5,
        AuthError::Store(_) => 6,
        AuthError::Contention(_) => 7,
        AuthError::Internal(_) => 8,
        AuthError::Throttled { .. } => 9,
        AuthError::Ticket(_) => 10,
        AuthError::WrongLogin => 11,
        AuthError::CallerNotAllowed(_) => 12,
    }
}
const VARIANTS: usize = 13;

/// Every rule a caller can be refused by; exhaustive like [`variant`].
fn every_denial() -> Vec<Denied> {
    let all = vec![
        Denied::ClientToken,
        Denied::Rule(keel_sdk::access::Denied::NeedsPlatformScope {
            what: "managing tenants".into(),
            who: "pat".into(),
            tenant: "platform".into(),
        }),
        Denied::NotClientManager,
        Denied::WrongCurrentPassword,
    ];
    for d in &all {
        match d {
            Denied::ClientToken
            | Denied::Rule(_)
            | Denied::NotClientManager
            | Denied::WrongCurrentPassword => {}
        }
    }
    assert_eq!(all.len(), 4, "one case per Denied variant");
    all
}

fn every_case() -> Vec<(AuthError, Expected)> {
    let mut cases = vec![
        (
            AuthError::Ticket(crate::tickets::Refused::Expired),
            expect(401, "ERR_TICKET_INVALID", Fault::Client, "the ticket has expired; log in again"),
        ),
        (
            AuthError::Ticket(crate::tickets::Refused::SessionOutsideKeel),
            expect(
                403,
                "ERR_TICKET_AUDIENCE",
                Fault::Client,
                "a console session ticket is keel's alone; a plugin gets a ticket bound to it (x-keel-ticket)",
            ),
        ),
        (AuthError::WrongLogin, expect(401, "ERR_UNAUTHENTICATED", Fault::Client, "wrong user name or password")),
        (
            AuthError::CallerNotAllowed("only keel creates tickets".into()),
            expect(403, "ERR_CALLER_NOT_ALLOWED", Fault::Client, "only keel creates tickets"),
        ),
        (
            AuthError::Invalid("password must be at least 8 characters long".into()),
            expect(400, "ERR_BAD_REQUEST", Fault::Client, "password must be at least 8 characters long"),
        ),
        (
            AuthError::Unauthenticated(VerifyError::Missing),
            Expected {
                www_authenticate: Some("Bearer realm=\"keel\"".into()),
                ..expect(401, "ERR_UNAUTHENTICATED", Fault::Client, "missing bearer token")
            },
        ),
        (
            AuthError::Unauthenticated(VerifyError::Expired),
            Expected {
                www_authenticate: Some(VerifyError::Expired.www_authenticate()),
                ..expect(401, "ERR_UNAUTHENTICATED", Fault::Client, "token has expired")
            },
        ),
        (
            AuthError::NotFound("tenant \"globex\" not found".into()),
            expect(404, "ERR_NOT_FOUND", Fault::Client, "tenant \"globex\" not found"),
        ),
        (
            AuthError::Throttled { retry_after: Duration::from_secs(4) },
            expect(429, "ERR_RATE_LIMITED", Fault::Client, "too many failed logins; retry in 4 s"),
        ),
        (
            AuthError::Conflict("you cannot delete yourself".into()),
            expect(409, "ERR_CONFLICT", Fault::Client, "you cannot delete yourself"),
        ),
        (
            AuthError::Store(DaprError::Connect {
                what: "get state auth/keys".into(),
                endpoint: "http://10.9.8.7:3500".into(),
                reason: "connection refused".into(),
            }),
            Expected {
                hidden: Some("10.9.8.7"),
                ..expect(
                    503,
                    "ERR_SIDECAR_UNAVAILABLE",
                    Fault::Sidecar,
                    "auth cannot reach its Dapr sidecar; retry later",
                )
            },
        ),
        (
            AuthError::Contention("state \"auth/keys\"".into()),
            expect(
                503,
                "ERR_CONTENTION",
                Fault::Platform,
                "state \"auth/keys\" kept changing under this request; retry",
            ),
        ),
        (
            AuthError::Internal("sign a token: key 3f9a is corrupt".into()),
            Expected {
                hidden: Some("3f9a"),
                ..expect(500, "ERR_INTERNAL", Fault::Platform, "internal error; see the service's log")
            },
        ),
    ];
    // Every way the store can fail but being unreachable is the store's, not the sidecar's.
    let store_failures = [
        DaprError::Timeout { what: "get state at redis-7:6379".into(), after: Duration::from_secs(5) },
        DaprError::Api {
            what: "save state".into(),
            status: 500,
            code: "ERR_STATE_SAVE".into(),
            message: "redis-7:6379: READONLY".into(),
        },
        DaprError::EtagMismatch { what: "save state".into(), message: "redis-7:6379 etag".into() },
        DaprError::Status { what: "get state".into(), status: 502, body: "bad gateway redis-7:6379".into() },
        DaprError::Decode { what: "get state".into(), reason: "EOF from redis-7:6379".into() },
    ];
    for e in store_failures {
        let expected = Expected {
            hidden: Some("redis-7:6379"),
            ..expect(
                503,
                "ERR_STORE_UNAVAILABLE",
                Fault::Platform,
                "auth's state store is unavailable; retry later",
            )
        };
        cases.push((AuthError::Store(e), expected));
    }
    for denied in every_denial() {
        let msg = denied.to_string();
        cases.push((AuthError::Forbidden(denied), expect(403, "ERR_FORBIDDEN", Fault::Client, msg)));
    }
    for code in OAuthCode::ALL {
        let (status, name) = match code {
            OAuthCode::InvalidRequest => (400, "ERR_OAUTH_INVALID_REQUEST"),
            OAuthCode::InvalidClient => (401, "ERR_OAUTH_INVALID_CLIENT"),
            OAuthCode::InvalidGrant => (400, "ERR_OAUTH_INVALID_GRANT"),
            OAuthCode::UnsupportedGrantType => (400, "ERR_OAUTH_UNSUPPORTED_GRANT_TYPE"),
            OAuthCode::UnsupportedTokenType => (400, "ERR_OAUTH_UNSUPPORTED_TOKEN_TYPE"),
        };
        for basic in [false, true] {
            let e = AuthError::OAuth { code, description: format!("refused with {}", code.as_str()), basic };
            let expected = Expected {
                oauth: Some(code.as_str()),
                www_authenticate: basic.then(|| "Basic realm=\"keel\"".to_owned()),
                no_store: true,
                ..expect(status, name, Fault::Client, format!("refused with {}", code.as_str()))
            };
            cases.push((e, expected));
        }
    }
    cases
}

#[actix_web::test]
async fn every_variant_answers_its_catalogue_code_status_and_exact_body() {
    let cases = every_case();
    let covered: BTreeSet<usize> = cases.iter().map(|(e, _)| variant(e)).collect();
    assert_eq!(covered, (0..VARIANTS).collect(), "a variant without a case");

    for (e, want) in cases {
        let label = format!("{e:?}");
        let code = e.code();
        assert_eq!((code.name(), code.fault()), (want.code, want.fault), "{label}");
        assert_eq!(e.status_code().as_u16(), want.status, "{label}");

        let res = e.error_response();
        assert_eq!(res.status().as_u16(), want.status, "{label}");
        assert_eq!(res.headers().get(X_KEEL_ERROR).unwrap(), "1", "{label}");
        let challenge = res.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(challenge, want.www_authenticate, "{label}");
        let cache = res.headers().get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(cache.as_deref(), want.no_store.then_some("no-store"), "{label}");

        let refused = res.extensions().get::<Refused>().cloned().expect("a Refused for the log");
        assert_eq!((refused.code, refused.msg.as_str()), (code, want.msg.as_str()), "{label}");
        if let Some(hidden) = want.hidden {
            assert!(
                refused.detail.as_deref().unwrap_or("").contains(hidden),
                "{label}: the log gets the cause"
            );
        }

        let bytes = to_bytes(res.into_body()).await.unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        let mut exact = json!({"ret": -i64::from(want.status), "msg": want.msg, "code": want.code});
        if let Some(error) = want.oauth {
            exact["error"] = json!(error);
            exact["error_description"] = json!(want.msg);
        }
        assert_eq!(body, exact, "{label}");
        let text = String::from_utf8_lossy(&bytes);
        if let Some(hidden) = want.hidden {
            assert!(!text.contains(hidden), "{label}: the cause reached the caller: {text}");
        }
        if want.status >= 500 {
            assert!(!text.contains("internal error:") && !text.contains("dapr answered"), "{label}: {text}");
        }
    }
}

#[test]
fn the_detailed_text_keeps_the_cause_for_start_up_and_logs() {
    let e = AuthError::Store(DaprError::Api {
        what: "get state auth/keys".into(),
        status: 500,
        code: "ERR_STATE_GET".into(),
        message: "redis down".into(),
    });
    assert_eq!(e.to_string(), "auth's state store is unavailable; retry later");
    assert!(e.detailed().ends_with("get state auth/keys: dapr answered 500 ERR_STATE_GET: redis down"));
    assert_eq!(AuthError::Conflict("taken".into()).detailed(), "taken");
}
