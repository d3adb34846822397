use actix_web::test::{call_service, init_service, read_body_json, TestRequest};
use actix_web::{http::StatusCode, App};
use serde_json::{json, Value};

use super::*;
use crate::protocol::PluginStatus;

fn greeter() -> PluginSpec {
    PluginSpec::new("greeter", "1.2.0")
        .addon_point("decorate-greeting", "changes the greeting")
        .implements("echo", "1.0", &[("before-echo", "hooks/before-echo")])
        .app_token(None)
}

macro_rules! app {
    ($plugin:expr) => {
        init_service(App::new().wrap($plugin.app_token().clone()).configure($plugin.configure())).await
    };
}

#[actix_web::test]
async fn identify_serves_the_declaration_in_the_envelope() {
    let plugin = greeter().build().unwrap();
    let app = app!(plugin);
    let res = call_service(&app, TestRequest::get().uri("/v1/identify").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = read_body_json(res).await;
    assert_eq!(v["ret"], 0);
    assert_eq!(v["plugin_id"], "greeter");
    assert_eq!(v["keel_version"], "1.0");
    assert_eq!(v["addons"][0]["endpoint"], "decorate-greeting");
    assert_eq!(
        v["main_plugin"][0]["endpoints"][0],
        json!({"addons": "before-echo", "endpoint": "hooks/before-echo"})
    );
}

#[actix_web::test]
async fn status_follows_the_handle() {
    let status = StatusHandle::default();
    let plugin = greeter().status(status.clone()).build().unwrap();
    let app = app!(plugin);
    for s in [PluginStatus::Active, PluginStatus::Failed, PluginStatus::Starting] {
        status.set(s);
        let v: Value =
            read_body_json(call_service(&app, TestRequest::get().uri("/v1/status").to_request()).await).await;
        assert_eq!(v, json!({"ret": 0, "msg": "ok", "status": s.as_str()}));
    }
}

#[actix_web::test]
async fn addons_identify_asks_the_judge() {
    let plugin = greeter()
        .on_addons_identify(|req| async move {
            if req.plugin.id == "bad" {
                Err("bad plugins may not decorate".to_owned())
            } else {
                Ok(())
            }
        })
        .build()
        .unwrap();
    let app = app!(plugin);
    let ask = |id: &str| {
        TestRequest::post()
            .uri("/v1/addons/identify")
            .set_json(json!({"plugin": {"id": id, "version": "1.0.0"},
                "endpoint": [{"addons_point": "decorate-greeting", "endpoint": "x"}]}))
            .to_request()
    };
    let ok: Value = read_body_json(call_service(&app, ask("good")).await).await;
    assert_eq!(ok["ret"], 0);
    let refused: Value = read_body_json(call_service(&app, ask("bad")).await).await;
    assert_eq!(refused["ret"], 1);
    assert_eq!(refused["msg"], "bad plugins may not decorate");
    let res =
        call_service(&app, TestRequest::post().uri("/v1/addons/identify").set_payload("{").to_request())
            .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let v: Value = read_body_json(res).await;
    assert!(v["msg"].as_str().unwrap().starts_with("malformed addons identify"));
}

#[actix_web::test]
async fn app_token_is_required_when_configured_except_for_health() {
    let plugin = greeter().app_token(Some("t0ken".into())).build().unwrap();
    let app = app!(plugin);
    let res = call_service(&app, TestRequest::get().uri("/v1/identify").to_request()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let wrong =
        TestRequest::get().uri("/v1/identify").insert_header(("dapr-api-token", "t0kem")).to_request();
    assert_eq!(call_service(&app, wrong).await.status(), StatusCode::UNAUTHORIZED);
    let right =
        TestRequest::get().uri("/v1/identify").insert_header(("dapr-api-token", "t0ken")).to_request();
    assert_eq!(call_service(&app, right).await.status(), StatusCode::OK);
    let health = call_service(&app, TestRequest::get().uri("/healthz").to_request()).await;
    assert_eq!(health.status(), StatusCode::NO_CONTENT);
}

#[test]
fn invalid_declarations_are_refused_at_build() {
    let err = PluginSpec::new("Bad Id", "1.0.0").build().err().unwrap();
    assert!(err.to_string().contains("plugin_id"));
    let err = PluginSpec::new("ok", "1.0.0").implements("x", "1", &[("p", "//abs")]).build().err().unwrap();
    assert!(err.to_string().contains("relative path"));
    // The design document's form, with a leading slash, is accepted (and normalised by the registry).
    assert!(PluginSpec::new("ok", "1.0.0").implements("x", "1", &[("p", "/abs")]).build().is_ok());
    let err =
        PluginSpec::new("ok", "1.0.0").implements("x", "1", &[("p", "a/%2e%2e")]).build().err().unwrap();
    assert!(err.to_string().contains("relative path"));
}
