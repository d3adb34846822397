//! The external flow's optional hook (`platform.md` §5): when a plugin implements keel's own addon
//! point `external-pre-route-check`, every request on the public port is first shown to it —
//! method, path, query, headers and the verified identity, never the body nor the client's
//! credentials ([`crate::credentials`]) — and goes on only when
//! the hook answers 2xx with `ret == 0`. The hook fails closed: any other answer is a 403 carrying
//! its `msg`, no answer (unreachable, too slow, not `ACTIVE`) is a 503. With no implementer there
//! is no extra hop.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

use actix_web::http::header::COOKIE;
use actix_web::http::{Method, StatusCode};
use actix_web::HttpRequest;
use serde::{Deserialize, Serialize};

use super::credentials::Credentials;
use super::errors::RouteError;
use super::routes;
use super::state::RouterState;
use super::target::Endpoint;
use super::upstream::is_caller_only;
use keel_sdk::dapr::headers::end_to_end;
use keel_sdk::dapr::DaprClient;
use keel_sdk::protocol::KEEL_APP_ID;
use keel_sdk::protocol::{AddonTarget, RouteTable};
use keel_sdk::service::snippet;
use keel_sdk::tokens::Identity;

/// The addon point keel declares for integrators.
pub const POINT: &str = "external-pre-route-check";

/// What the point is for, as keel's identify describes it.
pub const POINT_DESC: &str = "called before every request on keel's public port with its method, path, \
     query, headers and verified identity (no body); answer 2xx with ret 0 to let it through";

/// The body the hook receives (`POST` to its endpoint, JSON).
#[derive(Debug, Serialize)]
pub struct Check<'a> {
    /// The request's method.
    pub method: &'a str,
    /// Its path on the public port (`/apis/<plugin>/<endpoint>`).
    pub path: &'a str,
    /// The plugin it is for.
    pub plugin: &'a str,
    /// The endpoint on that plugin.
    pub endpoint: &'a str,
    /// The raw query string (empty for none).
    pub query: &'a str,
    /// The end-to-end headers as the plugin would get them (client `dapr-*`/`x-keel-*`,
    /// `Authorization` and credential cookies removed), lower-case names, repeated values in
    /// order; values that are not text are left out.
    pub headers: BTreeMap<&'a str, Vec<Cow<'a, str>>>,
    /// Who keel verified the caller to be; `null` on an endpoint the plugin declared public.
    pub identity: Option<CheckIdentity<'a>>,
    /// The client's address as keel decided it (the peer, or what a trusted proxy recorded:
    /// [`crate::client_addr`]); the client's own forwarding headers are not in `headers`.
    pub client: Option<String>,
}

/// The verified caller, as the hook sees it.
#[derive(Debug, Serialize)]
pub struct CheckIdentity<'a> {
    /// User name or client id (`sub`).
    pub user: &'a str,
    /// Tenant.
    pub tenant: &'a str,
    /// Roles.
    pub roles: &'a [String],
}

/// The part of the hook's answer keel reads.
#[derive(Debug, Deserialize)]
struct Verdict {
    ret: i64,
    #[serde(default)]
    msg: String,
}

/// The implementer of keel's point in `table`, if any.
pub fn hook(table: &RouteTable) -> Option<&AddonTarget> {
    table.plugins.get(KEEL_APP_ID)?.addons.get(POINT)?.as_ref()
}

/// Runs the hook for an external request (a no-op when no plugin implements the point).
pub async fn check(
    dapr: &DaprClient,
    req: &HttpRequest,
    table: &RouteTable,
    state: &RouterState,
    Endpoint { plugin, endpoint }: Endpoint<'_>,
    who: Option<&Identity>,
    client: Option<IpAddr>,
) -> Result<(), RouteError> {
    let Some(target) = hook(table) else { return Ok(()) };
    let policy = &state.policy;
    let hook = Endpoint { plugin: &target.plugin, endpoint: &target.endpoint };
    let retry_after = policy.retry_after;
    let unavailable = |plugin: &str, detail: String| RouteError::CheckUnavailable {
        plugin: plugin.to_owned(),
        detail,
        retry_after,
    };
    let route =
        routes::endpoint(table, hook, policy).map_err(|e| unavailable(&target.plugin, e.to_string()))?;
    let check = Check {
        method: req.method().as_str(),
        path: req.path(),
        plugin,
        endpoint,
        query: req.query_string(),
        headers: headers(req, &state.credentials),
        identity: who.map(|w| CheckIdentity { user: &w.sub, tenant: &w.tenant, roles: &w.roles }),
        client: client.map(|ip| ip.to_string()),
    };
    let call = dapr.invoke(Method::POST, &route.plugin, &route.endpoint, Some(&check));
    let answer = match tokio::time::timeout(route.timeout, call).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => return Err(unavailable(&route.plugin, e.to_string())),
        Err(_) => return Err(unavailable(&route.plugin, format!("no answer within {:?}", route.timeout))),
    };
    judge(answer.status, &answer.body, &route.plugin)
}

/// Reads the hook's answer: 2xx with `ret == 0` passes, anything else refuses, quoting the
/// hook's `msg` when it gave one.
fn judge(status: StatusCode, body: &[u8], plugin: &str) -> Result<(), RouteError> {
    let verdict = serde_json::from_slice::<Verdict>(body).ok();
    let msg = verdict.as_ref().map(|v| v.msg.as_str()).filter(|m| !m.is_empty());
    let reason = match (status.is_success(), &verdict) {
        (true, Some(v)) if v.ret == 0 => return Ok(()),
        (true, Some(v)) => msg.map_or_else(|| format!("{plugin} answered ret {}", v.ret), str::to_owned),
        (true, None) => format!("{plugin} answered HTTP {} without a verdict", status.as_u16()),
        (false, _) => match msg {
            Some(m) => format!("{plugin} answered HTTP {}: {m}", status.as_u16()),
            None => format!("{plugin} answered HTTP {}", status.as_u16()),
        },
    };
    Err(RouteError::Denied { reason: snippet(reason.as_bytes()) })
}

/// The headers the hook is shown: what a plugin would get, without the client's credentials
/// (the hook is a plugin too; it sees who keel verified in `identity`).
fn headers<'r>(req: &'r HttpRequest, creds: &Credentials) -> BTreeMap<&'r str, Vec<Cow<'r, str>>> {
    let mut out: BTreeMap<&str, Vec<Cow<'_, str>>> = BTreeMap::new();
    let skip = |n: &_| is_caller_only(n) || Credentials::is_authorization(n);
    for (name, value) in end_to_end(req.headers(), skip) {
        let text = if name == COOKIE { creds.cookie(value) } else { value.to_str().ok().map(Cow::Borrowed) };
        if let Some(text) = text {
            out.entry(name.as_str()).or_default().push(text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn only_a_2xx_with_ret_0_passes() {
        let ok = br#"{"ret":0,"msg":"ok"}"#;
        assert!(judge(StatusCode::OK, ok, "gate").is_ok());
        assert!(judge(StatusCode::NO_CONTENT, ok, "gate").is_ok());
        let no = judge(StatusCode::OK, br#"{"ret":-1,"msg":"office hours only"}"#, "gate").unwrap_err();
        assert_eq!(no.to_string(), "the external pre-route check refused the request: office hours only");
        let no = judge(StatusCode::FORBIDDEN, ok, "gate").unwrap_err();
        assert!(no.to_string().ends_with("gate answered HTTP 403: ok"), "{no}");
        let no = judge(StatusCode::BAD_GATEWAY, b"", "gate").unwrap_err();
        assert!(no.to_string().ends_with("gate answered HTTP 502"), "{no}");
        let no = judge(StatusCode::OK, br#"{"ret": 7}"#, "gate").unwrap_err();
        assert!(no.to_string().ends_with("gate answered ret 7"), "{no}");
        let no = judge(StatusCode::OK, b"yes", "gate").unwrap_err();
        assert!(no.to_string().contains("gate answered HTTP 200 without a verdict"), "{no}");
        let long = format!(r#"{{"ret":1,"msg":"{}"}}"#, "é".repeat(600));
        let no = judge(StatusCode::OK, long.as_bytes(), "gate").unwrap_err().to_string();
        assert!(no.len() < 700 && no.ends_with('…'), "{no}");
    }

    #[test]
    fn the_hook_sees_end_to_end_headers_without_client_claims_or_credentials() {
        let req = TestRequest::get()
            .uri("/apis/echo/x?a=1")
            .insert_header(("authorization", "Bearer t"))
            .insert_header(("cookie", "keel_session=t; theme=dark"))
            .insert_header(("x-a", "1"))
            .append_header(("x-a", "2"))
            .insert_header(("x-keel-user", "mallory"))
            .insert_header(("dapr-app-id", "elsewhere"))
            .insert_header(("connection", "keep-alive"))
            .to_http_request();
        let h = headers(&req, &Credentials::new(crate::credentials::DEFAULT_COOKIES));
        assert_eq!(h["x-a"], ["1", "2"]);
        assert_eq!(h["cookie"], ["theme=dark"]);
        for gone in ["x-keel-user", "dapr-app-id", "connection", "host", "authorization"] {
            assert!(!h.contains_key(gone), "{gone}");
        }
    }

    #[test]
    fn the_hook_is_keels_point_implementer() {
        let table: RouteTable = serde_json::from_value(serde_json::json!({"version": 1, "plugins": {
            "keel": {"status": "ACTIVE", "addons": {POINT: {"plugin": "gate", "endpoint": "check"}}}
        }}))
        .unwrap();
        assert_eq!(hook(&table).unwrap().plugin, "gate");
        let none: RouteTable = serde_json::from_value(serde_json::json!({"version": 1, "plugins": {
            "keel": {"status": "ACTIVE", "addons": {POINT: null}}
        }}))
        .unwrap();
        assert!(hook(&none).is_none());
    }
}
