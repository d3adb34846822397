//! `broken-plugin`: a plugin that breaks the protocol on demand, for `keelctl plugin check`'s
//! tests. Without flags it conforms: `broken` 1.0.0 offering the point `p`, ACTIVE, errors with
//! the envelope. Listens on `APP_PORT`.
//!
//! `--fault <name>` (repeatable) selects what it breaks:
//! - identify: `id-mismatch` (reports `someone-else`), `bad-id` (`Bad_Id`), `reserved-id`
//!   (`auth`), `bad-version` (`latest`), `partial-version` (`1.0`), `no-keel-version`,
//!   `future-keel` (`99.0`), `aliases` (tKeel's names), `misspelt` (an `addon` field),
//!   `no-envelope`, `identify-ret` (`ret` 1), `identify-500`, `identify-text` (not JSON),
//!   `identify-shape` (a number for `version`), `identify-content-type` (JSON sent as text),
//!   `identify-slow` (3 s), `identify-hang` (never answers);
//! - addons identify: `addons-missing` (not served), `addons-refuse` (`ret` 1 with a `msg`),
//!   `addons-refuse-silently` (`ret` 1, no `msg`), `addons-bare-ok` (200 with no body),
//!   `addons-garbage-ok` (says yes to anything), `addons-500`, `addons-hang`;
//! - status: `status-bad` (`RUNNING`), `status-starting`, `status-slow` (1.5 s), `status-500`,
//!   `status-ret` (`ret` 1), `status-hang`;
//! - errors: `bare-404` (unknown paths answer 404 with no body), `unknown-ret-zero` (404 with
//!   `ret` 0), `unknown-hang` (never answers an unknown path), `large-hang` (never answers a
//!   large body), `large-crash` (exits on a large body).
//!
//! `GET /healthz` always answers 204, so a test can wait for it whatever the faults.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::json;

type Faults = Arc<HashSet<String>>;

const KNOWN: &[&str] = &[
    "id-mismatch",
    "bad-id",
    "reserved-id",
    "bad-version",
    "partial-version",
    "no-keel-version",
    "future-keel",
    "aliases",
    "misspelt",
    "no-envelope",
    "identify-ret",
    "identify-500",
    "identify-text",
    "identify-shape",
    "identify-content-type",
    "identify-slow",
    "identify-hang",
    "addons-refuse-silently",
    "addons-bare-ok",
    "addons-hang",
    "status-ret",
    "status-hang",
    "unknown-ret-zero",
    "unknown-hang",
    "addons-missing",
    "addons-refuse",
    "addons-garbage-ok",
    "addons-500",
    "status-bad",
    "status-starting",
    "status-slow",
    "status-500",
    "bare-404",
    "large-hang",
    "large-crash",
];

fn faults() -> Result<HashSet<String>, String> {
    let mut faults = HashSet::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--fault" => {
                let name = args.next().ok_or("--fault needs a name")?;
                if !KNOWN.contains(&name.as_str()) {
                    return Err(format!("unknown fault {name:?}; known: {}", KNOWN.join(", ")));
                }
                faults.insert(name);
            }
            other => return Err(format!("unknown argument {other:?}; use --fault <name>")),
        }
    }
    Ok(faults)
}

async fn never() -> HttpResponse {
    std::future::pending::<()>().await;
    HttpResponse::Ok().finish()
}

async fn identify(faults: web::Data<Faults>) -> HttpResponse {
    let has = |f: &str| faults.contains(f);
    if has("identify-hang") {
        return never().await;
    }
    if has("identify-slow") {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    if has("identify-500") {
        return HttpResponse::InternalServerError().json(json!({"ret": 500, "msg": "identify is broken"}));
    }
    if has("identify-text") {
        return HttpResponse::Ok().content_type("text/plain").body("hello");
    }
    let id = match () {
        _ if has("id-mismatch") => "someone-else",
        _ if has("bad-id") => "Bad_Id",
        _ if has("reserved-id") => "auth",
        _ => "broken",
    };
    let version = match () {
        _ if has("bad-version") => "latest",
        _ if has("partial-version") => "1.0",
        _ => "1.0.0",
    };
    let mut doc = json!({"ret": 0, "msg": "ok", "plugin_id": id, "version": version, "keel_version": "1.0",
        "addons": [{"endpoint": "p", "desc": "a point"}]});
    if has("future-keel") {
        doc["keel_version"] = json!("99.0");
    }
    if has("no-keel-version") {
        doc.as_object_mut().map(|o| o.remove("keel_version"));
    }
    if has("aliases") {
        let o = doc.as_object_mut().expect("an object");
        o.remove("addons");
        let keel_version = o.remove("keel_version").unwrap_or(json!("1.0"));
        o.insert("tkeel_version".into(), keel_version);
        o.insert("addons_points".into(), json!([{"addons_point": "p", "desc": "a point"}]));
    }
    if has("misspelt") {
        doc["addon"] = json!([{"endpoint": "q"}]);
    }
    if has("no-envelope") {
        doc.as_object_mut().map(|o| (o.remove("ret"), o.remove("msg")));
    }
    if has("identify-ret") {
        doc["ret"] = json!(1);
        doc["msg"] = json!("not today");
    }
    if has("identify-shape") {
        doc["version"] = json!(1);
    }
    if has("identify-content-type") {
        return HttpResponse::Ok().content_type("text/plain").body(doc.to_string());
    }
    HttpResponse::Ok().json(doc)
}

async fn addons_identify(faults: web::Data<Faults>, body: web::Bytes) -> HttpResponse {
    if faults.contains("addons-500") {
        return HttpResponse::InternalServerError().body("boom");
    }
    if faults.contains("addons-hang") {
        return never().await;
    }
    if faults.contains("addons-bare-ok") {
        return HttpResponse::Ok().finish();
    }
    if faults.contains("addons-garbage-ok") {
        return HttpResponse::Ok().json(json!({"ret": 0, "msg": "ok"}));
    }
    let parsed: Result<keel_sdk::protocol::AddonsIdentifyRequest, _> = serde_json::from_slice(&body);
    if let Err(e) = parsed {
        return HttpResponse::BadRequest().json(json!({"ret": 400, "msg": format!("malformed: {e}")}));
    }
    if faults.contains("addons-refuse") {
        return HttpResponse::Ok().json(json!({"ret": 1, "msg": "no strangers"}));
    }
    if faults.contains("addons-refuse-silently") {
        return HttpResponse::Ok().json(json!({"ret": 1}));
    }
    HttpResponse::Ok().json(json!({"ret": 0, "msg": "ok"}))
}

async fn status(faults: web::Data<Faults>) -> HttpResponse {
    if faults.contains("status-hang") {
        return never().await;
    }
    if faults.contains("status-ret") {
        return HttpResponse::Ok().json(json!({"ret": 2, "msg": "database down", "status": "ACTIVE"}));
    }
    if faults.contains("status-slow") {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
    }
    if faults.contains("status-500") {
        return HttpResponse::InternalServerError().json(json!({"ret": 500, "msg": "status is broken"}));
    }
    let status = match () {
        _ if faults.contains("status-bad") => "RUNNING",
        _ if faults.contains("status-starting") => "STARTING",
        _ => "ACTIVE",
    };
    HttpResponse::Ok().json(json!({"ret": 0, "msg": "ok", "status": status}))
}

async fn other(faults: web::Data<Faults>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if body.len() > 64 * 1024 {
        if faults.contains("large-hang") {
            return never().await;
        }
        if faults.contains("large-crash") {
            eprintln!("broken-plugin: crashing on a {} byte body, as asked", body.len());
            std::process::exit(3);
        }
    }
    if faults.contains("unknown-hang") {
        return never().await;
    }
    if faults.contains("bare-404") {
        return HttpResponse::NotFound().finish();
    }
    if faults.contains("unknown-ret-zero") {
        return HttpResponse::NotFound().json(json!({"ret": 0, "msg": "ok"}));
    }
    let msg = format!("no such endpoint: {} {}", req.method(), req.path());
    HttpResponse::NotFound().json(json!({"ret": 404, "msg": msg}))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let faults: Faults =
        Arc::new(faults().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?);
    let port: u16 = std::env::var("APP_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(0);
    let data = web::Data::new(faults.clone());
    let server = HttpServer::new(move || {
        let mut app = App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
            .route("/healthz", web::get().to(|| async { HttpResponse::NoContent().finish() }))
            .route("/v1/identify", web::get().to(identify))
            .route("/v1/status", web::get().to(status));
        if !data.contains("addons-missing") {
            app = app.route("/v1/addons/identify", web::post().to(addons_identify));
        }
        app.default_service(web::to(other))
    })
    .workers(2)
    .bind(("127.0.0.1", port))?;
    for addr in server.addrs() {
        println!("broken-plugin listening on {addr} with faults {:?}", faults.iter().collect::<Vec<_>>());
    }
    server.run().await
}
