//! A fake Dapr sidecar for other crates' in-process tests (feature `test-util`).
//!
//! It is the stand-in's own HTTP API on a real loopback port, minus the messaging layer: the same
//! pipeline ([`api::admit`]: body cap, `DAPR_API_TOKEN`, chi-style routing) and the same state
//! handlers ([`api::own_api`]) on the stand-in's in-memory store, so ETags, first-write, bulk
//! get, transactions, TTLs, 204 on a missing key and every error body are daprd's. Service
//! invocation is found and normalised by daprd's rules, then answered by a handler the test
//! supplies for the target app-id (or a fallback); an app-id nobody answers for gets daprd's
//! `ERR_DIRECT_INVOKE` "no host found". Calls are counted per app-id and method, and the test can
//! read and write the store directly.
//!
//! # How to use
//! ```text
//! [dev-dependencies]
//! sidecar = { workspace = true, features = ["test-util"] }
//! ```
//! ```text
//! use sidecar::test_util::{FakeSidecar, Invocation};
//!
//! #[actix_web::test]
//! async fn reads_the_table() {
//!     let fake = FakeSidecar::builder("keel")              // the app this sidecar serves
//!         .token("sidecar-token")                          // require DAPR_API_TOKEN
//!         .app("echo", |inv: Invocation| async move { HttpResponse::Ok().body(inv.method) })
//!         .start()
//!         .await;
//!     fake.set_value("keel-routes", &json!({"version": 1})); // as the app would address the key
//!     let dapr = keel_sdk::dapr::DaprClient::new(fake.client_config());
//!     // ... run the code under test against `dapr` / `fake.url()` ...
//!     assert_eq!(fake.calls("echo", "v1/status"), 1);
//! }
//! ```
//! The handler sees the request as the sidecar received it (verb, raw path and query, every
//! header the caller sent), so a test can assert what its client sent; daprd's forwarding rewrite
//! (hop-by-hop strip, `dapr-caller-app-id` stamping) is deliberately not applied. Likewise the
//! handler's response goes back as it is built (daprd's default `Content-Type` on a buffered
//! error answer is not added): what a test asserts about an answer is what its handler made.

use crate::api::{self, errors::ApiError, health::Readiness, Admitted, ApiContext};
use crate::channel::body::{read_all, BodyError, BodyStream, RequestBody};
use crate::components::{Component, ComponentKind};
use crate::config::SidecarConfig;
use crate::golang::json as gojson;
use crate::messaging::{method, target, InvokeError};
use crate::state::memory::MemoryStore;
use crate::state::{BlockingStore, Concurrency, DeleteOp, Item, KeyPrefix, Local, SetOp, Store, Stores};
use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, ResponseError};
use bytes::Bytes;
use futures_util::future::LocalBoxFuture;
use futures_util::stream::{self, StreamExt};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a test answers invocations with.
type Handler = Arc<dyn Fn(Invocation) -> LocalBoxFuture<'static, HttpResponse> + Send + Sync>;

/// One service invocation, as the fake sidecar received it.
pub struct Invocation {
    /// The target app-id, as daprd found it (URL form, `dapr-app-id` header or Basic auth).
    pub app_id: String,
    /// The method as the app would receive it: decoded, `path.Clean`ed, no leading `/`.
    pub method: String,
    /// The request as the caller sent it (headers unfiltered, path and query raw).
    pub request: HttpRequest,
    /// The body, capped at daprd's default `--max-body-size` (4 MiB): past it the stream fails
    /// with `stream too large`.
    pub body: BodyStream,
}

impl Invocation {
    /// Reads the whole body (what is left of it).
    pub async fn body_bytes(&mut self) -> Result<Bytes, BodyError> {
        let rest = std::mem::replace(&mut self.body, stream::empty().boxed_local());
        read_all(RequestBody::Chunked(rest)).await
    }
}

/// Sets up a [`FakeSidecar`].
pub struct Builder {
    app_id: String,
    token: Option<String>,
    store_name: String,
    key_prefix: String,
    handlers: HashMap<String, Handler>,
    fallback: Option<Handler>,
}

/// A running fake sidecar; it serves until [`FakeSidecar::stop`] or the end of the test's
/// actix system.
pub struct FakeSidecar {
    addr: SocketAddr,
    token: Option<String>,
    ctx: web::Data<ApiContext>,
    store_name: String,
    memory: Arc<MemoryStore>,
    apps: web::Data<Apps>,
    handle: ServerHandle,
}

/// The invocation side: handlers by app-id, the fallback and the counters.
struct Apps {
    handlers: HashMap<String, Handler>,
    fallback: Option<Handler>,
    calls: Mutex<HashMap<(String, String), u64>>,
}

// === impl Builder ===

impl Builder {
    /// Requires `dapr-api-token: <token>` on every call but `GET /v1.0/healthz[/outbound]`, as
    /// daprd does with `DAPR_API_TOKEN` set.
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// The state store's name and daprd `keyPrefix` strategy (`appid`, `name`, `namespace`,
    /// `none` or a literal). Default: `statestore` with `keyPrefix: name`, as the platform's
    /// `components/statestore.yaml` declares it.
    pub fn store(mut self, name: &str, key_prefix: &str) -> Self {
        self.store_name = name.to_owned();
        self.key_prefix = key_prefix.to_owned();
        self
    }

    /// Answers invocations of `app_id` with `handler`.
    pub fn app<F, Fut>(mut self, app_id: &str, handler: F) -> Self
    where
        F: Fn(Invocation) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HttpResponse> + 'static,
    {
        self.handlers.insert(app_id.to_owned(), boxed(handler));
        self
    }

    /// Answers invocations of every app-id that has no handler of its own.
    pub fn fallback<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Invocation) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HttpResponse> + 'static,
    {
        self.fallback = Some(boxed(handler));
        self
    }

    /// Binds `127.0.0.1:0` and serves (one worker, no signal handling) on the current actix
    /// system.
    pub async fn start(self) -> FakeSidecar {
        let component = Component {
            name: self.store_name.clone(),
            kind: ComponentKind::StateInMemory,
            type_name: "state.in-memory".into(),
            version: "v1".into(),
            metadata: vec![("keyPrefix".into(), self.key_prefix.clone())],
            file: PathBuf::from("<fake sidecar>"),
            ignore_errors: false,
        };
        let prefix = KeyPrefix::from_component(&component, &self.app_id, None)
            .unwrap_or_else(|e| panic!("fake sidecar: {e}"));
        let memory = Arc::new(MemoryStore::default());
        let store = Store {
            name: component.name,
            type_name: component.type_name,
            version: component.version,
            prefix,
            backend: Arc::new(Local::inline(memory.clone())),
        };
        let mut cfg = SidecarConfig::new(&self.app_id, PathBuf::new());
        cfg.dapr_api_token = self.token.clone();
        let readiness = Readiness::default();
        readiness.set_ready();
        let ctx = web::Data::new(ApiContext {
            app_id: self.app_id,
            cfg: Arc::new(cfg),
            stores: Arc::new(Stores::from_iter([store])),
            secrets: Arc::default(),
            configuration: Arc::default(),
            readiness: Arc::new(readiness),
            extended: Mutex::default(),
            // Nobody listens: `POST /v1.0/shutdown` answers 204 and the fake goes on.
            stop: tokio::sync::mpsc::unbounded_channel().0,
        });
        let apps = web::Data::new(Apps {
            handlers: self.handlers,
            fallback: self.fallback,
            calls: Mutex::default(),
        });

        let listener = TcpListener::bind("127.0.0.1:0").expect("fake sidecar: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("fake sidecar: local address");
        let (server_ctx, server_apps) = (ctx.clone(), apps.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(server_ctx.clone())
                .app_data(server_apps.clone())
                .default_service(web::to(serve))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("fake sidecar: listen")
        .run();
        let handle = server.handle();
        actix_rt::spawn(server);
        FakeSidecar { addr, token: self.token, ctx, store_name: self.store_name, memory, apps, handle }
    }
}

fn boxed<F, Fut>(handler: F) -> Handler
where
    F: Fn(Invocation) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HttpResponse> + 'static,
{
    Arc::new(move |inv| Box::pin(handler(inv)))
}

/// Every request: the stand-in's pipeline, then its own API or the test's invocation handlers.
async fn serve(
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<ApiContext>,
    apps: web::Data<Apps>,
) -> HttpResponse {
    match api::admit(&req, payload, &ctx.cfg) {
        Err(e) => e.error_response(),
        Ok(Admitted { route: Some(route), body, .. }) => api::own_api(&req, route, body, &ctx).await,
        Ok(Admitted { route: None, decoded_path, body }) => apps.invoke(req, &decoded_path, body).await,
    }
}

// === impl Apps ===

impl Apps {
    /// Finds the target and method as daprd does, counts the call, and hands it to its handler.
    async fn invoke(&self, req: HttpRequest, decoded_path: &str, body: RequestBody) -> HttpResponse {
        // No app-id in the header, Basic auth or URL: daprd's 404.
        let Some(target) = target::find(decoded_path, req.headers()) else {
            return ApiError::no_app_id().error_response();
        };
        // A forbidden character in the method: daprd's 500.
        let method = match method::normalize(&target.method) {
            Ok(m) => m,
            Err(e) => return ApiError::direct_invoke(&target.app_id, InvokeError::from(e)).error_response(),
        };
        *self.lock_calls().entry((target.app_id.clone(), method.clone())).or_default() += 1;
        // Nobody answers for the app-id: what daprd says when no sidecar serves it.
        let Some(handler) = self.handlers.get(&target.app_id).or(self.fallback.as_ref()) else {
            return ApiError::direct_invoke(&target.app_id, InvokeError::NoHost).error_response();
        };
        handler(Invocation { app_id: target.app_id, method, request: req, body: body.into_stream() }).await
    }

    fn lock_calls(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), u64>> {
        // Counters stay meaningful after a panicking handler.
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }
}

// === impl FakeSidecar ===

impl FakeSidecar {
    /// A fake sidecar for the app `app_id` (it names the app in error details, and is the key
    /// prefix under `keyPrefix: appid`).
    pub fn builder(app_id: &str) -> Builder {
        Builder {
            app_id: app_id.to_owned(),
            token: None,
            store_name: keel_sdk::protocol::STATE_STORE.to_owned(),
            key_prefix: "name".to_owned(),
            handlers: HashMap::new(),
            fallback: None,
        }
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How a client reaches it: its URL and the token it requires (a 5 s call limit).
    pub fn client_config(&self) -> keel_sdk::dapr::SidecarConfig {
        keel_sdk::dapr::SidecarConfig {
            endpoint: self.url(),
            api_token: self.token.clone(),
            timeout: Duration::from_secs(5),
        }
    }

    /// A sidecar client for it.
    pub fn dapr(&self) -> keel_sdk::dapr::DaprClient {
        keel_sdk::dapr::DaprClient::new(self.client_config())
    }

    /// Invocations of `method` (as the app receives it, e.g. `v1/status`) on `app_id` so far.
    pub fn calls(&self, app_id: &str, method: &str) -> u64 {
        self.apps.lock_calls().get(&(app_id.to_owned(), method.to_owned())).copied().unwrap_or(0)
    }

    /// Invocations of any method on `app_id` so far.
    pub fn calls_to(&self, app_id: &str) -> u64 {
        self.apps.lock_calls().iter().filter(|((app, _), _)| app == app_id).map(|(_, n)| n).sum()
    }

    /// The stored item at `key` (as the app addresses it: the store's prefix is added).
    pub fn item(&self, key: &str) -> Option<Item> {
        let (_, stored) = self.stored(key);
        self.memory.get(&stored).expect("the in-memory store does not fail")
    }

    /// The stored JSON at `key` (as the app addresses it).
    pub fn value(&self, key: &str) -> Option<Value> {
        let item = self.item(key)?;
        Some(serde_json::from_slice(&item.data).expect("stored values are JSON"))
    }

    /// Stores `value` at `key` as a last-write save through the API would (Go's `json.Marshal`
    /// of it, a fresh ETag).
    pub fn set_value(&self, key: &str, value: &Value) {
        let (_, stored) = self.stored(key);
        let op = SetOp {
            key: stored,
            value: gojson::marshal(value),
            etag: None,
            concurrency: Concurrency::LastWrite,
            consistency_strong: false,
            ttl: None,
        };
        self.memory.set(&op).expect("a last-write save does not fail");
    }

    /// Deletes `key`, whatever its ETag.
    pub fn remove(&self, key: &str) {
        let (_, stored) = self.stored(key);
        let op = DeleteOp { key: stored, etag: None, concurrency: Concurrency::LastWrite };
        self.memory.delete(&op).expect("an unconditional delete does not fail");
    }

    /// Every stored item as `key = value` lines, sorted by key (to search for what must not be
    /// stored in clear).
    pub fn dump(&self) -> String {
        let mut items = self.memory.items();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        items
            .iter()
            .map(|(k, i)| {
                format!("{} = {}\n", crate::state::keys::original_key(k), String::from_utf8_lossy(&i.data))
            })
            .collect()
    }

    /// Stops serving (in-flight requests are dropped).
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }

    fn stored(&self, key: &str) -> (&Store, String) {
        let store = self.ctx.stores.get(&self.store_name).expect("the fake has its store");
        let stored = store.prefix.stored_key(key).unwrap_or_else(|e| panic!("fake sidecar: {e}"));
        (store, stored)
    }
}

#[cfg(test)]
mod tests;
