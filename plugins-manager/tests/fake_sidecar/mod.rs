//! A fake Dapr sidecar in the test's own process: the state API in memory (ETags, first-write,
//! bulk get, transactions) and service invocation answered for every app-id as if a well-behaved
//! plugin of that name stood behind it, so store races can be driven without child processes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

/// The fake's state and counters.
#[derive(Default)]
pub struct Fake {
    state: Mutex<HashMap<String, (Vec<u8>, String)>>,
    etags: AtomicU64,
    /// `/v1/status` invocations answered.
    pub status_calls: AtomicU64,
}

#[derive(Deserialize)]
struct Options {
    concurrency: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    key: String,
    #[serde(default)]
    value: Value,
    etag: Option<String>,
    options: Option<Options>,
}

#[derive(Deserialize)]
struct Op {
    operation: String,
    request: Item,
}

fn conflict(code: &str, status: u16) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(json!({"errorCode": code, "message": "possible etag mismatch. error from state store"}))
}

impl Fake {
    fn etag(&self) -> String {
        self.etags.fetch_add(1, Ordering::Relaxed).to_string()
    }

    /// Whether a conditional write of `item` may proceed against `state`.
    fn allowed(
        state: &HashMap<String, (Vec<u8>, String)>,
        key: &str,
        etag: &Option<String>,
        opts: &Option<Options>,
    ) -> bool {
        let first_write = opts.as_ref().and_then(|o| o.concurrency.as_deref()) == Some("first-write");
        match (etag, state.get(key)) {
            (Some(want), Some((_, have))) => want == have,
            (Some(_), None) => false,
            (None, Some(_)) => !first_write,
            (None, None) => true,
        }
    }
}

async fn health() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

async fn invoke(fake: web::Data<Fake>, path: web::Path<(String, String)>) -> HttpResponse {
    let (app, method) = path.into_inner();
    match method.as_str() {
        "v1/identify" => HttpResponse::Ok().json(json!({
            "ret": 0, "msg": "ok", "plugin_id": app, "version": "1.0.0", "keel_version": "1.0",
            "addons": [{"endpoint": "hook", "desc": "a point"}]
        })),
        "v1/status" => {
            fake.status_calls.fetch_add(1, Ordering::Relaxed);
            HttpResponse::Ok().json(json!({"ret": 0, "msg": "ok", "status": "ACTIVE"}))
        }
        _ => HttpResponse::Ok().json(json!({"ret": 0, "msg": "ok", "applied": true})),
    }
}

async fn get(fake: web::Data<Fake>, path: web::Path<(String, String)>) -> HttpResponse {
    let state = fake.state.lock().unwrap();
    match state.get(&path.1) {
        Some((value, etag)) => HttpResponse::Ok()
            .insert_header((header::ETAG, etag.clone()))
            .content_type("application/json")
            .body(value.clone()),
        None => HttpResponse::NoContent().finish(),
    }
}

async fn save(fake: web::Data<Fake>, items: web::Json<Vec<Item>>) -> HttpResponse {
    let mut state = fake.state.lock().unwrap();
    for item in items.into_inner() {
        if !Fake::allowed(&state, &item.key, &item.etag, &item.options) {
            return conflict("ERR_STATE_SAVE", 409);
        }
        let etag = fake.etag();
        state.insert(item.key, (item.value.to_string().into_bytes(), etag));
    }
    HttpResponse::NoContent().finish()
}

async fn delete(fake: web::Data<Fake>, path: web::Path<(String, String)>, req: HttpRequest) -> HttpResponse {
    let mut state = fake.state.lock().unwrap();
    let etag = req.headers().get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if etag.is_some() && !Fake::allowed(&state, &path.1, &etag, &None) {
        return conflict("ERR_STATE_DELETE", 409);
    }
    state.remove(&path.1);
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
struct Keys {
    keys: Vec<String>,
}

async fn bulk(fake: web::Data<Fake>, body: web::Json<Keys>) -> HttpResponse {
    let state = fake.state.lock().unwrap();
    let items: Vec<Value> = body
        .keys
        .iter()
        .map(|k| match state.get(k) {
            Some((v, etag)) => json!({"key": k, "data": serde_json::from_slice::<Value>(v).unwrap_or(Value::Null), "etag": etag}),
            None => json!({"key": k}),
        })
        .collect();
    HttpResponse::Ok().json(items)
}

#[derive(Deserialize)]
struct Transaction {
    operations: Vec<Op>,
}

async fn transaction(fake: web::Data<Fake>, body: web::Json<Transaction>) -> HttpResponse {
    let mut state = fake.state.lock().unwrap();
    for op in &body.operations {
        let conditional = op.request.etag.is_some() || op.operation == "upsert";
        if conditional && !Fake::allowed(&state, &op.request.key, &op.request.etag, &op.request.options) {
            return conflict("ERR_STATE_TRANSACTION", 500);
        }
    }
    for op in body.into_inner().operations {
        if op.operation == "delete" {
            state.remove(&op.request.key);
        } else {
            let etag = fake.etag();
            state.insert(op.request.key, (op.request.value.to_string().into_bytes(), etag));
        }
    }
    HttpResponse::NoContent().finish()
}

/// The fake's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::JsonConfig::default().limit(64 << 20))
        .route("/v1.0/healthz", web::get().to(health))
        .route("/v1.0/healthz/outbound", web::get().to(health))
        .route("/v1.0/invoke/{app}/method/{method:.*}", web::to(invoke))
        .route("/v1.0/state/{store}", web::post().to(save))
        .route("/v1.0/state/{store}/bulk", web::post().to(bulk))
        .route("/v1.0/state/{store}/transaction", web::post().to(transaction))
        .route("/v1.0/state/{store}/{key}", web::get().to(get))
        .route("/v1.0/state/{store}/{key}", web::delete().to(delete));
}
