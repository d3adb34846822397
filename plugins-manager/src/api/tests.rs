//! The API's handlers in process: refusals decided before any I/O, the envelope on every answer,
//! and a dead sidecar reported as 503. Everything that needs a live sidecar is covered end to end
//! in `tests/tests/registry_*.rs`.

use std::time::Duration;

use actix_web::test::{call_service, init_service, read_body_json, TestRequest};
use actix_web::{http::StatusCode, web, App};
use keel_sdk::dapr::headers::DAPR_CALLER_APP_ID;
use keel_sdk::dapr::SidecarConfig;
use keel_sdk::management::openapi::{documented_routes, served_routes};
use keel_sdk::protocol::errors::Refused;
use keel_sdk::protocol::headers::{X_KEEL_ERROR, X_KEEL_ROLES, X_KEEL_SCOPE, X_KEEL_TENANT, X_KEEL_USER};
use serde_json::{json, Value};

use super::{configure, OPENAPI, ROUTES};
use crate::{Config, Registry, RegistryState};

/// A registry whose sidecar is nowhere (port 1 refuses connections at once).
fn registry() -> Registry {
    let sidecar = SidecarConfig {
        endpoint: "http://127.0.0.1:1".into(),
        api_token: None,
        timeout: Duration::from_millis(500),
    };
    Registry::new(RegistryState::new(Config::default(), sidecar))
}

macro_rules! app {
    () => {
        init_service(App::new().app_data(web::Data::new(registry())).configure(configure)).await
    };
}

/// Calls the app with `req`, which must be refused with `status` and `code`, the tagged envelope
/// (`ret` is the negated status) and a message containing `part`. Returns what the log gets.
async fn refused(req: TestRequest, status: StatusCode, code: &str, part: &str) -> Refused {
    let app = app!();
    let res = call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), status);
    assert_eq!(res.headers().get(X_KEEL_ERROR).unwrap(), "1");
    let logged =
        res.response().extensions().get::<Refused>().cloned().expect("the refusal is left for the log");
    let body: Value = read_body_json(res).await;
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["ret"], -i64::from(status.as_u16()), "{body}");
    assert!(body["msg"].as_str().unwrap().contains(part), "{body}");
    logged
}

fn post(body: Value) -> TestRequest {
    TestRequest::post().uri("/v1/plugins").set_json(body)
}

#[actix_web::test]
async fn malformed_bodies_are_400() {
    let raw = TestRequest::post().uri("/v1/plugins").set_payload("{nope");
    refused(raw, StatusCode::BAD_REQUEST, "ERR_BAD_REQUEST", "body is not JSON").await;
    refused(post(json!({"id": 5})), StatusCode::BAD_REQUEST, "ERR_BAD_REQUEST", "id must be a string").await;
}

#[actix_web::test]
async fn ids_and_secrets_are_checked_before_anything_is_called() {
    refused(post(json!({"id": "keel"})), StatusCode::FORBIDDEN, "ERR_RESERVED_ID", "reserved").await;
    refused(post(json!({"id": "Nope!"})), StatusCode::BAD_REQUEST, "ERR_BAD_PLUGIN_ID", "lower-case").await;
    refused(
        post(json!({"id": "ok", "secret": "short"})),
        StatusCode::BAD_REQUEST,
        "ERR_BAD_SECRET",
        "8 to 1024",
    )
    .await;
}

#[actix_web::test]
async fn bad_queries_and_ids_are_400() {
    let list = TestRequest::get().uri("/v1/plugins?limit=0");
    refused(list, StatusCode::BAD_REQUEST, "ERR_BAD_REQUEST", "limit must be between 1 and 1000").await;
    let get = TestRequest::get().uri("/v1/plugins/UPPER");
    refused(get, StatusCode::BAD_REQUEST, "ERR_BAD_PLUGIN_ID", "lower-case").await;
    let del = TestRequest::delete().uri("/v1/plugins/x?force=maybe");
    refused(del, StatusCode::BAD_REQUEST, "ERR_BAD_REQUEST", "force=true").await;
}

#[actix_web::test]
async fn an_unreachable_sidecar_is_503_naming_it() {
    // The sidecar's address is the registry's own business: the log names it, the answer does not.
    let req = TestRequest::get().uri("/v1/routes");
    let logged =
        refused(req, StatusCode::SERVICE_UNAVAILABLE, "ERR_SIDECAR_UNAVAILABLE", "sidecar is unavailable")
            .await;
    assert!(logged.detail.unwrap_or_default().contains("127.0.0.1:1"));
    assert!(!logged.msg.contains("127.0.0.1:1"), "{}", logged.msg);
    let req = post(json!({"id": "echo", "secret": "long-enough"}));
    refused(req, StatusCode::SERVICE_UNAVAILABLE, "ERR_SIDECAR_UNAVAILABLE", "sidecar is unavailable").await;
}

#[actix_web::test]
async fn plugins_calling_directly_may_not_register() {
    let req = post(json!({"id": "echo"})).insert_header((DAPR_CALLER_APP_ID, "echo"));
    refused(req, StatusCode::FORBIDDEN, "ERR_CALLER_NOT_ALLOWED", "needs the grant register-plugins").await;
    let req = TestRequest::delete()
        .uri("/v1/plugins/echo")
        .insert_header((DAPR_CALLER_APP_ID, "keel"))
        .insert_header((X_KEEL_USER, "boss"))
        .insert_header((X_KEEL_TENANT, "acme"))
        .insert_header((X_KEEL_SCOPE, "tenant"))
        .insert_header((X_KEEL_ROLES, "admin"));
    refused(req, StatusCode::FORBIDDEN, "ERR_FORBIDDEN", "needs platform scope").await;
}

#[actix_web::test]
async fn tenant_changes_are_checked_before_anything_is_called() {
    let as_boss = |req: TestRequest| {
        req.insert_header((DAPR_CALLER_APP_ID, "keel"))
            .insert_header((X_KEEL_USER, "boss"))
            .insert_header((X_KEEL_TENANT, "acme"))
            .insert_header((X_KEEL_SCOPE, "tenant"))
            .insert_header((X_KEEL_ROLES, "admin"))
    };
    let other = as_boss(TestRequest::post().uri("/v1/tenants/beta/plugins/echo"));
    refused(other, StatusCode::FORBIDDEN, "ERR_FORBIDDEN", "tenant \"beta\"").await;
    let other = as_boss(TestRequest::delete().uri("/v1/tenants/beta/plugins/echo"));
    refused(other, StatusCode::FORBIDDEN, "ERR_FORBIDDEN", "not its admin").await;
    let bad = as_boss(TestRequest::post().uri("/v1/tenants/acme/plugins/echo").set_payload(r#"{"nope": 1}"#));
    refused(bad, StatusCode::BAD_REQUEST, "ERR_BAD_REQUEST", "unknown field `nope`").await;
    let bad = TestRequest::get().uri("/v1/tenants/Not_A_Tenant/plugins");
    refused(bad, StatusCode::BAD_REQUEST, "ERR_BAD_REQUEST", "tenant id \"Not_A_Tenant\" is invalid").await;
}

#[actix_web::test]
async fn console_entries_are_checked_before_anything_is_written() {
    let put = |body: Value| TestRequest::put().uri("/v1/console/entries").set_json(body);
    let entry = |obj: &str, path: &str| json!({"name": "笔记", "name_en": "Notes", "obj": obj, "type": 2, "path": path});
    let typo = put(json!({"name": "n", "name_en": "N", "obj": "svc", "tpye": 2, "path": "/plugins/svc/"}));
    refused(typo, StatusCode::BAD_REQUEST, "ERR_BAD_REQUEST", "unknown field `tpye`").await;
    let other = put(entry("notes", "/plugins/notes/x")).insert_header((DAPR_CALLER_APP_ID, "svc"));
    refused(other, StatusCode::FORBIDDEN, "ERR_CALLER_NOT_ALLOWED", "an app does so for itself only").await;
    let outside = put(entry("svc", "/plugins/notes/x")).insert_header((DAPR_CALLER_APP_ID, "svc"));
    refused(outside, StatusCode::UNPROCESSABLE_ENTITY, "ERR_BAD_CONSOLE_ENTRY", "\"/plugins/svc/\"").await;
    refused(put(entry("keel", "/plugins/keel/x")), StatusCode::FORBIDDEN, "ERR_RESERVED_ID", "reserved")
        .await;
    refused(put(entry("Bad_Id", "/plugins/x/")), StatusCode::BAD_REQUEST, "ERR_BAD_PLUGIN_ID", "lower-case")
        .await;
    let list = TestRequest::get().uri("/v1/console/entries?type=4");
    refused(list, StatusCode::BAD_REQUEST, "ERR_BAD_REQUEST", "type 4 is not an entry type").await;
    let del = TestRequest::delete().uri("/v1/console/entries");
    refused(del, StatusCode::BAD_REQUEST, "ERR_BAD_REQUEST", "?path=").await;
}

/// The OpenAPI document lists exactly the routes served (issue 18 §7): the same paths and
/// methods, and every one of them answered by a handler, not by actix's default 404.
#[actix_web::test]
async fn the_openapi_document_matches_the_routes_served() {
    let doc: Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let documented = documented_routes(&doc).expect("paths");
    assert_eq!(documented, served_routes(ROUTES), "openapi.json and api.rs disagree");

    let app = app!();
    for (method, path) in ROUTES {
        let uri = path.replace("{id}", "echo").replace("{tenant}", "acme");
        let method = actix_web::http::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let res =
            call_service(&app, TestRequest::default().method(method.clone()).uri(&uri).to_request()).await;
        let handled = res.status() != StatusCode::NOT_FOUND || res.headers().contains_key(X_KEEL_ERROR);
        assert!(handled, "{method} {uri} is documented but not served");
    }
    // A method the document does not list is not served either.
    let res = call_service(&app, TestRequest::put().uri("/v1/plugins").to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(!res.headers().contains_key(X_KEEL_ERROR));

    let res = call_service(&app, TestRequest::get().uri("/openapi.json").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let served_doc: Value = read_body_json(res).await;
    assert_eq!(served_doc, doc);
}
