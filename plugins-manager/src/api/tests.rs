//! The API's handlers in process: refusals decided before any I/O, the envelope on every answer,
//! and a dead sidecar reported as 503. Everything that needs a live sidecar is covered end to end
//! in `tests/tests/registry_*.rs`.

use std::time::Duration;

use actix_web::test::{call_service, init_service, read_body_json, TestRequest};
use actix_web::{http::StatusCode, web, App};
use keel_sdk::dapr::SidecarConfig;
use serde_json::{json, Value};

use super::configure;
use crate::{Config, Registry, Shared};

/// A registry whose sidecar is nowhere (port 1 refuses connections at once).
fn registry() -> Registry {
    let sidecar = SidecarConfig {
        endpoint: "http://127.0.0.1:1".into(),
        api_token: None,
        timeout: Duration::from_millis(500),
    };
    Registry::new(Shared::new(Config::default(), sidecar))
}

macro_rules! app {
    () => {
        init_service(App::new().app_data(web::Data::new(registry())).configure(configure)).await
    };
}

async fn refused(req: TestRequest, status: StatusCode, code: i64, part: &str) {
    let app = app!();
    let res = call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), status);
    let body: Value = read_body_json(res).await;
    assert_eq!(body["ret"], code, "{body}");
    assert!(body["msg"].as_str().unwrap().contains(part), "{body}");
}

fn post(body: Value) -> TestRequest {
    TestRequest::post().uri("/v1/plugins").set_json(body)
}

#[actix_web::test]
async fn malformed_bodies_are_400() {
    let raw = TestRequest::post().uri("/v1/plugins").set_payload("{nope");
    refused(raw, StatusCode::BAD_REQUEST, -1001, "body is not JSON").await;
    refused(post(json!({"id": 5})), StatusCode::BAD_REQUEST, -1001, "id must be a string").await;
}

#[actix_web::test]
async fn ids_and_secrets_are_checked_before_anything_is_called() {
    refused(post(json!({"id": "keel"})), StatusCode::FORBIDDEN, -1003, "reserved").await;
    refused(post(json!({"id": "Nope!"})), StatusCode::BAD_REQUEST, -1002, "lower-case").await;
    refused(post(json!({"id": "ok", "secret": "short"})), StatusCode::BAD_REQUEST, -1004, "8 to 1024").await;
}

#[actix_web::test]
async fn bad_queries_and_ids_are_400() {
    let list = TestRequest::get().uri("/v1/plugins?limit=0");
    refused(list, StatusCode::BAD_REQUEST, -1001, "limit must be between 1 and 1000").await;
    let get = TestRequest::get().uri("/v1/plugins/UPPER");
    refused(get, StatusCode::BAD_REQUEST, -1002, "lower-case").await;
    let del = TestRequest::delete().uri("/v1/plugins/x?force=maybe");
    refused(del, StatusCode::BAD_REQUEST, -1001, "force=true").await;
}

#[actix_web::test]
async fn an_unreachable_sidecar_is_503_naming_it() {
    let req = TestRequest::get().uri("/v1/routes");
    refused(req, StatusCode::SERVICE_UNAVAILABLE, -1301, "127.0.0.1:1").await;
    let req = post(json!({"id": "echo", "secret": "long-enough"}));
    refused(req, StatusCode::SERVICE_UNAVAILABLE, -1301, "sidecar is unavailable").await;
}

#[actix_web::test]
async fn plugins_calling_directly_may_not_register() {
    let req = post(json!({"id": "echo"})).insert_header(("dapr-caller-app-id", "echo"));
    refused(req, StatusCode::FORBIDDEN, -1010, "go through keel as an admin").await;
    let req = TestRequest::delete()
        .uri("/v1/plugins/echo")
        .insert_header(("dapr-caller-app-id", "keel"))
        .insert_header(("x-keel-roles", "user"));
    refused(req, StatusCode::FORBIDDEN, -1010, "admin role").await;
}
