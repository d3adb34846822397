//! `fake-plugin`: one configurable plugin for end-to-end tests, well-behaved by default and able
//! to misbehave on demand. Listens on `APP_PORT` (any free port when unset).
//!
//! Set at start (environment):
//! - `FAKE_ID`: the `plugin_id` it reports (default `APP_ID`, which the sidecar sets; set another
//!   value to test an id mismatch);
//! - `FAKE_ID_FROM_CALLEE=1`: report instead the app-id each call was addressed to (the
//!   `dapr-callee-app-id` header the sidecar stamps), so one process can stand behind many
//!   sidecars, each with its own app-id (the registry benchmark serves 1,000 plugins this way);
//! - `FAKE_VERSION` (default `1.0.0`), `FAKE_KEEL_VERSION` (default `1.0`);
//! - `FAKE_ADDONS=p1,p2`: the addon points it offers;
//! - `FAKE_IMPLEMENTS=main@1.0:point=hooks/x,point2=hooks/y;other@*:p=e`: points it implements;
//! - `FAKE_PUBLIC=login,docs`: public endpoints;
//! - `FAKE_TIMEOUT_MS=30000`: the `timeout_ms` it asks keel for;
//! - `FAKE_STATUS`: the status it starts with (default `ACTIVE`);
//! - `FAKE_IDENTIFY_BODY`: a raw body served as `/v1/identify` instead of the generated one;
//! - `FAKE_IDENTIFY_HTTP`: the HTTP status of `/v1/identify` (default 200);
//! - `FAKE_IDENTIFY_RET` / `FAKE_IDENTIFY_MSG`: the envelope of `/v1/identify` (default 0 / ok);
//! - `FAKE_IDENTIFY_DELAY_MS`: how long `/v1/identify` takes;
//! - `FAKE_ADDONS_REFUSE=<msg>`: refuse every `/v1/addons/identify` with `ret 1` and this message;
//! - `FAKE_DESC_BYTES=n`: each offered point's `desc` is `n` bytes long (a 3 MB one, say);
//! - `FAKE_DEPENDENCE=base@1.0,other@*`: the plugins it needs (`dependence`);
//! - `FAKE_CONSOLE`: its console entries, a JSON array as `/v1/identify`'s `console`;
//! - `FAKE_TENANT_HOOKS`: how `POST /v1/tenant/enable|disable` answer: `ok` (default), `absent`
//!   (404, as a plugin that does not serve them) or `refuse:<msg>` (`ret 1` with the message).
//!   Every call is recorded with the other requests (`GET /fake/requests`).
//!
//! Changed at run time (on its app port, or through any sidecar as `.../method/fake/...`):
//! - `POST /fake/status` with a body `ACTIVE`/`FAILED`/...: what `/v1/status` reports;
//! - `POST /fake/status-mode` with `ok`, `hang` (never answers) or `error` (HTTP 500);
//! - `GET /fake/addons-calls`: every `/v1/addons/identify` body received, as a JSON array;
//! - `GET /fake/status-calls`: how many `/v1/status` calls it has had, by the app-id that made
//!   each (`dapr-caller-app-id`, which the caller's sidecar stamps; `""` for a call without a
//!   sidecar), as a JSON object: which registry replica polls;
//! - `POST /fake/reply` with `{"status": 403, "body": {...}}`: answer every other request with
//!   that instead of the echo; with `hang`: never answer them; with an empty body: echo again;
//! - `GET /fake/requests`: every other request received (method, path, body as JSON when it is).
//!
//! Every other request is echoed as JSON: method, path, query, headers, body.
//!
//! Each request is logged to stdout as it arrives (`fake-plugin request method=GET path=/x`),
//! so a test can wait for a call to be in flight.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

#[derive(Default)]
struct State {
    status: Mutex<String>,
    mode: Mutex<String>,
    addons_calls: Mutex<Vec<Value>>,
    /// `/v1/status` calls by caller app-id.
    status_calls: Mutex<BTreeMap<String, u64>>,
    /// `None`: echo; `Some(None)`: hang; `Some(Some((status, body)))`: this answer.
    reply: Mutex<Option<Option<(u16, Value)>>>,
    requests: Mutex<Vec<Value>>,
}

struct Settings {
    identify: String,
    /// `FAKE_ID_FROM_CALLEE`: `plugin_id` follows `dapr-callee-app-id`.
    id_from_callee: bool,
    identify_http: u16,
    identify_delay: Duration,
    addons_refuse: Option<String>,
    tenant_hooks: String,
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

fn list(key: &str) -> Vec<String> {
    env(key)
        .map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

/// `main@range:point=endpoint,point=endpoint;main2@range:...`
fn implements(spec: &str) -> Vec<Value> {
    spec.split(';')
        .filter(|s| !s.trim().is_empty())
        .map(|one| {
            let (head, points) = one.split_once(':').unwrap_or((one, ""));
            let (id, range) = head.split_once('@').unwrap_or((head, "*"));
            let endpoints: Vec<Value> = points
                .split(',')
                .filter_map(|p| p.split_once('='))
                .map(|(point, endpoint)| json!({"addons": point.trim(), "endpoint": endpoint.trim()}))
                .collect();
            json!({"id": id.trim(), "version": range.trim(), "endpoints": endpoints})
        })
        .collect()
}

fn identify_body() -> String {
    if let Some(raw) = env("FAKE_IDENTIFY_BODY") {
        return raw;
    }
    let id = env("FAKE_ID").or_else(|| env("APP_ID")).unwrap_or_else(|| "fake".into());
    let desc = match env("FAKE_DESC_BYTES").and_then(|n| n.parse::<usize>().ok()) {
        Some(n) => "d".repeat(n),
        None => "a fake point".into(),
    };
    let addons: Vec<Value> =
        list("FAKE_ADDONS").iter().map(|p| json!({"endpoint": p, "desc": desc})).collect();
    let ret: i64 = env("FAKE_IDENTIFY_RET").and_then(|r| r.parse().ok()).unwrap_or(0);
    let msg = env("FAKE_IDENTIFY_MSG").unwrap_or_else(|| "ok".into());
    json!({
        "ret": ret, "msg": msg,
        "plugin_id": id,
        "version": env("FAKE_VERSION").unwrap_or_else(|| "1.0.0".into()),
        "keel_version": env("FAKE_KEEL_VERSION").unwrap_or_else(|| "1.0".into()),
        "addons": addons,
        "main_plugin": implements(&env("FAKE_IMPLEMENTS").unwrap_or_default()),
        "public_endpoints": list("FAKE_PUBLIC"),
        "timeout_ms": env("FAKE_TIMEOUT_MS").and_then(|t| t.parse::<u64>().ok()),
        "dependence": list("FAKE_DEPENDENCE").iter().map(|d| {
            let (id, range) = d.split_once('@').unwrap_or((d, "*"));
            json!({"id": id, "version": range})
        }).collect::<Vec<_>>(),
        "console": env("FAKE_CONSOLE").and_then(|c| serde_json::from_str::<Value>(&c).ok()).unwrap_or_else(|| json!([])),
    })
    .to_string()
}

async fn identify(req: HttpRequest, settings: web::Data<Settings>) -> HttpResponse {
    if !settings.identify_delay.is_zero() {
        tokio::time::sleep(settings.identify_delay).await;
    }
    let status = StatusCode::from_u16(settings.identify_http).unwrap_or(StatusCode::OK);
    let callee = req.headers().get("dapr-callee-app-id").and_then(|v| v.to_str().ok());
    let body = match (settings.id_from_callee, callee) {
        (true, Some(callee)) => with_plugin_id(&settings.identify, callee),
        _ => settings.identify.clone(),
    };
    HttpResponse::build(status).content_type("application/json").body(body)
}

/// `body` with its `plugin_id` replaced by `id`; unchanged when it is not a JSON object (a raw
/// `FAKE_IDENTIFY_BODY` stays exactly as given).
fn with_plugin_id(body: &str, id: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(mut map)) => {
            map.insert("plugin_id".into(), Value::String(id.to_owned()));
            Value::Object(map).to_string()
        }
        _ => body.to_owned(),
    }
}

async fn status(req: HttpRequest, state: web::Data<State>) -> HttpResponse {
    let caller = req.headers().get("dapr-caller-app-id").and_then(|v| v.to_str().ok()).unwrap_or("");
    *state.status_calls.lock().unwrap_or_else(|e| e.into_inner()).entry(caller.to_owned()).or_default() += 1;
    let mode = state.mode.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match mode.as_str() {
        "hang" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            HttpResponse::Ok().finish()
        }
        "error" => HttpResponse::InternalServerError().json(json!({"ret": 1, "msg": "fake status error"})),
        _ => {
            let s = state.status.lock().unwrap_or_else(|e| e.into_inner()).clone();
            HttpResponse::Ok().json(json!({"ret": 0, "msg": "ok", "status": s}))
        }
    }
}

async fn addons_identify(
    state: web::Data<State>,
    settings: web::Data<Settings>,
    body: web::Bytes,
) -> HttpResponse {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state.addons_calls.lock().unwrap_or_else(|e| e.into_inner()).push(parsed);
    match &settings.addons_refuse {
        Some(msg) => HttpResponse::Ok().json(json!({"ret": 1, "msg": msg})),
        None => HttpResponse::Ok().json(json!({"ret": 0, "msg": "ok"})),
    }
}

async fn tenant_hook(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<State>,
    settings: web::Data<Settings>,
) -> HttpResponse {
    let seen = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    state.requests.lock().unwrap_or_else(|e| e.into_inner()).push(json!({
        "method": req.method().as_str(), "path": req.path(), "body": seen,
    }));
    match settings.tenant_hooks.split_once(':') {
        _ if settings.tenant_hooks == "absent" => {
            HttpResponse::NotFound().json(json!({"ret": -404, "msg": "no such endpoint"}))
        }
        Some(("refuse", msg)) => HttpResponse::Ok().json(json!({"ret": 1, "msg": msg})),
        _ => HttpResponse::Ok().json(json!({"ret": 0, "msg": "ok"})),
    }
}

async fn set_status(state: web::Data<State>, body: String) -> HttpResponse {
    *state.status.lock().unwrap_or_else(|e| e.into_inner()) = body.trim().to_owned();
    HttpResponse::NoContent().finish()
}

async fn set_mode(state: web::Data<State>, body: String) -> HttpResponse {
    *state.mode.lock().unwrap_or_else(|e| e.into_inner()) = body.trim().to_owned();
    HttpResponse::NoContent().finish()
}

async fn addons_calls(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok().json(state.addons_calls.lock().unwrap_or_else(|e| e.into_inner()).clone())
}

async fn status_calls(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok().json(state.status_calls.lock().unwrap_or_else(|e| e.into_inner()).clone())
}

async fn set_reply(state: web::Data<State>, body: String) -> HttpResponse {
    let reply = match body.trim() {
        "" => None,
        "hang" => Some(None),
        text => match serde_json::from_str::<Value>(text) {
            Ok(v) => Some(Some((v["status"].as_u64().unwrap_or(200) as u16, v["body"].clone()))),
            Err(e) => return HttpResponse::BadRequest().body(format!("reply: {e}")),
        },
    };
    *state.reply.lock().unwrap_or_else(|e| e.into_inner()) = reply;
    HttpResponse::NoContent().finish()
}

async fn requests(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok().json(state.requests.lock().unwrap_or_else(|e| e.into_inner()).clone())
}

async fn echo(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let seen = serde_json::from_slice::<Value>(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    state.requests.lock().unwrap_or_else(|e| e.into_inner()).push(json!({
        "method": req.method().as_str(), "path": req.path(), "body": seen,
    }));
    let reply = state.reply.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match reply {
        None => {}
        Some(None) => std::future::pending::<()>().await,
        Some(Some((status, body))) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            return HttpResponse::build(status).json(body);
        }
    }
    let headers: serde_json::Map<String, Value> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (k.as_str().to_owned(), Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
        })
        .collect();
    HttpResponse::Ok().json(json!({
        "ret": 0, "msg": "ok",
        "plugin": env("FAKE_ID").or_else(|| env("APP_ID")),
        "method": req.method().as_str(),
        "path": req.path(),
        "query": req.query_string(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    }))
}

async fn log(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    println!("fake-plugin request method={} path={}", req.method(), req.path());
    next.call(req).await
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = env("APP_PORT").and_then(|p| p.parse().ok()).unwrap_or(0);
    let state = web::Data::new(State {
        status: Mutex::new(env("FAKE_STATUS").unwrap_or_else(|| "ACTIVE".into())),
        mode: Mutex::new("ok".into()),
        addons_calls: Mutex::new(Vec::new()),
        status_calls: Mutex::new(BTreeMap::new()),
        reply: Mutex::new(None),
        requests: Mutex::new(Vec::new()),
    });
    let settings = web::Data::from(Arc::new(Settings {
        identify: identify_body(),
        id_from_callee: env("FAKE_ID_FROM_CALLEE").is_some_and(|v| v == "1" || v == "true"),
        identify_http: env("FAKE_IDENTIFY_HTTP").and_then(|s| s.parse().ok()).unwrap_or(200),
        identify_delay: Duration::from_millis(
            env("FAKE_IDENTIFY_DELAY_MS").and_then(|s| s.parse().ok()).unwrap_or(0),
        ),
        addons_refuse: env("FAKE_ADDONS_REFUSE"),
        tenant_hooks: env("FAKE_TENANT_HOOKS").unwrap_or_else(|| "ok".into()),
    }));
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(log))
            .app_data(state.clone())
            .app_data(settings.clone())
            .route("/v1/identify", web::get().to(identify))
            .route("/v1/status", web::get().to(status))
            .route("/v1/addons/identify", web::post().to(addons_identify))
            .route("/v1/tenant/{hook}", web::post().to(tenant_hook))
            .route("/fake/status", web::post().to(set_status))
            .route("/fake/status-mode", web::post().to(set_mode))
            .route("/fake/addons-calls", web::get().to(addons_calls))
            .route("/fake/status-calls", web::get().to(status_calls))
            .route("/fake/reply", web::post().to(set_reply))
            .route("/fake/requests", web::get().to(requests))
            .default_service(web::to(echo))
    })
    .workers(1)
    // Tests stop it with SIGTERM: do not wait 30 s for idle keep-alive connections.
    .shutdown_timeout(1)
    .bind(("127.0.0.1", port))?;
    for addr in server.addrs() {
        println!("fake-plugin listening addr={addr}");
    }
    server.run().await
}
