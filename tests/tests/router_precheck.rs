//! Keel's own addon point `external-pre-route-check`, end to end with the real registry, auth and
//! keel: a plugin registers as its implementer (keel declares the point, the registry validates
//! the implementation), then every request on keel's public port is shown to it first. Its "no"
//! is a 403 carrying its message, its silence a 503 (fail closed), and with no implementer left
//! requests pass without the extra hop.

mod registry_support;

use std::time::{Duration, Instant};

use keel_e2e::{client, eventually, AppSpec, Platform};
use registry_support::*;
use serde_json::{json, Value};

const POINT: &str = "external-pre-route-check";
const ADMIN_PW: &str = "bootstrap-password-1";

/// What keel's public port answered: status, `x-keel-error` present, `Retry-After`, JSON body.
struct Answer {
    status: u16,
    keel_error: bool,
    retry_after: Option<String>,
    body: Value,
}

async fn public(p: &Platform, method: &str, path_and_query: &str, bearer: Option<&str>) -> Answer {
    let base = p.app("keel").spec.env_value("KEEL_PUBLIC_LISTEN").expect("public listen").to_owned();
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client()
        .request(method, format!("http://{base}/apis/{path_and_query}"))
        .insert_header(("x-keel-user", "mallory"))
        .insert_header(("x-trace-me", "yes"));
    if let Some(t) = bearer {
        req = req.insert_header(("authorization", format!("Bearer {t}")));
    }
    let mut res = req.send().await.expect("public port");
    let header = |n: &str| res.headers().get(n).map(|v| v.to_str().unwrap_or_default().to_owned());
    let (keel_error, retry_after) = (header("x-keel-error").is_some(), header("retry-after"));
    let bytes = res.body().limit(1 << 20).await.unwrap();
    Answer {
        status: res.status().as_u16(),
        keel_error,
        retry_after,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// Logs the super-admin in through keel's public port (auth's token endpoint is public).
async fn login(p: &Platform) -> String {
    let base = p.app("keel").spec.env_value("KEEL_PUBLIC_LISTEN").unwrap().to_owned();
    let form = [("grant_type", "password"), ("username", "admin"), ("password", ADMIN_PW)];
    let mut res =
        client().post(format!("http://{base}/apis/auth/v1/oauth/token")).send_form(&form).await.unwrap();
    assert_eq!(res.status(), 200, "login through the public port");
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// What fake plugin `id` received outside its protocol endpoints.
async fn received(p: &Platform, id: &str) -> Vec<Value> {
    let (_, body) = call("GET", &format!("{}/fake/requests", p.app_url(id)), None).await;
    body.as_array().cloned().unwrap_or_default()
}

async fn reply(p: &Platform, id: &str, answer: &str) {
    fake_control(p, id, "reply", answer).await;
}

#[actix_rt::test]
async fn an_implementer_of_keels_point_sees_every_external_request_first_and_fails_closed() {
    let mut p = Platform::new();
    p.start(auth()).await;
    p.start(AppSpec::keel().env("KEEL_ROUTES_REFRESH_MS", "300")).await;
    start_registry(&mut p, &[]).await;
    wait_registered(&p, REGISTRY, "keel").await;
    wait_registered(&p, REGISTRY, "auth").await;
    p.start(fake("echo", &[])).await;
    assert_eq!(register(&p, REGISTRY, "echo", None).await.0, 201);
    // The gate answers within 1 s or not at all (its own timeout_ms, honoured by keel).
    let implements = format!("keel@1.0:{POINT}=hooks/check");
    p.start(fake("gate", &[("FAKE_IMPLEMENTS", &implements), ("FAKE_TIMEOUT_MS", "1000")])).await;

    // Keel declares the point; nobody implements it yet, and requests pass with no extra hop.
    let (_, keel) = get_plugin(&p, REGISTRY, "keel").await;
    assert!(keel.to_string().contains(POINT), "keel offers the point: {keel}");
    let token = eventually("keel accepts auth's tokens", Duration::from_secs(30), || async {
        let t = login(&p).await;
        (public(&p, "GET", "echo/hello", Some(&t)).await.status == 200).then_some(t)
    })
    .await;
    assert!(received(&p, "gate").await.is_empty());

    // The registry validates the implementation with keel and routes keel's point to the gate.
    let (status, body) = register(&p, REGISTRY, "gate", None).await;
    assert_eq!(status, 201, "{body}");
    let table = routes(&p, REGISTRY).await;
    assert_eq!(
        table["plugins"]["keel"]["addons"][POINT],
        json!({"plugin": "gate", "endpoint": "hooks/check"})
    );

    // The gate's default answer is an `ok` envelope: the request passes, after the gate saw it.
    eventually("the gate is asked first", Duration::from_secs(10), || async {
        let a = public(&p, "GET", "echo/hello/world?x=1&y=%2F", Some(&token)).await;
        (a.status == 200 && !received(&p, "gate").await.is_empty()).then_some(())
    })
    .await;
    let seen = received(&p, "gate").await.last().cloned().unwrap();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/hooks/check");
    let check = &seen["body"];
    assert_eq!(check["method"], "GET");
    assert_eq!(check["path"], "/apis/echo/hello/world");
    assert_eq!(check["plugin"], "echo");
    assert_eq!(check["endpoint"], "hello/world");
    assert_eq!(check["query"], "x=1&y=%2F");
    assert_eq!(check["identity"]["user"], "admin");
    assert_eq!(check["identity"]["tenant"], "platform");
    assert!(check["identity"]["roles"].as_array().is_some_and(|r| !r.is_empty()), "{check}");
    assert_eq!(check["headers"]["x-trace-me"], json!(["yes"]));
    assert!(check["headers"].get("x-keel-user").is_none(), "client identity claims never reach the hook");
    let echo_calls = received(&p, "echo").await.len();

    // A refusal: 403 with the gate's message, and the plugin never sees the request.
    reply(&p, "gate", r#"{"status": 200, "body": {"ret": -1, "msg": "office hours only"}}"#).await;
    let a = public(&p, "GET", "echo/hello", Some(&token)).await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(a.keel_error);
    assert_eq!(a.body["code"], "ERR_PRE_ROUTE_DENIED");
    assert!(a.body["msg"].as_str().unwrap().contains("office hours only"), "{}", a.body);
    // A non-2xx answer denies too, whatever its envelope says.
    reply(&p, "gate", r#"{"status": 500, "body": {"ret": 0, "msg": "ok"}}"#).await;
    let a = public(&p, "GET", "echo/hello", Some(&token)).await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(a.body["msg"].as_str().unwrap().ends_with("gate answered HTTP 500: ok"), "{}", a.body);
    assert_eq!(received(&p, "echo").await.len(), echo_calls, "denied requests never reach the plugin");

    // Silence: 503 with Retry-After once the gate's own time limit passes, not a hang.
    reply(&p, "gate", "hang").await;
    let started = Instant::now();
    let a = public(&p, "GET", "echo/hello", Some(&token)).await;
    let waited = started.elapsed();
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(a.body["code"], "ERR_PRE_ROUTE_UNAVAILABLE");
    assert!(a.retry_after.is_some());
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(10), "{waited:?}");
    // Public endpoints go through the hook too: the hook is the integrator's gate for everything.
    let a = public(&p, "GET", "auth/v1/oauth/jwks", None).await;
    assert_eq!(a.status, 503, "{}", a.body);

    // The gate back to its default answer: traffic flows again without restarting anything.
    reply(&p, "gate", "").await;
    assert_eq!(public(&p, "GET", "echo/hello", Some(&token)).await.status, 200);

    // The gate gone: fail closed until it is unregistered, then no hook at all.
    p.kill_app_only("gate");
    let a = public(&p, "GET", "echo/hello", Some(&token)).await;
    assert_eq!(a.status, 503, "{}", a.body);
    assert!(a.keel_error);
    let (status, body) = call("DELETE", &format!("{}/v1/plugins/gate", api(&p, REGISTRY)), None).await;
    assert!((200..300).contains(&status), "{status} {body}");
    eventually("requests pass once the gate is unregistered", Duration::from_secs(10), || async {
        (public(&p, "GET", "echo/hello", Some(&token)).await.status == 200).then_some(())
    })
    .await;
}
