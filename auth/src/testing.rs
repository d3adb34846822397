//! Test doubles: an in-memory stand-in for the sidecar's state API (get, save, delete,
//! transactions, with ETags and first-write like daprd), and a harness that boots auth on it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use keel_sdk::dapr::{DaprClient, SidecarConfig};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{bootstrap, keys, AuthState, Config, Store};

/// The password of the harness's super-admin.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// Stored values with their ETags.
#[derive(Default)]
pub struct FakeState {
    /// key → (JSON value, ETag).
    pub items: HashMap<String, (Value, u64)>,
    next_etag: u64,
}

/// The fake sidecar: its URL and what it stores.
pub struct FakeSidecar {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Everything stored.
    pub state: Arc<Mutex<FakeState>>,
    handle: actix_web::dev::ServerHandle,
}

#[derive(Deserialize)]
struct Options {
    concurrency: Option<String>,
}

#[derive(Deserialize)]
struct Save {
    key: String,
    value: Value,
    etag: Option<String>,
    options: Option<Options>,
}

#[derive(Deserialize)]
struct Op {
    operation: String,
    request: Save2,
}

#[derive(Deserialize)]
struct Save2 {
    key: String,
    #[serde(default)]
    value: Value,
    etag: Option<String>,
    options: Option<Options>,
}

fn mismatch(code: &str, status: u16) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(json!({"errorCode": code, "message": "possible etag mismatch"}))
}

impl FakeState {
    /// The stored JSON of `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.items.get(key).map(|(v, _)| v.clone())
    }

    /// Whether a write to `key` with `etag` and `concurrency` may happen (daprd's rules).
    fn allowed(&self, key: &str, etag: &Option<String>, first_write: bool) -> bool {
        let current = self.items.get(key).map(|(_, e)| e.to_string());
        match (etag.as_deref().filter(|e| !e.is_empty()), current) {
            (Some(given), Some(cur)) => given == cur,
            (Some(_), None) => false,
            (None, Some(_)) => !first_write,
            (None, None) => true,
        }
    }

    fn set(&mut self, key: &str, value: Value) {
        self.next_etag += 1;
        self.items.insert(key.to_owned(), (value, self.next_etag));
    }
}

fn key_of(req: &HttpRequest) -> String {
    // /v1.0/state/<store>/<key>, the key percent-encoded (slashes included).
    let raw = req.uri().path().splitn(5, '/').nth(4).unwrap_or("");
    percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

impl FakeSidecar {
    /// Starts it on a free loopback port.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let shared = state.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = HttpServer::new(move || {
            let s = web::Data::new(shared.clone());
            App::new()
                .app_data(s)
                .route("/v1.0/healthz/outbound", web::get().to(HttpResponse::NoContent))
                .route("/v1.0/state/{store}/transaction", web::post().to(transaction))
                .route("/v1.0/state/{store}", web::post().to(save))
                .route("/v1.0/state/{store}/{key:.*}", web::get().to(get))
                .route("/v1.0/state/{store}/{key:.*}", web::delete().to(delete))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Self { url: format!("http://{addr}"), state, handle }
    }

    /// A sidecar client for it.
    pub fn dapr(&self) -> DaprClient {
        DaprClient::new(SidecarConfig { endpoint: self.url.clone(), ..SidecarConfig::default() })
    }

    /// Every stored value as one string, to search for secrets.
    pub fn dump(&self) -> String {
        let state = self.state.lock().unwrap();
        state.items.iter().map(|(k, (v, _))| format!("{k} = {v}\n")).collect()
    }

    /// The stored JSON of `key`.
    pub fn value(&self, key: &str) -> Option<Value> {
        self.state.lock().unwrap().get(key)
    }
}

impl Drop for FakeSidecar {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_rt::spawn(async move { handle.stop(false).await });
    }
}

type FakeData = web::Data<Arc<Mutex<FakeState>>>;

async fn get(req: HttpRequest, s: FakeData) -> HttpResponse {
    let state = s.lock().unwrap();
    match state.items.get(&key_of(&req)) {
        Some((v, etag)) => HttpResponse::Ok().insert_header((header::ETAG, etag.to_string())).json(v),
        None => HttpResponse::NoContent().finish(),
    }
}

async fn save(s: FakeData, body: web::Json<Vec<Save>>) -> HttpResponse {
    let mut state = s.lock().unwrap();
    for item in body.iter() {
        let first = item.options.as_ref().and_then(|o| o.concurrency.as_deref()) == Some("first-write");
        if !state.allowed(&item.key, &item.etag, first) {
            return mismatch("ERR_STATE_SAVE", 409);
        }
    }
    for item in body.into_inner() {
        state.set(&item.key, item.value);
    }
    HttpResponse::NoContent().finish()
}

async fn delete(req: HttpRequest, s: FakeData) -> HttpResponse {
    let mut state = s.lock().unwrap();
    let key = key_of(&req);
    let etag = req.headers().get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if etag.is_some() && !state.allowed(&key, &etag, true) {
        return mismatch("ERR_STATE_DELETE", 409);
    }
    state.items.remove(&key);
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
struct Tx {
    operations: Vec<Op>,
}

async fn transaction(s: FakeData, body: web::Json<Tx>) -> HttpResponse {
    let mut state = s.lock().unwrap();
    for op in &body.operations {
        let first = op.request.options.as_ref().and_then(|o| o.concurrency.as_deref()) == Some("first-write");
        let ok = match op.operation.as_str() {
            "upsert" => state.allowed(&op.request.key, &op.request.etag, first),
            _ => op.request.etag.is_none() || state.allowed(&op.request.key, &op.request.etag, true),
        };
        if !ok {
            return HttpResponse::InternalServerError().json(json!({"errorCode": "ERR_STATE_TRANSACTION",
                "message": "error while executing state transaction: possible etag mismatch. error from state store"}));
        }
    }
    for op in body.into_inner().operations {
        match op.operation.as_str() {
            "upsert" => state.set(&op.request.key, op.request.value),
            _ => {
                state.items.remove(&op.request.key);
            }
        }
    }
    HttpResponse::NoContent().finish()
}

/// Auth booted on a fake sidecar, with cheap Argon2 settings.
pub struct Harness {
    pub fake: FakeSidecar,
    pub shared: web::Data<AuthState>,
    pub store: Store,
}

impl Harness {
    /// The default test configuration, changed by `edit`.
    pub async fn with(edit: impl FnOnce(&mut Config)) -> Self {
        let fake = FakeSidecar::start().await;
        let mut cfg = Config {
            argon2_memory_kib: 64,
            argon2_iterations: 1,
            argon2_parallelism: 1,
            admin_password: Some(ADMIN_PASSWORD.to_owned()),
            clock_leeway_seconds: 0,
            ..Config::default()
        };
        edit(&mut cfg);
        Self::boot(fake, cfg).await
    }

    /// Boots (again) on `fake`: what a restart does.
    pub async fn boot(fake: FakeSidecar, cfg: Config) -> Self {
        let store = Store::new(fake.dapr(), &cfg.store);
        let shared = AuthState::new(cfg).unwrap();
        let ring = keys::load_or_create(&store, keel_sdk::tokens::now_secs()).await.unwrap();
        shared.install_ring(&ring).unwrap();
        shared.reload(&store).await.unwrap();
        bootstrap::run(&shared, &store).await.unwrap();
        Self { fake, shared: web::Data::new(shared), store }
    }

    /// Default settings.
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }
}

/// The app for `actix_web::test`: the same routes `start` serves.
#[macro_export]
macro_rules! test_app {
    ($h:expr) => {
        actix_web::test::init_service(
            actix_web::App::new()
                .app_data($h.shared.clone())
                .app_data(actix_web::web::Data::new($h.store.clone()))
                .configure($crate::api::configure),
        )
        .await
    };
}
