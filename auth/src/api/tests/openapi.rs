//! The OpenAPI document lists exactly the routes served (issue 18 §7): the same paths and
//! methods, each answered by a handler rather than actix's default 404, and served itself.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use keel_sdk::management::openapi::{documented_routes, served_routes};
use keel_sdk::protocol::headers::X_KEEL_ERROR;
use serde_json::Value;

use super::send;
use crate::api::{OPENAPI, ROUTES};
use crate::test_app;
use crate::testing::Harness;

#[actix_web::test]
async fn the_openapi_document_matches_the_routes_served() {
    let doc: Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        documented_routes(&doc).expect("paths"),
        served_routes(ROUTES),
        "openapi.json and api/mod.rs disagree"
    );

    let h = Harness::new().await;
    let app = test_app!(h);
    for (method, path) in ROUTES {
        let uri = path.replace("{id}", "acme").replace("{name}", "ann").replace("{plugin}", "echo");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let (status, headers, _) =
            send(&app, TestRequest::default().method(method.clone()).uri(&uri).to_request()).await;
        let handled = status != StatusCode::NOT_FOUND || headers.contains_key(X_KEEL_ERROR);
        assert!(handled, "{method} {uri} is documented but not served");
    }
    let (status, _, served) = send(&app, TestRequest::get().uri("/openapi.json").to_request()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served, doc);
}
