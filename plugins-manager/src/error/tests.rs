//! Every variant of [`RegistryError`], answered: its status, its catalogue code and fault, the
//! one body shape, the plugin it names, and causes kept out of every 5xx body.

use std::collections::BTreeSet;

use actix_web::body::to_bytes;
use keel_sdk::protocol::errors::{ErrorBody, Fault, Refused};
use keel_sdk::protocol::headers::X_KEEL_ERROR;

use super::*;
use keel_sdk::access::Denied;
use RegistryError as E;

/// What only the log may see: it appears in every internal cause below.
const INTERNAL: &str = "10.9.8.7";

fn dapr_down() -> DaprError {
    DaprError::Connect {
        what: "get state keel-routes".into(),
        endpoint: format!("http://{INTERNAL}:3500"),
        reason: "connection refused".into(),
    }
}

/// One expected answer: the variant, its HTTP status, its code, whose fault, the plugin named.
struct Case {
    error: RegistryError,
    status: u16,
    code: &'static str,
    fault: Fault,
    plugin: Option<&'static str>,
}

fn case(
    error: RegistryError,
    status: u16,
    code: &'static str,
    fault: Fault,
    plugin: Option<&'static str>,
) -> Case {
    Case { error, status, code, fault, plugin }
}

/// The variant's position in [`every_case`]. Exhaustive: a new variant does not compile until it
/// is given a position here, and the walk fails until it has a case there.
fn position(e: &RegistryError) -> usize {
    match e {
        E::BadRequest(_) => 0,
        E::InvalidId(_) => 1,
        E::ReservedId(_) => 2,
        E::BadSecret(_) => 3,
        E::NotFound(_) => 4,
        E::AlreadyRegistered(_) => 5,
        E::InProgress(_) => 6,
        E::CoreService(_) => 7,
        E::Denied(_) => 8,
        E::InUse { .. } => 9,
        E::Unreachable { .. } => 10,
        E::Timeout { .. } => 11,
        E::PluginHttp { .. } => 12,
        E::PluginRefused { .. } => 13,
        E::MalformedIdentify { .. } => 14,
        E::MalformedStatus { .. } => 15,
        E::IdMismatch { .. } => 16,
        E::PlatformTooOld { .. } => 17,
        E::MainNotRegistered { .. } => 18,
        E::MainVersion { .. } => 19,
        E::PointNotDeclared { .. } => 20,
        E::PointTaken { .. } => 21,
        E::AddonsRefused { .. } => 22,
        E::Sidecar(_) => 23,
        E::ClientCredentials { .. } => 24,
        E::Store(_) => 25,
        E::Contention(_) => 26,
        E::Internal(_) => 27,
        E::BadTenant(_) => 28,
        E::AlwaysEnabled { .. } => 29,
        E::NeededBy { .. } => 30,
        E::DependencyMissing { .. } => 31,
        E::BadConsoleEntry(_) => 32,
        E::ConsolePathTaken { .. } => 33,
        E::ConsoleDeclared { .. } => 34,
        E::ConsoleNotFound(_) => 35,
        E::TooManyConsoleEntries { .. } => 36,
        E::Abandoned(_) => 37,
        E::PushedName(_) => 38,
    }
}

const VARIANTS: usize = 39;

fn every_case() -> Vec<Case> {
    use Fault::{Client, Platform, Plugin, Sidecar};
    let ep = "v1/identify";
    vec![
        case(E::BadRequest("x".into()), 400, "ERR_BAD_REQUEST", Client, None),
        case(E::InvalidId(IdError::Empty), 400, "ERR_BAD_PLUGIN_ID", Client, None),
        case(E::ReservedId("keel".into()), 403, "ERR_RESERVED_ID", Client, Some("keel")),
        case(E::BadSecret("too short".into()), 400, "ERR_BAD_SECRET", Client, None),
        case(E::NotFound("echo".into()), 404, "ERR_UNKNOWN_PLUGIN", Client, Some("echo")),
        case(E::AlreadyRegistered("echo".into()), 409, "ERR_ALREADY_REGISTERED", Client, Some("echo")),
        case(E::PushedName("echo".into()), 409, "ERR_CONFLICT", Client, Some("echo")),
        case(E::InProgress("echo".into()), 409, "ERR_IN_PROGRESS", Client, Some("echo")),
        case(E::Abandoned("echo".into()), 409, "ERR_IN_PROGRESS", Client, Some("echo")),
        case(E::CoreService("auth".into()), 403, "ERR_CORE_SERVICE", Client, Some("auth")),
        case(
            E::Denied(Denied::NeedsPlatformScope {
                what: "registering and unregistering plugins".into(),
                who: "boss".into(),
                tenant: "acme".into(),
            }),
            403,
            "ERR_FORBIDDEN",
            Client,
            None,
        ),
        case(
            E::InUse { id: "greeter".into(), implementers: "\"emoji\" implements \"decorate\"".into() },
            409,
            "ERR_IN_USE",
            Client,
            Some("greeter"),
        ),
        case(
            E::Unreachable { id: "ghost".into(), endpoint: ep, reason: "no such app-id".into() },
            502,
            "ERR_PLUGIN_UNREACHABLE",
            Plugin,
            Some("ghost"),
        ),
        case(
            E::Timeout {
                id: "slow".into(),
                endpoint: ep,
                after: Duration::from_secs(1),
                setting: "identify_timeout_ms",
            },
            504,
            "ERR_PLUGIN_TIMEOUT",
            Plugin,
            Some("slow"),
        ),
        case(
            E::PluginHttp { id: "broken".into(), endpoint: ep, status: 500, msg: "database is down".into() },
            502,
            "ERR_PLUGIN_HTTP",
            Plugin,
            Some("broken"),
        ),
        case(
            E::PluginRefused { id: "unready".into(), endpoint: ep, ret: 7, msg: "not configured".into() },
            502,
            "ERR_PLUGIN_REFUSED",
            Plugin,
            Some("unready"),
        ),
        case(
            E::MalformedIdentify { id: "badver".into(), reason: "version: \"one\"".into() },
            422,
            "ERR_MALFORMED_IDENTIFY",
            Plugin,
            Some("badver"),
        ),
        case(
            E::MalformedStatus { id: "odd".into(), reason: "missing field `status`".into() },
            502,
            "ERR_MALFORMED_STATUS",
            Plugin,
            Some("odd"),
        ),
        case(
            E::IdMismatch { requested: "mismatch".into(), reported: "someone-else".into() },
            422,
            "ERR_ID_MISMATCH",
            Plugin,
            Some("mismatch"),
        ),
        case(
            E::PlatformTooOld {
                id: "future".into(),
                source: PlatformTooOld {
                    needed: semver::Version::new(9, 1, 0),
                    platform: semver::Version::new(1, 0, 0),
                },
            },
            422,
            "ERR_PLATFORM_TOO_OLD",
            Plugin,
            Some("future"),
        ),
        case(
            E::MainNotRegistered { index: 0, main: "nobody".into() },
            424,
            "ERR_MAIN_NOT_REGISTERED",
            Plugin,
            Some("nobody"),
        ),
        case(
            E::MainVersion { index: 0, main: "greeter".into(), actual: "1.0.0".into(), wanted: "2.0".into() },
            424,
            "ERR_MAIN_VERSION",
            Plugin,
            Some("greeter"),
        ),
        case(
            E::PointNotDeclared {
                index: 0,
                main: "greeter".into(),
                point: "nope".into(),
                offered: "\"decorate\"".into(),
            },
            422,
            "ERR_POINT_NOT_DECLARED",
            Plugin,
            Some("greeter"),
        ),
        case(
            E::PointTaken { main: "greeter".into(), point: "decorate".into(), by: "emoji".into() },
            409,
            "ERR_POINT_TAKEN",
            Client,
            Some("greeter"),
        ),
        case(
            E::AddonsRefused { main: "greeter".into(), msg: "only signed plugins".into() },
            403,
            "ERR_ADDONS_REFUSED",
            Plugin,
            Some("greeter"),
        ),
        case(E::Sidecar(dapr_down()), 503, "ERR_SIDECAR_UNAVAILABLE", Sidecar, None),
        case(
            E::ClientCredentials {
                id: "echo".into(),
                reason: format!("auth at {INTERNAL} answered HTTP 500"),
            },
            503,
            "ERR_DEPENDENCY_UNAVAILABLE",
            Platform,
            Some("echo"),
        ),
        case(
            E::Store(DaprError::Api {
                what: "transaction".into(),
                status: 500,
                code: "ERR_STATE_TRANSACTION".into(),
                message: format!("sqlite at {INTERNAL}: disk I/O error"),
            }),
            503,
            "ERR_STORE_UNAVAILABLE",
            Platform,
            None,
        ),
        case(E::Contention(30), 503, "ERR_CONTENTION", Platform, None),
        case(E::Internal(format!("entry vanished at {INTERNAL}")), 500, "ERR_INTERNAL", Platform, None),
        case(E::BadTenant("Acme".into()), 400, "ERR_BAD_REQUEST", Client, None),
        case(
            E::AlwaysEnabled { id: "auth".into(), tenant: "acme".into() },
            409,
            "ERR_CONFLICT",
            Client,
            Some("auth"),
        ),
        case(
            E::NeededBy { id: "base".into(), tenant: "acme".into(), dependents: "\"app\"".into() },
            409,
            "ERR_IN_USE",
            Client,
            Some("base"),
        ),
        case(
            E::DependencyMissing {
                plugin: "app".into(),
                dependency: "base".into(),
                reason: "is not registered".into(),
            },
            424,
            "ERR_DEPENDENCY_MISSING",
            Plugin,
            Some("base"),
        ),
        case(
            E::BadConsoleEntry(keel_sdk::protocol::ConsoleError::BadType { value: 7 }),
            422,
            "ERR_BAD_CONSOLE_ENTRY",
            Client,
            None,
        ),
        case(
            E::ConsolePathTaken { path: "/plugins/a/x".into(), owner: "a".into() },
            409,
            "ERR_CONSOLE_PATH_TAKEN",
            Client,
            Some("a"),
        ),
        case(
            E::ConsoleDeclared { path: "/plugins/a/x".into(), owner: "a".into() },
            409,
            "ERR_CONSOLE_PATH_TAKEN",
            Client,
            Some("a"),
        ),
        case(E::ConsoleNotFound("/plugins/a/x".into()), 404, "ERR_NOT_FOUND", Client, None),
        case(
            E::TooManyConsoleEntries { owner: "a".into(), max: 16 },
            422,
            "ERR_BAD_CONSOLE_ENTRY",
            Client,
            Some("a"),
        ),
    ]
}

#[test]
fn every_variant_has_a_case() {
    let cases = every_case();
    let seen: BTreeSet<usize> = cases.iter().map(|c| position(&c.error)).collect();
    assert_eq!(seen, (0..VARIANTS).collect::<BTreeSet<_>>(), "a variant without a case, or one twice");
    assert_eq!(cases.len(), VARIANTS);
}

#[actix_web::test]
async fn every_variant_is_answered_with_its_code_and_the_one_body() {
    for Case { error, status, code, fault, plugin } in every_case() {
        let what = format!("{error:?}");
        assert_eq!(error.code().name(), code, "{what}");
        assert_eq!(error.code().fault(), fault, "{what}");
        assert_eq!(error.status_code().as_u16(), status, "{what}");

        let res = error.error_response();
        assert_eq!(res.status().as_u16(), status, "{what}");
        assert_eq!(res.headers().get(X_KEEL_ERROR).map(|v| v.as_bytes()), Some(&b"1"[..]), "{what}");
        let refused = res.extensions().get::<Refused>().cloned().expect("the refusal is left for the log");
        assert_eq!(refused.code.name(), code, "{what}");

        let raw = to_bytes(res.into_body()).await.unwrap();
        let body: ErrorBody = serde_json::from_slice(&raw).unwrap();
        assert_eq!(body.ret, -i32::from(status), "{what}");
        assert_eq!(body.code, code, "{what}");
        assert_eq!(body.plugin.as_deref(), plugin, "{what}");
        assert_eq!(body.msg, refused.msg, "{what}");
        if code != "ERR_INTERNAL" {
            assert_eq!(body.msg, error.to_string(), "{what}");
        }
        assert!(!body.msg.is_empty(), "{what}");

        if status >= 500 {
            let text = String::from_utf8_lossy(&raw);
            assert!(!text.contains(INTERNAL), "internal detail in a {status}: {text}");
            if error.to_string().contains(INTERNAL) || error.detail().is_some() {
                let detail = refused.detail.unwrap_or_default();
                assert!(detail.contains(INTERNAL), "the log must get the cause of {what}: {detail:?}");
            }
        }
    }
}

#[actix_web::test]
async fn internal_errors_hide_their_detail() {
    let res = RegistryError::Internal("secret detail".into()).error_response();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = to_bytes(res.into_body()).await.unwrap();
    assert!(!String::from_utf8_lossy(&body).contains("secret detail"));
}

#[test]
fn a_dead_sidecar_is_told_apart_from_a_failing_store() {
    assert!(matches!(RegistryError::store(dapr_down()), RegistryError::Sidecar(_)));
    let timeout = DaprError::Timeout { what: "get state".into(), after: Duration::from_secs(5) };
    assert!(matches!(RegistryError::store(timeout), RegistryError::Store(_)));
}
