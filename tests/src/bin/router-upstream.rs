//! `router-upstream`: the plugin behind keel in the router's end-to-end tests. It answers the
//! protocol (`/v1/identify`, `/v1/status`) and, on every other path, does what the path says, so a
//! test can see exactly what keel delivered and make keel deal with any kind of answer.
//!
//! - `POST /upstream/status` with a body `ACTIVE`/`FAILED`/...: what `/v1/status` reports;
//! - `/status/<code>`: answers `<code>` with the header `x-upstream: yes`, a `location` for 3xx,
//!   and a small JSON body (none for 204 and 304);
//! - `/slow/<ms>`: answers 200 after `<ms>` milliseconds; `/hang`: never answers;
//! - `/work/<ms>`: like `/slow`, but holding one of `UPSTREAM_CAPACITY` (default 8) slots for
//!   those milliseconds, waiting for one when all are taken: a plugin that can serve only so many
//!   requests per second, for the overload benchmark (`keel-bench overload`);
//! - `/body`: the request body back, as it came, with the request's content type;
//! - `/count`: reads the body as a stream and answers `{"bytes": n, "pattern_ok": bool}`, where
//!   the pattern is byte `i` = `i % 251` (sampled every 4 KiB, so huge bodies stay cheap);
//! - `/download/<n>`: streams `n` bytes of that pattern;
//! - anything else: a JSON description of the request (method, raw path, raw query, every header
//!   with all its values, body length and bytes).

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::RwLock;

/// The byte pattern of `/count` and `/download`.
const PATTERN_MOD: u64 = 251;
/// A chunk holding whole periods of the pattern, so every chunk is the same.
const CHUNK: usize = 251 * 261;

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

async fn identify() -> HttpResponse {
    let id = env("APP_ID").unwrap_or_else(|| "upstream".into());
    HttpResponse::Ok()
        .json(json!({"ret": 0, "msg": "ok", "plugin_id": id, "version": "1.0.0", "keel_version": "1.0"}))
}

async fn status(state: web::Data<RwLock<String>>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"ret": 0, "msg": "ok", "status": *state.read().await}))
}

async fn set_status(state: web::Data<RwLock<String>>, body: String) -> HttpResponse {
    *state.write().await = body.trim().to_owned();
    HttpResponse::NoContent().finish()
}

async fn answer_status(code: web::Path<u16>) -> HttpResponse {
    let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = HttpResponse::build(status);
    res.insert_header(("x-upstream", "yes"));
    if status.is_redirection() {
        res.insert_header(("location", "/moved/here"));
    }
    if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        return res.finish();
    }
    res.json(json!({"ret": -1, "msg": format!("upstream says {}", status.as_u16())}))
}

async fn slow(ms: web::Path<u64>) -> HttpResponse {
    tokio::time::sleep(Duration::from_millis(*ms)).await;
    HttpResponse::Ok().body("slept")
}

async fn work(ms: web::Path<u64>, slots: web::Data<tokio::sync::Semaphore>) -> HttpResponse {
    let Ok(_slot) = slots.acquire().await else { return HttpResponse::ServiceUnavailable().finish() };
    tokio::time::sleep(Duration::from_millis(*ms)).await;
    HttpResponse::Ok().body("worked")
}

async fn hang() -> HttpResponse {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    HttpResponse::Ok().finish()
}

async fn body_back(req: HttpRequest, body: web::Payload) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    if let Some(ct) = req.headers().get("content-type") {
        res.insert_header(("content-type", ct.clone()));
    }
    match body.to_bytes_limited(64 << 20).await {
        Ok(Ok(bytes)) => res.body(bytes),
        _ => HttpResponse::PayloadTooLarge().finish(),
    }
}

async fn count(mut body: web::Payload) -> HttpResponse {
    let (mut n, mut ok) = (0u64, true);
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => return HttpResponse::BadRequest().body(e.to_string()),
        };
        let mut i = (4096 - n % 4096) % 4096;
        while (i as usize) < chunk.len() {
            ok &= u64::from(chunk[i as usize]) == (n + i) % PATTERN_MOD;
            i += 4096;
        }
        n += chunk.len() as u64;
    }
    HttpResponse::Ok().json(json!({"bytes": n, "pattern_ok": ok}))
}

async fn download(n: web::Path<u64>) -> HttpResponse {
    let chunk: Bytes = (0..CHUNK).map(|i| (i as u64 % PATTERN_MOD) as u8).collect::<Vec<u8>>().into();
    let total = *n;
    let stream = futures_util::stream::unfold(0u64, move |sent| {
        let chunk = chunk.clone();
        async move {
            (sent < total).then(|| {
                let len = (total - sent).min(CHUNK as u64) as usize;
                (Ok::<_, std::io::Error>(chunk.slice(..len)), sent + len as u64)
            })
        }
    });
    HttpResponse::Ok().content_type("application/octet-stream").streaming(stream)
}

async fn describe(req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let mut headers = serde_json::Map::new();
    for name in req.headers().keys() {
        let values: Vec<Value> =
            req.headers().get_all(name).map(|v| Value::from(String::from_utf8_lossy(v.as_bytes()))).collect();
        headers.insert(name.to_string(), Value::Array(values));
    }
    HttpResponse::Ok().json(json!({
        "ret": 0, "msg": "ok",
        "plugin": env("APP_ID"),
        "method": req.method().as_str(),
        "path": req.uri().path(),
        "query": req.uri().query(),
        "headers": headers,
        "body_len": body.len(),
        "body": body.to_vec(),
    }))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = env("APP_PORT").and_then(|p| p.parse().ok()).unwrap_or(0);
    let state = web::Data::new(RwLock::new(env("UPSTREAM_STATUS").unwrap_or_else(|| "ACTIVE".into())));
    let capacity = env("UPSTREAM_CAPACITY").and_then(|c| c.parse().ok()).unwrap_or(8);
    // One set of slots for the whole process, shared by its workers.
    let slots = web::Data::new(tokio::sync::Semaphore::new(capacity));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(slots.clone())
            .app_data(web::PayloadConfig::new(64 << 20))
            .route("/v1/identify", web::get().to(identify))
            .route("/v1/status", web::get().to(status))
            .route("/upstream/status", web::post().to(set_status))
            .route("/status/{code}", web::to(answer_status))
            .route("/slow/{ms}", web::to(slow))
            .route("/work/{ms}", web::to(work))
            .route("/hang", web::to(hang))
            .route("/body", web::to(body_back))
            .route("/count", web::to(count))
            .route("/download/{n}", web::get().to(download))
            .default_service(web::to(describe))
    })
    .workers(2)
    .bind(("127.0.0.1", port))?;
    for addr in server.addrs() {
        println!("router-upstream listening addr={addr}");
    }
    server.run().await
}
