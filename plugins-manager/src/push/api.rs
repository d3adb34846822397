//! The guide's registry API on the push listener:
//!
//! | call | answer |
//! |---|---|
//! | `POST /api/registry/register` | 201 new, 200 re-registration by the same registrant; 409 name taken |
//! | `POST /api/registry/heartbeat` `{service_id, status}` | 200; 403 not the registrant; 404 unknown |
//! | `POST` (or `DELETE`) `/api/registry/deregister/{name}` | 200; 403 not the registrant; 404 unknown |
//! | `GET /api/registry/services[?tag=&status=]` | pushed services and Keel plugins |
//! | `GET /api/registry/services/{name}` | one of them |
//!
//! The registrant is the client: with `Authorization: Bearer <client-credentials token>` of a
//! client granted `register-plugins` (the registry's `grants`), that client, from anywhere;
//! without one, the client's address, and only a loopback address may register (open
//! registration for local development, `open_loopback`).

use std::net::IpAddr;

use actix_web::{web, HttpRequest, HttpResponse};
use keel_sdk::protocol::{PluginStatus, RouteEntry};
use serde::Deserialize;
use serde_json::{json, Value};

use super::config::PushConfig;
use super::error::PushError;
use super::model::{is_loopback, RegisterBody, ServiceRecord};
use super::service::Push;
use crate::model::rfc3339;

// The API's routes, written once: `configure` serves them and `ROUTES` lists them, which the
// tests compare with the OpenAPI document (`OPENAPI`).
keel_sdk::management_routes! {
    @setup setup;
    get "/api/registry/openapi.json" => openapi,
    post "/api/registry/register" => register,
    post "/api/registry/heartbeat" => heartbeat,
    post "/api/registry/deregister/{name}" => deregister,
    delete "/api/registry/deregister/{name}" => deregister,
    get "/api/registry/services" => list,
    get "/api/registry/services/{name}" => one,
}

/// The push API's OpenAPI 3.1 document (`plugins-manager/push-openapi.json`), checked in like
/// the management API's and kept true by the tests.
pub const OPENAPI: &str = include_str!("../../push-openapi.json");

/// Malformed queries are refused with the platform's error body, like every other refusal.
fn setup(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(|e, _| PushError::BadQuery(e.to_string()).into()));
}

/// `GET /api/registry/openapi.json`: the document above.
async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(OPENAPI)
}

/// Who is calling, which registers and must then send the heartbeats: a granted client by its
/// token, or the peer's address; and whether a token said so.
fn registrant(req: &HttpRequest, push: &Push) -> Result<(String, IpAddr, bool), PushError> {
    let ip = req
        .peer_addr()
        .map(|a| a.ip())
        .ok_or_else(|| PushError::NotLoopback { peer: "an unknown address".into() })?;
    if !req.headers().contains_key(actix_web::http::header::AUTHORIZATION) {
        return Ok((format!("addr:{ip}"), ip, false));
    }
    let token =
        keel_sdk::tokens::bearer_token(req.headers()).map_err(|e| PushError::BadToken(e.to_string()))?;
    let who = push.state.verifier.verify(token).map_err(|e| PushError::BadToken(e.to_string()))?;
    let Some(client) = who.client_id.as_deref() else {
        return Err(PushError::BadToken(format!(
            "{:?} logged in as a person; a service registers with its client-credentials token",
            who.sub
        )));
    };
    if !push.reg.state.policy.grants.has(client, keel_sdk::access::Grant::RegisterPlugins) {
        return Err(PushError::NotGranted(client.to_owned()));
    }
    Ok((format!("client:{client}"), ip, true))
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, PushError> {
    serde_json::from_slice(body).map_err(|e| PushError::BadBody(e.to_string()))
}

async fn register(
    req: HttpRequest,
    body: web::Bytes,
    push: web::Data<Push>,
) -> Result<HttpResponse, PushError> {
    let (who, ip, token) = registrant(&req, &push)?;
    may_register(&push.state.cfg, ip, token)?;
    let body: RegisterBody = parse(&body)?;
    let (record, new) = push.register(body, who, ip).await?;
    let view = pushed_view(&record, PluginStatus::Active, &push.state.cfg);
    let mut res = if new { HttpResponse::Created() } else { HttpResponse::Ok() };
    Ok(res.json(json!({"ret": 0, "msg": "ok", "service": view})))
}

/// Whether a client at `peer` may register at all: with a granted client's token (checked by
/// [`registrant`]) from anywhere; without one only from loopback, and only while open
/// registration is on (`open_loopback`, local development).
fn may_register(cfg: &PushConfig, peer: IpAddr, token: bool) -> Result<(), PushError> {
    if token || (cfg.open_loopback && is_loopback(peer)) {
        Ok(())
    } else {
        Err(PushError::NotLoopback { peer: peer.to_string() })
    }
}

#[derive(Deserialize)]
struct Heartbeat {
    service_id: String,
    #[serde(default = "healthy")]
    status: String,
}

fn healthy() -> String {
    "healthy".into()
}

async fn heartbeat(
    req: HttpRequest,
    body: web::Bytes,
    push: web::Data<Push>,
) -> Result<HttpResponse, PushError> {
    let (who, _, _) = registrant(&req, &push)?;
    let beat: Heartbeat = parse(&body)?;
    let status = push.heartbeat(&beat.service_id, &beat.status, &who).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"ret": 0, "msg": "ok", "service_id": beat.service_id, "status": status})))
}

async fn deregister(
    req: HttpRequest,
    name: web::Path<String>,
    push: web::Data<Push>,
) -> Result<HttpResponse, PushError> {
    let (who, _, _) = registrant(&req, &push)?;
    let record = push.deregister(&name, &who).await?;
    Ok(HttpResponse::Ok().json(json!({"ret": 0, "msg": "ok", "name": record.name})))
}

#[derive(Deserialize)]
struct Filter {
    tag: Option<String>,
    status: Option<String>,
}

async fn list(q: web::Query<Filter>, push: web::Data<Push>) -> Result<HttpResponse, PushError> {
    let (table, records) = push.all().await?;
    let mut services: Vec<Value> = Vec::new();
    for (name, route) in &table.services {
        if let Some(r) = records.get(name) {
            services.push(pushed_view(r, route.status, &push.state.cfg));
        }
    }
    for (id, entry) in &table.plugins {
        services.push(plugin_view(id, entry));
    }
    let keep = |v: &Value| {
        let tag_ok =
            q.tag.as_deref().is_none_or(|t| v["tags"].as_array().is_some_and(|a| a.iter().any(|x| x == t)));
        let status_ok =
            q.status.as_deref().is_none_or(|s| status_matches(v["status"].as_str().unwrap_or(""), s));
        tag_ok && status_ok
    };
    services.retain(keep);
    services.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Ok(HttpResponse::Ok().json(json!({"ret": 0, "msg": "ok", "total": services.len(), "services": services})))
}

/// `?status=` takes the platform's statuses (any case) and the guide's words for them.
fn status_matches(actual: &str, asked: &str) -> bool {
    let asked = match asked.to_ascii_lowercase().as_str() {
        "healthy" | "active" | "up" => "ACTIVE".to_owned(),
        "unhealthy" | "unreachable" | "down" => "UNREACHABLE".to_owned(),
        other => other.to_ascii_uppercase(),
    };
    actual == asked
}

async fn one(name: web::Path<String>, push: web::Data<Push>) -> Result<HttpResponse, PushError> {
    let (table, _) = push.reg.store.table().await?;
    if let Some(route) = table.services.get(name.as_str()) {
        let record = push.record(&name).await?.ok_or_else(|| PushError::Unknown(name.to_string()))?;
        return Ok(HttpResponse::Ok().json(
            json!({"ret": 0, "msg": "ok", "service": pushed_view(&record, route.status, &push.state.cfg)}),
        ));
    }
    if let Some(entry) = table.plugins.get(name.as_str()) {
        return Ok(
            HttpResponse::Ok().json(json!({"ret": 0, "msg": "ok", "service": plugin_view(&name, entry)}))
        );
    }
    Err(PushError::Unknown(name.into_inner()))
}

/// A pushed service as the API shows it: the guide's fields, its status, its liveness.
fn pushed_view(r: &ServiceRecord, status: PluginStatus, cfg: &PushConfig) -> Value {
    json!({
        "name": r.name,
        "kind": "pushed",
        "display_name": r.display_name,
        "description": r.description,
        "version": r.version,
        "status": status,
        "host": r.host,
        "port": r.port,
        "base_path": r.base_path,
        "health_check_url": r.health_check_url,
        "metadata": r.metadata,
        "tags": r.tags,
        "requires_auth": r.requires_auth,
        "endpoints": r.endpoints,
        "heartbeat_interval_ms": r.interval_ms(cfg),
        "registered_at": rfc3339(r.registered_at_ms),
        "last_heartbeat_ms": r.last_heartbeat_ms,
        "last_heartbeat": rfc3339(r.last_heartbeat_ms),
        "gateway_path": format!("/api/{}/", r.name),
    })
}

/// A Keel plugin in the same listing (reached at `/api/<id>/` too).
fn plugin_view(id: &str, e: &RouteEntry) -> Value {
    json!({
        "name": id,
        "kind": "plugin",
        "version": e.version,
        "status": e.status,
        "tags": [],
        "requires_auth": true,
        "public_endpoints": e.public_endpoints,
        "gateway_path": format!("/api/{id}/"),
    })
}

#[cfg(test)]
mod tests {
    use actix_web::test::{call_service, init_service, read_body_json, TestRequest};
    use actix_web::{http::StatusCode, App};
    use keel_sdk::management::openapi::{documented_routes, served_routes};
    use sidecar::test_util::FakeSidecar;

    use super::*;
    use crate::push::service::PushState;
    use crate::{Config, Registry, RegistryState};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Open registration: loopback clients only (IPv4, IPv6, mapped), while it is on; a token
    /// from anywhere.
    #[test]
    fn who_may_register_follows_the_peer_the_token_and_open_loopback() {
        let defaults = PushConfig::default();
        let closed = PushConfig { open_loopback: false, ..PushConfig::default() };
        for (cfg, peer, token, ok) in [
            (&defaults, "127.0.0.1", false, true),
            (&defaults, "127.0.0.2", false, true),
            (&defaults, "::1", false, true),
            (&defaults, "::ffff:127.0.0.1", false, true),
            (&defaults, "10.1.2.3", false, false),
            (&defaults, "192.168.1.20", false, false),
            (&defaults, "::ffff:10.1.2.3", false, false),
            (&defaults, "10.1.2.3", true, true),
            (&closed, "127.0.0.1", false, false),
            (&closed, "127.0.0.1", true, true),
            (&closed, "10.1.2.3", true, true),
        ] {
            let got = may_register(cfg, ip(peer), token);
            assert_eq!(got.is_ok(), ok, "{peer} token={token} open_loopback={}: {got:?}", cfg.open_loopback);
            if let Err(e) = got {
                assert!(matches!(e, PushError::NotLoopback { .. }), "{e:?}");
                assert!(e.to_string().contains("Authorization: Bearer"), "says what to send: {e}");
            }
        }
    }

    /// Under the defaults, through the handler: a client off this machine without a token is
    /// refused and nothing is stored; the same body from loopback registers.
    #[actix_web::test]
    async fn under_the_defaults_a_client_elsewhere_without_a_token_registers_nothing() {
        let sidecar = FakeSidecar::builder("plugins").start().await.client_config();
        let reg = Registry::new(RegistryState::new(Config::default(), sidecar));
        let push = Push { reg, state: PushState::new(PushConfig::default()) };
        let app = init_service(App::new().app_data(web::Data::new(push)).configure(configure)).await;
        let body = json!({"name": "svc", "host": "127.0.0.1", "port": 8010});
        let from = |peer: &str| {
            TestRequest::post()
                .uri("/api/registry/register")
                .peer_addr(format!("{peer}:40000").parse().unwrap())
                .set_json(&body)
                .to_request()
        };
        let res = call_service(&app, from("10.1.2.3")).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let refused: Value = read_body_json(res).await;
        assert_eq!(refused["code"], "ERR_FORBIDDEN", "{refused}");
        assert!(refused["msg"].as_str().unwrap_or("").contains("loopback clients only"), "{refused}");
        let list = TestRequest::get().uri("/api/registry/services").to_request();
        let listed: Value = read_body_json(call_service(&app, list).await).await;
        assert_eq!(listed["total"], 0, "{listed}");
        assert_eq!(call_service(&app, from("127.0.0.1")).await.status(), StatusCode::CREATED);
    }

    /// The document lists exactly the routes served (issue 18 §7).
    #[test]
    fn the_openapi_document_matches_the_routes_served() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("push-openapi.json is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let documented = documented_routes(&doc).expect("paths");
        assert_eq!(documented, served_routes(super::ROUTES), "push-openapi.json and push/api.rs disagree");
    }
}
