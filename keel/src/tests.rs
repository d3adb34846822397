//! In-process tests: the router started with [`super::start`] on loopback ports, in front of the
//! stand-in's fake sidecar (`sidecar::test_util`: its real state API, and a few plugins played
//! here). The real-process tests (real sidecars, real plugins) live in the workspace's
//! `tests/tests/router_*.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use bytes::Bytes;
use serde_json::{json, Value};
use sidecar::test_util::{FakeSidecar, Invocation};

use super::*;
use keel_sdk::dapr::SidecarConfig;
use keel_sdk::protocol::ROUTES_KEY;

// === the fake sidecar ===

/// keel's sidecar: the stand-in's fake (`sidecar::test_util`), its state API real, with
/// [`plugin`] behind the apps of [`table`]. `ghost` has nobody behind it, so the fake answers
/// what daprd says about an app it cannot reach; `tardy` answers what daprd says when a
/// resiliency timeout fires.
async fn fake_sidecar(token: Option<&str>) -> FakeSidecar {
    let mut fake = FakeSidecar::builder("keel");
    if let Some(token) = token {
        fake = fake.token(token);
    }
    for app in ["echo", "emoji", "greeter"] {
        fake = fake.app(app, plugin);
    }
    fake.app("tardy", |_| async {
        HttpResponse::InternalServerError().content_type("application/json").body(
            r#"{"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: tardy, err: context deadline exceeded"}"#,
        )
    })
    .start()
    .await
}

/// Plays the plugins: `echo` describes the request, `status/<n>` answers n, `slow/<ms>` waits,
/// `body` streams the request body back.
async fn plugin(mut inv: Invocation) -> HttpResponse {
    let req = inv.request.clone();
    let tail = req.uri().path().split_once("/method/").map(|(_, t)| t.to_owned()).unwrap_or_default();
    if let Some(ms) = tail.strip_prefix("slow/") {
        tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
        return HttpResponse::Ok().body("slept");
    }
    if let Some(code) = tail.strip_prefix("status/") {
        let status = StatusCode::from_u16(code.parse().unwrap_or(500)).unwrap();
        let mut res = HttpResponse::build(status);
        res.insert_header(("x-plugin", "yes")).insert_header(("x-keel-error", "1"));
        if status.is_redirection() {
            res.insert_header(("location", "/elsewhere"));
        }
        if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
            return res.finish();
        }
        return res
            .content_type("application/json")
            .body(format!(r#"{{"ret":-1,"msg":"plugin says {code}"}}"#));
    }
    if tail == "body" {
        return HttpResponse::Ok().streaming(inv.body);
    }
    let bytes = inv.body_bytes().await.unwrap();
    let mut headers = serde_json::Map::new();
    for name in req.headers().keys() {
        let values: Vec<Value> =
            req.headers().get_all(name).map(|v| Value::from(String::from_utf8_lossy(v.as_bytes()))).collect();
        headers.insert(name.to_string(), Value::Array(values));
    }
    HttpResponse::Ok().json(json!({
        "app": inv.app_id, "method": req.method().as_str(), "path": tail, "query": req.query_string(),
        "headers": headers, "body_len": bytes.len(),
    }))
}

// === helpers ===

fn table(version: u64, echo_status: &str) -> Value {
    json!({"version": version, "plugins": {
        "echo": {"status": echo_status, "version": "1.0.0", "addons": {
            "decorate": {"plugin": "emoji", "endpoint": "hooks/decorate"}, "spare": null}},
        "emoji": {"status": "ACTIVE", "version": "1.0.0", "timeout_ms": 300},
        "greeter": {"status": "ACTIVE", "version": "1.0.0"},
        "ghost": {"status": "ACTIVE", "version": "1.0.0"},
        "tardy": {"status": "ACTIVE", "version": "1.0.0"}
    }})
}

/// Starts keel in front of `fake` with its table stored, and waits until keel loaded it.
async fn keel(fake: &FakeSidecar, tweak: impl FnOnce(&mut Config)) -> Running {
    fake.set_value(ROUTES_KEY, &table(1, "ACTIVE"));
    let mut cfg = Config::local(SidecarConfig { endpoint: fake.url(), ..Default::default() });
    cfg.router.routes_retry_ms = 20;
    tweak(&mut cfg);
    let running = start(cfg).await.unwrap();
    let started = Instant::now();
    while running.routes_version().is_none() {
        assert!(started.elapsed() < Duration::from_secs(10), "keel did not load its routes");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running
}

fn client() -> awc::Client {
    awc::Client::builder().disable_redirects().timeout(Duration::from_secs(20)).finish()
}

/// A request to keel's app port as keel's sidecar would deliver it from `caller`.
fn call(keel: &Running, method: &str, path_and_query: &str, caller: &str) -> awc::ClientRequest {
    client()
        .request(method.parse().unwrap(), format!("http://{}{path_and_query}", keel.app_addr))
        .no_decompress()
        .insert_header(("dapr-caller-app-id", caller))
}

async fn json_of(
    mut res: awc::ClientResponse<
        impl futures_util::Stream<Item = Result<Bytes, actix_web::error::PayloadError>> + Unpin,
    >,
) -> Value {
    serde_json::from_slice(&res.body().limit(1 << 20).await.unwrap()).unwrap()
}

async fn refusal(req: awc::ClientRequest) -> (u16, String) {
    let mut res = req.send().await.unwrap();
    assert_eq!(res.headers().get("x-keel-error").map(|v| v.as_bytes()), Some(&b"1"[..]), "not a keel error");
    let body: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
    assert_eq!(body["ret"], -i64::from(res.status().as_u16()));
    (res.status().as_u16(), body["code"].as_str().unwrap().to_owned())
}

// === tests ===

#[actix_web::test]
async fn forwards_method_path_query_and_headers_and_vouches_for_the_caller() {
    let fake = fake_sidecar(Some("sidecar-token")).await;
    let keel = keel(&fake, |c| c.sidecar.api_token = Some("sidecar-token".into())).await;
    for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let res = call(&keel, method, "/echo/a/b%20c?x=1&x=2&y=%2F&z", "greeter")
            .insert_header(("x-multi", "1"))
            .append_header(("x-multi", "2"))
            .insert_header(("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
            .insert_header(("x-keel-caller", "forged"))
            .insert_header(("dapr-api-token", "app-token-from-keels-sidecar"))
            .send_body("hello")
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{method}");
        let v = json_of(res).await;
        assert_eq!((v["app"].as_str(), v["method"].as_str()), (Some("echo"), Some(method)));
        assert_eq!(v["path"], "a/b%20c");
        assert_eq!(v["query"], "x=1&x=2&y=%2F&z");
        assert_eq!(v["headers"]["x-multi"], json!(["1", "2"]));
        assert_eq!(v["headers"]["x-keel-caller"], json!(["greeter"]));
        assert_eq!(v["headers"]["dapr-api-token"], json!(["sidecar-token"]));
        assert_eq!(v["headers"]["traceparent"][0], "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        assert_eq!(v["headers"]["content-length"], json!(["5"]));
        assert_eq!(v["body_len"], 5);
        assert!(v["headers"].get("accept-encoding").is_none(), "keel adds no accept-encoding");
    }
    keel.stop().await.unwrap();
}

#[actix_web::test]
async fn plugin_statuses_headers_and_bodies_come_back_unchanged() {
    let fake = fake_sidecar(None).await;
    let keel = keel(&fake, |_| {}).await;
    for code in [200u16, 201, 204, 301, 304, 400, 404, 409, 500, 503] {
        let mut res = call(&keel, "GET", &format!("/echo/status/{code}"), "greeter").send().await.unwrap();
        assert_eq!(res.status().as_u16(), code);
        assert_eq!(res.headers().get("x-plugin").unwrap(), "yes");
        // A plugin cannot make its answer look like keel's refusal.
        assert!(res.headers().get("x-keel-error").is_none(), "{code}");
        if code / 100 == 3 && code != 304 {
            assert_eq!(res.headers().get("location").unwrap(), "/elsewhere");
        }
        let body = res.body().await.unwrap();
        if code != 204 && code != 304 {
            assert_eq!(body, format!(r#"{{"ret":-1,"msg":"plugin says {code}"}}"#));
        }
    }
    // Binary and empty bodies stream both ways.
    let blob: Vec<u8> = (0..=255u8).cycle().take(3 << 20).collect();
    let mut res = call(&keel, "POST", "/echo/body", "greeter").send_body(blob.clone()).await.unwrap();
    assert_eq!(res.body().limit(8 << 20).await.unwrap(), blob);
    let mut res = call(&keel, "POST", "/echo/body", "greeter").send_body("").await.unwrap();
    assert!(res.body().await.unwrap().is_empty());
    keel.stop().await.unwrap();
}

#[actix_web::test]
async fn addon_points_resolve_among_the_callers_own_points() {
    let fake = fake_sidecar(None).await;
    let keel = keel(&fake, |_| {}).await;
    let res = call(&keel, "POST", "/addons/decorate?q=1", "echo").send_body("x").await.unwrap();
    let v = json_of(res).await;
    assert_eq!(
        (v["app"].as_str(), v["path"].as_str(), v["query"].as_str()),
        (Some("emoji"), Some("hooks/decorate"), Some("q=1"))
    );
    assert_eq!(v["headers"]["x-keel-caller"], json!(["echo"]));
    assert_eq!(refusal(call(&keel, "POST", "/addons/nope", "echo")).await, (404, "ERR_UNKNOWN_POINT".into()));
    assert_eq!(
        refusal(call(&keel, "POST", "/addons/spare", "echo")).await,
        (404, "ERR_NO_IMPLEMENTER".into())
    );
    // Only the caller's own points: greeter declared none.
    assert_eq!(
        refusal(call(&keel, "POST", "/addons/decorate", "greeter")).await,
        (404, "ERR_UNKNOWN_POINT".into())
    );
    keel.stop().await.unwrap();
}

#[actix_web::test]
async fn refusals_carry_the_platform_statuses() {
    let fake = fake_sidecar(None).await;
    let keel = keel(&fake, |_| {}).await;
    assert_eq!(refusal(call(&keel, "GET", "/nope/x", "greeter")).await, (404, "ERR_UNKNOWN_PLUGIN".into()));
    assert_eq!(refusal(call(&keel, "GET", "/echo", "greeter")).await, (400, "ERR_BAD_PATH".into()));
    assert_eq!(refusal(call(&keel, "GET", "/echo/../../v1.0/state/statestore/k", "greeter")).await.0, 400);
    assert_eq!(refusal(call(&keel, "GET", "/Bad_Id/x", "greeter")).await, (400, "ERR_BAD_PLUGIN_ID".into()));
    assert_eq!(
        refusal(call(&keel, "GET", "/echo/x", "stranger")).await,
        (403, "ERR_UNREGISTERED_CALLER".into())
    );
    assert_eq!(
        refusal(call(&keel, "GET", "/keel/v1/routes", "greeter")).await,
        (403, "ERR_KEEL_NOT_ROUTABLE".into())
    );
    assert_eq!(refusal(call(&keel, "GET", "/v1/nothing", "greeter")).await, (404, "ERR_NO_SUCH_API".into()));
    let no_caller = client().get(format!("http://{}/echo/x", keel.app_addr));
    assert_eq!(refusal(no_caller).await, (401, "ERR_NO_CALLER".into()));
    // Core services call before they are registered.
    assert_eq!(call(&keel, "GET", "/echo/x", "auth").send().await.unwrap().status(), StatusCode::OK);
    keel.stop().await.unwrap();
}

#[actix_web::test]
async fn unreachable_slow_and_oversized_are_502_504_413() {
    let fake = fake_sidecar(None).await;
    let keel = keel(&fake, |c| {
        c.router.upstream_timeout_ms = 400;
        c.router.max_body_bytes = 1000;
    })
    .await;
    assert_eq!(
        refusal(call(&keel, "GET", "/ghost/x", "greeter")).await,
        (502, "ERR_PLUGIN_UNREACHABLE".into())
    );
    // A resiliency timeout on the sidecar is the plugin's timeout, read from daprd's answer.
    assert_eq!(refusal(call(&keel, "GET", "/tardy/x", "greeter")).await, (504, "ERR_PLUGIN_TIMEOUT".into()));
    let started = Instant::now();
    assert_eq!(
        refusal(call(&keel, "GET", "/echo/slow/5000", "greeter")).await,
        (504, "ERR_PLUGIN_TIMEOUT".into())
    );
    assert!(started.elapsed() < Duration::from_secs(3), "504 took {:?}", started.elapsed());
    // The per-plugin time limit wins (emoji: 300 ms, but this one answers in time).
    assert_eq!(call(&keel, "GET", "/echo/slow/10", "greeter").send().await.unwrap().status(), StatusCode::OK);
    let big = vec![b'x'; 1001];
    let mut res = call(&keel, "POST", "/echo/x", "greeter").send_body(big.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let _ = res.body().await;
    let chunked = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(big))]);
    let res = call(&keel, "POST", "/echo/x", "greeter").send_stream(chunked).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    keel.stop().await.unwrap();

    // keel's sidecar itself gone: keel's own sidecar is unavailable, nothing is known of the plugin.
    let mut cfg =
        Config::local(SidecarConfig { endpoint: "http://127.0.0.1:9".into(), ..Default::default() });
    cfg.router.routes_retry_ms = 20;
    let keel = start(cfg).await.unwrap();
    keel.state.routes.apply(serde_json::from_value(table(1, "ACTIVE")).unwrap());
    assert_eq!(
        refusal(call(&keel, "GET", "/echo/x", "greeter")).await,
        (503, "ERR_SIDECAR_UNAVAILABLE".into())
    );
    keel.stop().await.unwrap();
}

#[actix_web::test]
async fn a_plugin_that_is_not_active_is_503_until_a_push_says_otherwise() {
    let fake = fake_sidecar(None).await;
    let keel = keel(&fake, |_| {}).await;
    let push = |t: Value, from: &str| call(&keel, "PUT", "/v1/routes", from).send_json(&t);
    let res = push(table(2, "FAILED"), "plugins").await.unwrap();
    assert_eq!(json_of(res).await["applied"], true);
    let mut res = call(&keel, "GET", "/echo/x", "greeter").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers().get("retry-after").unwrap(), "5");
    assert_eq!(serde_json::from_slice::<Value>(&res.body().await.unwrap()).unwrap()["status"], "FAILED");
    // Only the registry pushes; stale pushes are ignored.
    assert_eq!(
        refusal(call(&keel, "PUT", "/v1/routes", "greeter")).await,
        (403, "ERR_CALLER_NOT_ALLOWED".into())
    );
    let res = push(table(1, "ACTIVE"), "plugins").await.unwrap();
    assert_eq!(json_of(res).await["applied"], false);
    assert_eq!(
        call(&keel, "GET", "/echo/x", "greeter").send().await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    push(table(3, "ACTIVE"), "plugins").await.unwrap();
    assert_eq!(call(&keel, "GET", "/echo/x", "greeter").send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(keel.routes_version(), Some(3));
    keel.stop().await.unwrap();
}

#[actix_web::test]
async fn boot_waits_for_the_table_and_the_timer_picks_up_missed_pushes() {
    let fake = fake_sidecar(None).await;
    let mut cfg = Config::local(SidecarConfig { endpoint: fake.url(), ..Default::default() });
    cfg.router.routes_retry_ms = 20;
    cfg.router.routes_refresh_ms = 50;
    let keel = start(cfg).await.unwrap();
    let status = |keel: &Running| {
        let req = call(keel, "GET", "/v1/status", "plugins");
        async move { json_of(req.send().await.unwrap()).await["status"].as_str().unwrap().to_owned() }
    };
    assert_eq!(status(&keel).await, "STARTING");
    assert_eq!(refusal(call(&keel, "GET", "/echo/x", "greeter")).await, (503, "ERR_NOT_READY".into()));
    assert_eq!(
        client().get(format!("http://{}/readyz", keel.admin_addr)).send().await.unwrap().status(),
        503
    );
    fake.set_value(ROUTES_KEY, &table(4, "ACTIVE"));
    let started = Instant::now();
    while keel.routes_version() != Some(4) {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(status(&keel).await, "ACTIVE");
    assert_eq!(
        client().get(format!("http://{}/readyz", keel.admin_addr)).send().await.unwrap().status(),
        204
    );
    fake.set_value(ROUTES_KEY, &table(5, "STOPPING"));
    while keel.routes_version() != Some(5) {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        refusal(call(&keel, "GET", "/echo/x", "greeter")).await,
        (503, "ERR_PLUGIN_NOT_ACTIVE".into())
    );
    let v = json_of(call(&keel, "GET", "/v1/routes", "plugins").send().await.unwrap()).await;
    assert_eq!(v["version"], 5);
    assert_eq!(
        refusal(call(&keel, "GET", "/v1/routes", "greeter")).await,
        (403, "ERR_CALLER_NOT_ALLOWED".into())
    );
    keel.stop().await.unwrap();
}

#[actix_web::test]
async fn the_app_token_guards_everything_but_healthz() {
    let fake = fake_sidecar(None).await;
    let keel = keel(&fake, |c| c.app_token = Some("app-secret".into())).await;
    assert_eq!(refusal(call(&keel, "GET", "/echo/x", "greeter")).await, (401, "ERR_APP_TOKEN".into()));
    let wrong = call(&keel, "GET", "/v1/identify", "greeter").insert_header(("dapr-api-token", "nope"));
    assert_eq!(refusal(wrong).await, (401, "ERR_APP_TOKEN".into()));
    let right = call(&keel, "GET", "/echo/x", "greeter").insert_header(("dapr-api-token", "app-secret"));
    let v = json_of(right.send().await.unwrap()).await;
    // keel's app token is not handed on to the plugin.
    assert!(v["headers"].get("dapr-api-token").is_none(), "{v}");
    let health = client().get(format!("http://{}/healthz", keel.app_addr)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::NO_CONTENT);
    // The middleware's refusals pass the logging phase like the handlers' own.
    let mut res = client().get(format!("http://{}/metrics", keel.admin_addr)).send().await.unwrap();
    let text = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    assert!(text.contains("keel_refusals_total{code=\"ERR_APP_TOKEN\"} 2"), "{text}");
    assert!(text.contains("keel_requests_total{plugin=\"-\",class=\"4xx\"} 2"), "{text}");
    keel.stop().await.unwrap();
}

#[actix_web::test]
async fn the_public_port_is_off_by_default_and_never_open_without_verification() {
    let fake = fake_sidecar(None).await;
    let keel_off = keel(&fake, |_| {}).await;
    assert!(keel_off.public_addr.is_none());
    keel_off.stop().await.unwrap();

    let keel_open = keel(&fake, |c| c.router.public_enabled = true).await;
    let url = format!("http://{}/apis/echo/x", keel_open.public_addr.unwrap());
    let req = client().get(&url).insert_header(("authorization", "Bearer good"));
    assert_eq!(refusal(req).await, (401, "ERR_UNAUTHENTICATED".into()));
    let malformed = client().get(format!("http://{}/whatever", keel_open.public_addr.unwrap()));
    assert_eq!(refusal(malformed).await, (401, "ERR_UNAUTHENTICATED".into()));
    keel_open.stop().await.unwrap();

    let keel = keel(&fake, |c| {
        c.router.public_enabled = true;
        c.verifier = Some(Arc::new(gate::tests::Fixed));
    })
    .await;
    let url = format!("http://{}/apis/echo/x?a=1", keel.public_addr.unwrap());
    assert_eq!(refusal(client().get(&url)).await, (401, "ERR_UNAUTHENTICATED".into()));
    let res = client()
        .get(&url)
        .insert_header(("authorization", "Bearer good"))
        .insert_header(("x-keel-user", "root"))
        .insert_header(("x-keel-caller", "plugins"))
        .insert_header(("dapr-app-id", "auth"))
        .insert_header(("dapr-caller-app-id", "plugins"))
        .send()
        .await
        .unwrap();
    let v = json_of(res).await;
    assert_eq!((v["app"].as_str(), v["query"].as_str()), (Some("echo"), Some("a=1")));
    assert_eq!(v["headers"]["x-keel-user"], json!(["ann"]));
    assert_eq!(v["headers"]["x-keel-roles"], json!(["admin,dev"]));
    assert_eq!(v["headers"]["x-keel-tenant"], json!(["t1"]));
    for gone in ["x-keel-caller", "dapr-app-id", "dapr-caller-app-id"] {
        assert!(v["headers"].get(gone).is_none(), "{gone}: {v}");
    }
    let addons = client().get(format!("http://{}/apis/addons/decorate", keel.public_addr.unwrap()));
    assert_eq!(refusal(addons).await, (403, "ERR_ADDONS_INTERNAL_ONLY".into()));
    let secret = client().get(format!("http://{}/apis/secret/x", keel.public_addr.unwrap()));
    assert_eq!(
        refusal(secret.insert_header(("authorization", "Bearer good"))).await,
        (403, "ERR_PLUGIN_NOT_ALLOWED".into())
    );
    keel.stop().await.unwrap();
}

#[actix_web::test]
async fn metrics_count_requests_per_plugin_and_class() {
    let fake = fake_sidecar(None).await;
    let keel = keel(&fake, |_| {}).await;
    call(&keel, "GET", "/echo/x", "greeter").send().await.unwrap();
    call(&keel, "GET", "/nope/x", "greeter").send().await.unwrap();
    let mut res = client().get(format!("http://{}/metrics", keel.admin_addr)).send().await.unwrap();
    let text = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    assert!(text.contains("keel_requests_total{plugin=\"echo\",class=\"2xx\"} 1"), "{text}");
    assert!(text.contains("keel_requests_total{plugin=\"-\",class=\"4xx\"} 1"), "{text}");
    assert!(text.contains("keel_refusals_total{code=\"ERR_UNKNOWN_PLUGIN\"} 1"), "{text}");
    assert!(text.contains("keel_routes_version 1"), "{text}");
    keel.stop().await.unwrap();
}
