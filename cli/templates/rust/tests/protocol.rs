//! The plugin answers the protocol as the registry expects, and its own endpoint answers.

use actix_web::{test, App};
use serde_json::Value;

#[actix_web::test]
async fn identify_status_and_hello_answer() {
    let plugin = {{crate}}::plugin().expect("a valid declaration");
    let app = test::init_service(App::new().configure(plugin.configure()).configure({{crate}}::routes)).await;
    let get = |path: &str| test::TestRequest::get().uri(path).to_request();

    let identify: Value = test::call_and_read_body_json(&app, get("/v1/identify")).await;
    assert_eq!(identify["ret"], 0);
    assert_eq!(identify["plugin_id"], "{{id}}");

    let status: Value = test::call_and_read_body_json(&app, get("/v1/status")).await;
    assert_eq!(status["status"], "ACTIVE");

    let hello: Value = test::call_and_read_body_json(&app, get("/hello")).await;
    assert_eq!(hello["hello"], "hello from {{id}}");
}
