//! `echo`: the simplest Keel plugin. Every request other than the protocol endpoints is answered
//! with a JSON description of what arrived (method, path, query, headers, body), which makes it
//! the tool for seeing exactly what keel and the sidecars deliver.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use serde::Serialize;

/// Bodies larger than this are refused (413) rather than echoed.
const MAX_BODY: usize = 8 * 1024 * 1024;

#[derive(Serialize)]
struct Echo<'a> {
    ret: i32,
    msg: &'static str,
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: BTreeMap<&'a str, Vec<String>>,
    /// The body as text when it is UTF-8 ...
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    /// ... and base64 otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
    body_len: usize,
}

async fn echo(req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let mut headers: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (name, value) in req.headers() {
        headers
            .entry(name.as_str())
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    let text = std::str::from_utf8(&body).ok();
    let echo = Echo {
        ret: 0,
        msg: "ok",
        method: req.method().as_str(),
        path: req.path(),
        query: req.query_string(),
        headers,
        body: text.filter(|t| !t.is_empty()),
        body_base64: text.is_none().then(|| base64::engine::general_purpose::STANDARD.encode(&body)),
        body_len: body.len(),
    };
    HttpResponse::Ok().json(echo)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    keel_sdk::telemetry::init("echo");
    let plugin = keel_sdk::plugin::PluginSpec::new("echo", env!("CARGO_PKG_VERSION"))
        .build()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    keel_sdk::plugin::serve(plugin, keel_sdk::config::app_listen_addr(), |cfg| {
        cfg.app_data(web::PayloadConfig::new(MAX_BODY)).default_service(web::to(echo));
    })
    .await
}
