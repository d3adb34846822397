//! The push API's and the gateway's refusals, and liveness: bad bodies, reserved and taken
//! names, hosts off the allow-list (nothing stored), heartbeats and deregistrations from
//! another registrant (a second loopback address, 127.0.0.2, is another client), undeclared
//! paths and methods, tokens; a Keel plugin under `/api/<id>/` as under `/apis/<id>/`; expiry,
//! recovery, a heartbeat's status, eviction, and a registry restart that expires nothing at once.

mod push_support;
mod registry_support;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use keel_e2e::{client, eventually, AppSpec, Platform};
use push_support::{body, call, call_from, listed, wait_gateway, wait_status, Outside, REGISTRY};
use registry_support::{auth, public_base, public_call};
use serde_json::{json, Value};

fn other() -> Option<IpAddr> {
    Some("127.0.0.2".parse().unwrap())
}

async fn register(push: &str, b: &Value) -> (u16, Value) {
    let (s, _, v) = call("POST", &format!("{push}/api/registry/register"), Some(b)).await;
    (s, v)
}

/// A keel refusal: status, `x-keel-error`, code, and a message mentioning `mentions`.
fn refused(
    got: (u16, awc::http::header::HeaderMap, Value),
    status: u16,
    code: &str,
    mentions: &str,
) -> Value {
    let (s, headers, b) = got;
    assert_eq!(s, status, "{b}");
    assert_eq!(headers.get("x-keel-error").map(|v| v.as_bytes()), Some(&b"1"[..]), "{b}");
    assert_eq!(b["code"], code, "{b}");
    assert!(b["msg"].as_str().unwrap_or("").contains(mentions), "{mentions:?} not in {b}");
    b
}

/// The super-admin's token (`registry_support::auth`'s password), once auth answers through
/// keel's public port and keel accepts its tokens.
async fn admin_token(p: &Platform) -> String {
    eventually("a token keel accepts", Duration::from_secs(30), || async {
        let form = [("grant_type", "password"), ("username", "admin"), ("password", "bootstrap-password-1")];
        let url = format!("{}/apis/auth/v1/oauth/token", public_base(p));
        let mut res = client().post(url).send_form(&form).await.ok()?;
        let body: Value = res.json().await.ok()?;
        let token = body["access_token"].as_str()?.to_owned();
        (public_call(p, "GET", "/apis/plugins/v1/plugins", &token, None).await.0 == 200).then_some(token)
    })
    .await
}

#[actix_rt::test]
async fn bad_registrations_are_refused_and_store_nothing() {
    let mut p = Platform::new();
    let (push, _) = push_support::platform(&mut p, None, None, &[]).await;
    let url = format!("{push}/api/registry/register");
    let push_port: u16 = push.rsplit(':').next().and_then(|p| p.parse().ok()).expect("the push port");
    let raw =
        client().post(&url).insert_header(("content-type", "application/json")).send_body("{not json").await;
    assert_eq!(raw.unwrap().status().as_u16(), 400);
    let cases = [
        (json!({"name": "svc", "host": "127.0.0.1"}), 400, "ERR_BAD_BODY", "port"),
        (body("Bad_Name", 1, json!({})), 400, "ERR_BAD_BODY", "name"),
        (
            body("svc", 1, json!({"endpoints": [{"path": "x", "method": "FETCH"}]})),
            400,
            "ERR_BAD_BODY",
            "FETCH",
        ),
        (body("svc", 1, json!({"base_path": "/../admin"})), 400, "ERR_BAD_BODY", "base_path"),
        (body("svc", 1, json!({"heartbeat_interval": 600})), 400, "ERR_BAD_BODY", "evict_after_ms"),
        (body("auth", 1, json!({})), 403, "ERR_RESERVED_ID", "auth"),
        (body("svc", 80, json!({"host": "169.254.169.254"})), 403, "ERR_FORBIDDEN", "169.254.169.254"),
        (body("svc", 80, json!({"host": "10.0.0.1"})), 403, "ERR_FORBIDDEN", "not allowed"),
        (body("svc", 80, json!({"host": "metadata.internal"})), 403, "ERR_FORBIDDEN", "allowed_hosts"),
        // The platform's own listeners on loopback: the stock sidecar port, the push listener.
        (body("svc", 3500, json!({})), 403, "ERR_FORBIDDEN", "denied_ports"),
        (body("svc", push_port, json!({"host": "localhost"})), 403, "ERR_FORBIDDEN", "denied_ports"),
    ];
    for (b, status, code, mentions) in cases {
        refused(call("POST", &url, Some(&b)).await, status, code, mentions);
    }
    let (_, _, all) = call("GET", &format!("{push}/api/registry/services"), None).await;
    assert!(all["services"].as_array().unwrap().iter().all(|s| s["kind"] != "pushed"), "{all}");
}

#[actix_rt::test]
async fn a_name_belongs_to_its_registrant_and_plugins_keep_theirs() {
    let mut p = Platform::new();
    let (push, _) = push_support::platform(&mut p, None, None, &[]).await;
    let svc = Outside::start();
    let b = body("svc", svc.port, json!({}));
    assert_eq!(register(&push, &b).await.0, 201);
    // The same registrant again is an update (a restarted service re-registers).
    let (s, v) = register(&push, &body("svc", svc.port, json!({"version": "1.1.0"}))).await;
    assert_eq!((s, v["service"]["version"].as_str()), (200, Some("1.1.0")));
    // Another client: its registration of the name is a conflict, its heartbeat and its
    // deregistration are refused.
    let url = format!("{push}/api/registry/register");
    refused(call_from(other(), "POST", &url, Some(&b)).await.unwrap(), 409, "ERR_CONFLICT", "another client");
    let beat = json!({"service_id": "svc", "status": "healthy"});
    let hb = format!("{push}/api/registry/heartbeat");
    refused(call_from(other(), "POST", &hb, Some(&beat)).await.unwrap(), 403, "ERR_FORBIDDEN", "heartbeats");
    let dereg = format!("{push}/api/registry/deregister/svc");
    refused(call_from(other(), "POST", &dereg, None).await.unwrap(), 403, "ERR_FORBIDDEN", "deregister");
    assert!(listed(&push, "svc").await.is_some());
    // Unknown names.
    refused(call("POST", &hb, Some(&json!({"service_id": "nobody"}))).await, 404, "ERR_NOT_FOUND", "nobody");
    refused(call("POST", &hb, Some(&json!({"status": "healthy"}))).await, 400, "ERR_BAD_BODY", "service_id");
    // One name, one registrant, whichever way in: a pushed service's name is refused to pull
    // registration (and listed once), a Keel plugin's to push.
    p.start(AppSpec::bin("fp", "fake-plugin")).await;
    let plugins = format!("{}/v1/plugins", p.app_url(REGISTRY));
    assert_eq!(register(&push, &body("fp", svc.port, json!({}))).await.0, 201);
    let pull = json!({"id": "fp"});
    refused(call("POST", &plugins, Some(&pull)).await, 409, "ERR_CONFLICT", "registered by push");
    let (_, _, all) = call("GET", &plugins, None).await;
    let fps: Vec<&Value> = all["plugins"].as_array().unwrap().iter().filter(|v| v["id"] == "fp").collect();
    assert_eq!((fps.len(), fps.first().and_then(|v| v["kind"].as_str())), (1, Some("pushed")), "{all}");
    assert_eq!(call("POST", &format!("{push}/api/registry/deregister/fp"), None).await.0, 200);
    let (s, _, v) = call("POST", &plugins, Some(&pull)).await;
    assert_eq!(s, 201, "{v}");
    // The registry's listing has the Keel plugin too, by its kind, and filters by tag.
    let entry = eventually("fp listed", Duration::from_secs(10), || listed(&push, "fp")).await;
    assert_eq!((entry["kind"].as_str(), entry["gateway_path"].as_str()), (Some("plugin"), Some("/api/fp/")));
    let names = |tag: &'static str| {
        let url = format!("{push}/api/registry/services?tag={tag}");
        async move {
            let (s, _, v) = call("GET", &url, None).await;
            assert_eq!(s, 200, "{v}");
            let all = v["services"].as_array().unwrap_or_else(|| panic!("{v}"));
            all.iter().filter_map(|s| s["name"].as_str().map(str::to_owned)).collect::<Vec<_>>()
        }
    };
    assert_eq!(names("test").await, ["svc"]);
    assert!(names("nope").await.is_empty());
    refused(
        call("POST", &url, Some(&body("fp", svc.port, json!({})))).await,
        409,
        "ERR_CONFLICT",
        "Keel plugin",
    );
    // The registrant deregisters; the name is free again.
    assert_eq!(call("POST", &dereg, None).await.0, 200);
    assert!(listed(&push, "svc").await.is_none());
    assert_eq!(call_from(other(), "POST", &url, Some(&b)).await.unwrap().0, 201);
}

#[actix_rt::test]
async fn the_gateway_routes_declared_endpoints_only_and_asks_tokens_where_declared() {
    let mut p = Platform::new();
    p.start(auth()).await;
    let (push, public) = push_support::platform(&mut p, None, None, &[]).await;
    let svc = Outside::start();
    let b = body(
        "shop",
        svc.port,
        json!({"base_path": "/v2", "requires_auth": true, "endpoints": [
            {"path": "open", "method": "GET", "is_public": true},
            {"path": "items", "method": "GET"},
            {"path": "items", "method": "POST", "is_public": true},
        ]}),
    );
    assert_eq!(register(&push, &b).await.0, 201);
    let (_, seen) = wait_gateway(&format!("{public}/api/shop/open?a=1&b=%20x"), 200).await;
    assert_eq!((seen["path"].as_str(), seen["query"].as_str()), (Some("/v2/open"), Some("a=1&b=%20x")));
    assert_eq!(seen["dapr-caller-app-id"], Value::Null, "a non-Dapr endpoint gets no Dapr identity");
    // Below a declared path, with a body, the declared method.
    let r = client()
        .post(format!("{public}/api/shop/items/5"))
        .send_body("hi")
        .await
        .unwrap()
        .json::<Value>()
        .await;
    let r = r.unwrap();
    assert_eq!(
        (r["method"].as_str(), r["path"].as_str(), r["body"].as_str()),
        (Some("POST"), Some("/v2/items/5"), Some("hi"))
    );
    // Not public in a service that requires auth: a token is needed, and with one the caller
    // is vouched as on /apis/ (x-keel-user), the token itself kept from the service.
    refused(call("GET", &format!("{public}/api/shop/items"), None).await, 401, "ERR_UNAUTHENTICATED", "");
    let token = admin_token(&p).await;
    let (s, seen) = public_call(&p, "GET", "/api/shop/items?x=1", &token, None).await;
    assert_eq!(
        (s, seen["path"].as_str(), seen["query"].as_str()),
        (200, Some("/v2/items"), Some("x=1")),
        "{seen}"
    );
    assert_eq!(seen["x-keel-user"], "admin", "{seen}");
    assert!(seen["authorization"].is_null(), "the token stays with keel: {seen}");
    // A service with requires_auth false: its endpoints pass without a token, public or not.
    let loose = json!({"requires_auth": false, "endpoints": [{"path": "inner", "method": "GET", "is_public": false}]});
    assert_eq!(register(&push, &body("loose", svc.port, loose)).await.0, 201);
    let (_, seen) = wait_gateway(&format!("{public}/api/loose/inner"), 200).await;
    assert_eq!((seen["path"].as_str(), seen["x-keel-user"].as_str()), (Some("/inner"), None), "{seen}");
    // Declared path, other method: 405 with Allow.
    let got = call("DELETE", &format!("{public}/api/shop/items/5"), None).await;
    assert_eq!(got.1.get("allow").and_then(|v| v.to_str().ok()), Some("GET, POST"));
    refused(got, 405, "ERR_METHOD_NOT_ALLOWED", "shop");
    // Undeclared paths (a prefix is not a segment), unknown names, dot segments.
    refused(call("GET", &format!("{public}/api/shop/itemsx"), None).await, 404, "ERR_NOT_FOUND", "shop");
    refused(call("GET", &format!("{public}/api/shop/"), None).await, 404, "ERR_NOT_FOUND", "shop");
    refused(call("GET", &format!("{public}/api/nobody/x"), None).await, 404, "ERR_NOT_FOUND", "nobody");
    refused(call("GET", &format!("{public}/api/shop/open/%2e%2e/x"), None).await, 400, "ERR_BAD_PATH", "");
    // A Keel plugin under /api/<id>/ is exactly /apis/<id>/: its public endpoints without a
    // token, the rest with one, vouched the same way.
    p.start(AppSpec::bin("fp", "fake-plugin").env("FAKE_PUBLIC", "docs")).await;
    let (s, _, v) =
        call("POST", &format!("{}/v1/plugins", p.app_url(REGISTRY)), Some(&json!({"id": "fp"}))).await;
    assert_eq!(s, 201, "{v}");
    let (_, apis) = eventually("keel routes fp", Duration::from_secs(30), || async {
        let got = public_call(&p, "GET", "/apis/fp/items/7?q=1", &token, None).await;
        (got.0 == 200).then_some(got)
    })
    .await;
    let (s, api) = public_call(&p, "GET", "/api/fp/items/7?q=1", &token, None).await;
    assert_eq!(s, 200, "{api}");
    for field in ["plugin", "method", "path", "query"] {
        assert_eq!(api[field], apis[field], "{field}: {api} vs {apis}");
    }
    assert_eq!(api["headers"]["x-keel-user"], "admin", "{api}");
    assert_eq!(api["headers"]["x-keel-user"], apis["headers"]["x-keel-user"], "{api} vs {apis}");
    assert!(api["headers"].get("authorization").is_none(), "{api}");
    let (s, _, docs) = call("GET", &format!("{public}/api/fp/docs"), None).await;
    assert_eq!((s, docs["path"].as_str()), (200, Some("/docs")), "{docs}");
    refused(call("GET", &format!("{public}/api/fp/items/7"), None).await, 401, "ERR_UNAUTHENTICATED", "");
    // A service that gave a health_check_url is probed (through the registry's sidecar).
    let probed = json!({"health_check_url": "/health"});
    assert_eq!(register(&push, &body("probed", svc.port, probed)).await.0, 201);
    wait_gateway(&format!("{public}/api/probed/hello"), 200).await;
    // The service gone: keel's sidecar cannot invoke it, and the probed one's failing probes
    // make it UNREACHABLE (503) long before a heartbeat is missed (30 s by default).
    svc.stop().await;
    refused(
        call("GET", &format!("{public}/api/shop/open"), None).await,
        502,
        "ERR_PLUGIN_UNREACHABLE",
        "shop",
    );
    wait_status(&push, "probed", "UNREACHABLE").await;
    let (headers, b) = wait_gateway(&format!("{public}/api/probed/hello"), 503).await;
    assert!(headers.contains_key("retry-after"), "{b}");
}

#[actix_rt::test]
async fn silence_expires_a_heartbeat_restores_a_bad_status_blocks_and_long_silence_evicts() {
    let mut p = Platform::new();
    let env = [("KEEL_PUSH__HEARTBEAT_INTERVAL_MS", "1000"), ("KEEL_PUSH__EVICT_AFTER_MS", "6000")];
    let (push, public) = push_support::platform(&mut p, None, None, &env).await;
    let svc = Outside::start();
    let started = Instant::now();
    assert_eq!(register(&push, &body("beat", svc.port, json!({"heartbeat_interval": 1}))).await.0, 201);
    let hello = format!("{public}/api/beat/hello");
    wait_gateway(&hello, 200).await;
    // Three intervals without a heartbeat: UNREACHABLE, 503 with Retry-After.
    wait_status(&push, "beat", "UNREACHABLE").await;
    // Not before the TTL (3 × 1 s from the registration), nor much after: a few 300 ms sweeps.
    let expired = started.elapsed();
    assert!((Duration::from_secs(3)..Duration::from_secs(6)).contains(&expired), "expired after {expired:?}");
    // Listed by the guide's words for it, and not by the other's.
    let by_status = |word: &'static str| {
        let url = format!("{push}/api/registry/services?status={word}");
        async move {
            let (_, _, v) = call("GET", &url, None).await;
            v["services"].as_array().is_some_and(|a| a.iter().any(|s| s["name"] == "beat"))
        }
    };
    assert!(by_status("unhealthy").await && by_status("UNREACHABLE").await);
    assert!(!by_status("healthy").await);
    let (headers, b) = wait_gateway(&hello, 503).await;
    assert!(headers.contains_key("retry-after"), "{b}");
    assert_eq!(
        (b["code"].as_str(), b["status"].as_str()),
        (Some("ERR_PLUGIN_NOT_ACTIVE"), Some("UNREACHABLE"))
    );
    // A heartbeat brings it back at once: keel has the change when the heartbeat is answered.
    let hb = format!("{push}/api/registry/heartbeat");
    let (s, _, v) = call("POST", &hb, Some(&json!({"service_id": "beat", "status": "healthy"}))).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("ACTIVE")));
    assert_eq!(call("GET", &hello, None).await.0, 200);
    // A status other than healthy blocks it.
    call("POST", &hb, Some(&json!({"service_id": "beat", "status": "unhealthy"}))).await;
    let (_, _, b) = call("GET", &hello, None).await;
    assert_eq!(b["status"], "FAILED", "{b}");
    // Long silence: evicted, the name unknown to the gateway.
    let silent = Instant::now();
    eventually("beat evicted", Duration::from_secs(30), || async {
        listed(&push, "beat").await.is_none().then_some(())
    })
    .await;
    // About evict_after_ms (6 s) after the last heartbeat, just before `silent`.
    let evicted = silent.elapsed();
    assert!((Duration::from_secs(5)..Duration::from_secs(9)).contains(&evicted), "evicted after {evicted:?}");
    wait_gateway(&hello, 404).await;
}

#[actix_rt::test]
async fn a_registry_restart_keeps_every_service_and_grants_one_ttl_of_grace() {
    let mut p = Platform::new();
    let (push, public) = push_support::platform(&mut p, None, None, &[]).await;
    let svc = Outside::start();
    let registered = Instant::now();
    assert_eq!(register(&push, &body("kept", svc.port, json!({"heartbeat_interval": 2}))).await.0, 201);
    let stopped = p.stop(REGISTRY);
    // Down for longer than the service's TTL (3 × 2 s) without a heartbeat.
    while registered.elapsed() < Duration::from_secs(7) {
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    p.restart(stopped).await;
    let entry = eventually("the push API back", Duration::from_secs(30), || async {
        call_from(None, "GET", &format!("{push}/api/registry/services/kept"), None)
            .await
            .filter(|(s, _, _)| *s == 200)
    })
    .await
    .2;
    // Persisted, and not expired on the spot: the grace counts from the registry's boot.
    assert_eq!(entry["service"]["status"], "ACTIVE", "{entry}");
    assert_eq!(call("GET", &format!("{public}/api/kept/hello"), None).await.0, 200);
    // After the grace, the silence counts.
    wait_status(&push, "kept", "UNREACHABLE").await;
}
