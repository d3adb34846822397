//! Helpers shared by the `push_*` end-to-end tests: the registry with its push listener and keel
//! with its public port, behind their sidecars; calls to the push API from a chosen loopback
//! address (so a test can be "another registrant" on one machine); waiting on keel's table.

#![allow(dead_code)]

use std::net::IpAddr;
use std::time::Duration;

use keel_e2e::{client, eventually, AppSpec, Platform};
use serde_json::{json, Value};

/// The registry's app-id.
pub const REGISTRY: &str = "plugins";

/// A platform with the registry (push API on `push_listen`, liveness swept every 300 ms,
/// probes 300 ms, plus `env`) and keel (public port on `public_listen`, routes re-read every
/// 500 ms). Returns the push API's and the public port's base URLs.
pub async fn platform(
    p: &mut Platform,
    push_listen: Option<&str>,
    public_listen: Option<&str>,
    env: &[(&str, &str)],
) -> (String, String) {
    let mut registry = AppSpec::bin(REGISTRY, "plugins-manager")
        .env("KEEL_PUSH__SWEEP_INTERVAL_MS", "300")
        .env("KEEL_PUSH__PROBE_TIMEOUT_MS", "300")
        .env("KEEL_LEASE_MS", "1000")
        .env("KEEL_CORE_RETRY_MAX_MS", "500");
    if let Some(l) = push_listen {
        registry = registry.env("KEEL_PUSH__LISTEN", l);
    }
    for (k, v) in env {
        registry = registry.env(k, *v);
    }
    let push = format!("http://{}", registry.env_value("KEEL_PUSH__LISTEN").unwrap());
    p.start(registry).await;
    let mut keel = AppSpec::keel().env("KEEL_ROUTES_REFRESH_MS", "500").env("KEEL_ROUTES_RETRY_MS", "100");
    if let Some(l) = public_listen {
        keel = keel.env("KEEL_PUBLIC_LISTEN", l);
    }
    let public = format!("http://{}", keel.env_value("KEEL_PUBLIC_LISTEN").unwrap());
    p.start(keel).await;
    // The push listener is up once it answers.
    eventually("the push API answering", Duration::from_secs(30), || async {
        call_from(None, "GET", &format!("{push}/api/registry/services"), None)
            .await
            .filter(|(s, _, _)| *s == 200)
    })
    .await;
    (push, public)
}

/// A client whose connections leave from `from` (a loopback address such as 127.0.0.2), or the
/// default address.
pub fn client_from(from: Option<IpAddr>) -> awc::Client {
    let mut connector = awc::Connector::new().limit(0);
    if let Some(ip) = from {
        connector = connector.local_address(ip);
    }
    awc::Client::builder().connector(connector).disable_redirects().timeout(Duration::from_secs(30)).finish()
}

/// Sends a request (from `from`); `None` when it could not be sent. Status, headers, JSON body
/// (`Null` when not JSON).
pub async fn call_from(
    from: Option<IpAddr>,
    method: &str,
    url: &str,
    body: Option<&Value>,
) -> Option<(u16, awc::http::header::HeaderMap, Value)> {
    let method = awc::http::Method::from_bytes(method.as_bytes()).ok()?;
    let req = client_from(from).request(method, url);
    let mut res = match body {
        Some(b) => req.send_json(b).await,
        None => req.send().await,
    }
    .ok()?;
    let bytes = res.body().limit(16 << 20).await.ok()?;
    Some((
        res.status().as_u16(),
        res.headers().clone(),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

/// [`call_from`] the default address, panicking when the request cannot be sent.
pub async fn call(
    method: &str,
    url: &str,
    body: Option<&Value>,
) -> (u16, awc::http::header::HeaderMap, Value) {
    call_from(None, method, url, body).await.unwrap_or_else(|| panic!("{method} {url}: not sent"))
}

/// The registry's listing entry for `name`, if listed.
pub async fn listed(push: &str, name: &str) -> Option<Value> {
    let (_, _, body) = call("GET", &format!("{push}/api/registry/services"), None).await;
    body["services"].as_array()?.iter().find(|s| s["name"] == name).cloned()
}

/// Waits until `name` is listed with `status`.
pub async fn wait_status(push: &str, name: &str, status: &str) -> Value {
    eventually(&format!("{name} listed as {status}"), Duration::from_secs(30), || async {
        listed(push, name).await.filter(|s| s["status"] == status)
    })
    .await
}

/// Waits until `GET <url>` through the gateway answers `status`; returns headers and body.
pub async fn wait_gateway(url: &str, status: u16) -> (awc::http::header::HeaderMap, Value) {
    eventually(&format!("GET {url} answering {status}"), Duration::from_secs(30), || async {
        call_from(None, "GET", url, None).await.filter(|(s, _, _)| *s == status).map(|(_, h, b)| (h, b))
    })
    .await
}

/// A service outside the mesh, in this process, on a free loopback port: answers every request
/// with what it received (method, path, query, body, and the headers keel vouches or drops).
pub struct Outside {
    /// Its port on 127.0.0.1.
    pub port: u16,
    handle: actix_web::dev::ServerHandle,
}

impl Outside {
    /// Starts it.
    pub fn start() -> Self {
        use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
        async fn echo(req: HttpRequest, body: web::Bytes) -> HttpResponse {
            let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
            HttpResponse::Ok().json(serde_json::json!({
                "method": req.method().as_str(),
                "path": req.path(),
                "query": req.query_string(),
                "body": String::from_utf8_lossy(&body),
                "x-keel-user": header("x-keel-user"),
                "dapr-caller-app-id": header("dapr-caller-app-id"),
                "authorization": header("authorization"),
            }))
        }
        let server = HttpServer::new(|| App::new().default_service(web::to(echo)))
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .expect("bind");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Self { port, handle }
    }

    /// Stops it (connections refused from then on).
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// The guide-shaped registration body for `name` on `port`, with `extra` fields merged in.
pub fn body(name: &str, port: u16, extra: Value) -> Value {
    let mut v = serde_json::json!({
        "name": name, "display_name": name, "description": "", "version": "1.0.0",
        "host": "127.0.0.1", "port": port, "base_path": "/", "metadata": {}, "tags": ["test"],
        "requires_auth": false,
        "endpoints": [{"path": "hello", "method": "GET", "description": "", "is_public": true}],
    });
    if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    v
}

/// Client credentials for `id` in auth (set as the registry sets them, through its sidecar), and
/// its token.
pub async fn client_token(p: &Platform, id: &str) -> String {
    let auth = format!("{}/v1.0/invoke/auth/method", p.dapr_url(REGISTRY));
    let res = client()
        .put(format!("{auth}/v1/clients/{id}"))
        .send_json(&json!({"secret": format!("{id}-secret-12345")}))
        .await
        .unwrap();
    assert!(res.status().is_success(), "client {id}: {}", res.status());
    let secret = format!("{id}-secret-12345");
    let form = [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret.as_str())];
    let mut res = client().post(format!("{auth}/v1/oauth/token")).send_form(&form).await.unwrap();
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap_or_else(|| panic!("token for {id}: {body}")).to_owned()
}
