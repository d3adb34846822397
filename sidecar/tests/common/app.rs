//! An in-process HTTP app for the sidecar to call: echoes what it received as JSON, and has a few
//! special paths (status codes, redirects, empty bodies, hanging, large streamed bodies, a
//! switchable `/healthz`). Runs on its own thread with its own actix system.

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What the app has seen, for assertions.
#[derive(Default)]
pub struct AppState {
    /// What `/healthz` answers (200 when true, 503 when false).
    pub healthy: AtomicBool,
    /// How many health probes arrived.
    pub probes: AtomicUsize,
    /// Headers of the last health probe.
    pub probe_headers: Mutex<Vec<(String, String)>>,
    /// Calls to `/hang` that started.
    pub hang_started: AtomicUsize,
    /// Calls to `/hang` whose connection went away.
    pub hang_dropped: AtomicUsize,
    /// Bytes received by the last `/count` call.
    pub counted: AtomicU64,
}

/// A running app.
pub struct EchoApp {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// What it saw.
    pub state: Arc<AppState>,
    handle: Option<actix_web::dev::ServerHandle>,
}

/// Starts the app on a free port.
pub fn start() -> EchoApp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = Arc::new(AppState { healthy: AtomicBool::new(true), ..Default::default() });
    let (tx, rx) = std::sync::mpsc::channel();
    let st = state.clone();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let data = web::Data::from(st);
            let server =
                HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(handle)))
                    .workers(1)
                    .disable_signals()
                    // Drop a handler as soon as its caller goes away (the /hang test watches this).
                    .h1_allow_half_closed(false)
                    .listen(listener)
                    .unwrap()
                    .run();
            tx.send(server.handle()).unwrap();
            let _ = server.await;
        })
    });
    let handle = rx.recv().unwrap();
    EchoApp { port, state, handle: Some(handle) }
}

impl EchoApp {
    /// Stops the app (its port then refuses connections).
    pub fn stop(&mut self) {
        if let Some(h) = self.handle.take() {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(h.stop(false));
        }
    }
}

impl Drop for EchoApp {
    fn drop(&mut self) {
        self.stop();
    }
}

struct HangGuard(Arc<AppState>);

impl Drop for HangGuard {
    fn drop(&mut self) {
        self.0.hang_dropped.fetch_add(1, Ordering::SeqCst);
    }
}

fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    req.query_string().split('&').find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (k == name).then(|| v.to_owned())
    })
}

/// A body of `n` bytes (a repeating pattern) produced 64 KiB at a time.
pub fn pattern_stream(n: u64) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    futures_util::stream::unfold(n, move |left| {
        let chunk = chunk.clone();
        async move {
            if left == 0 {
                return None;
            }
            let take = left.min(chunk.len() as u64);
            Some((Ok(chunk.slice(..take as usize)), left - take))
        }
    })
}

async fn handle(req: HttpRequest, mut body: web::Payload, st: web::Data<AppState>) -> HttpResponse {
    let path = req.uri().path().to_owned();
    match path.as_str() {
        "/healthz" => {
            st.probes.fetch_add(1, Ordering::SeqCst);
            *st.probe_headers.lock().unwrap() = req
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect();
            if st.healthy.load(Ordering::SeqCst) {
                HttpResponse::Ok().body("ok")
            } else {
                HttpResponse::ServiceUnavailable().body("down")
            }
        }
        p if p.starts_with("/status/") => {
            let code: u16 = p["/status/".len()..].parse().unwrap_or(500);
            let mut resp = HttpResponse::build(StatusCode::from_u16(code).unwrap());
            resp.insert_header(("x-app", "yes"));
            if query_param(&req, "noct").is_none() {
                resp.insert_header(("content-type", "text/plain"));
            }
            if code == 204 || code == 304 {
                return resp.finish();
            }
            resp.body(format!("status {code}"))
        }
        "/redirect" => HttpResponse::Found().insert_header(("location", "/elsewhere")).body("moved"),
        "/empty" => HttpResponse::Ok().finish(),
        "/hang" => {
            st.hang_started.fetch_add(1, Ordering::SeqCst);
            let _guard = HangGuard(st.clone().into_inner());
            std::future::pending::<()>().await;
            HttpResponse::Ok().finish()
        }
        "/big" => {
            let n: u64 = query_param(&req, "bytes").and_then(|b| b.parse().ok()).unwrap_or(0);
            HttpResponse::Ok().content_type("application/octet-stream").streaming(pattern_stream(n))
        }
        "/count" => {
            let mut total = 0u64;
            while let Some(chunk) = body.next().await {
                match chunk {
                    Ok(c) => total += c.len() as u64,
                    Err(_) => break,
                }
            }
            st.counted.store(total, Ordering::SeqCst);
            match query_param(&req, "reply").and_then(|b| b.parse::<u64>().ok()) {
                Some(n) => {
                    HttpResponse::Ok().content_type("application/octet-stream").streaming(pattern_stream(n))
                }
                None => HttpResponse::Ok().content_type("text/plain").body(total.to_string()),
            }
        }
        _ => {
            let mut bytes = Vec::new();
            while let Some(Ok(chunk)) = body.next().await {
                bytes.extend_from_slice(&chunk);
            }
            let headers: Vec<(String, String)> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("<bin>").to_owned()))
                .collect();
            let decoded = percent_encoding::percent_decode_str(&path).decode_utf8_lossy().into_owned();
            HttpResponse::Ok().content_type("application/json").json(json!({
                "method": req.method().as_str(),
                "path": path,
                "decoded": decoded,
                "query": req.query_string(),
                "headers": headers,
                "body": String::from_utf8_lossy(&bytes),
            }))
        }
    }
}

/// What the echo app answered: helpers over its JSON.
pub struct Echo(pub serde_json::Value);

impl Echo {
    /// Parses an echo response body.
    pub fn of(resp: &super::http::Resp) -> Self {
        assert_eq!(resp.status, 200, "echo failed: {} {}", resp.status, resp.text());
        Echo(resp.json())
    }

    /// Every value of a header the app received.
    pub fn headers(&self, name: &str) -> Vec<String> {
        self.0["headers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
            .map(|h| h[1].as_str().unwrap().to_owned())
            .collect()
    }

    /// The first value of a header the app received.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers(name).into_iter().next()
    }

    /// A string field (`method`, `path`, `decoded`, `query`, `body`).
    pub fn field(&self, name: &str) -> String {
        self.0[name].as_str().unwrap().to_owned()
    }
}
