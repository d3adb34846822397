//! Service invocation addressing (reference §2.1): the `dapr-app-id` header, Basic auth and the
//! URL form; namespaced ids; the fallback for unknown routes and verbs; verb mapping.

mod common;

use base64::Engine;
use common::app::Echo;
use common::http::{get, req};

fn no_app_id_body() -> &'static str {
    r#"{"errorCode":"ERR_DIRECT_INVOKE","message":"failed getting app id either from the URL path or the header dapr-app-id"}"#
}

#[test]
fn url_form_reaches_the_app_with_verb_path_and_raw_query() {
    let f = common::fleet("", &[("app1", "")], &[]);
    let r = req("PUT", "/v1.0/invoke/app1/method/orders/42?x=1&y=%20a+b&z").body("hello").send(f.port(0));
    let e = Echo::of(&r);
    assert_eq!(e.field("method"), "PUT");
    assert_eq!(e.field("path"), "/orders/42");
    assert_eq!(e.field("query"), "x=1&y=%20a+b&z");
    assert_eq!(e.field("body"), "hello");
}

#[test]
fn repeated_slashes_and_an_escaped_app_id_are_accepted() {
    let f = common::fleet("", &[("app1", "")], &[]);
    assert_eq!(Echo::of(&get(f.port(0), "/v1.0////invoke/app1/method/a")).field("path"), "/a");
    assert_eq!(Echo::of(&get(f.port(0), "/v1.0/invoke/%61pp1/method/a")).field("path"), "/a");
    assert_eq!(Echo::of(&get(f.port(0), "/v1.0/invoke/app1/method//a//b/")).field("path"), "/a/b");
}

#[test]
fn dapr_app_id_header_uses_the_whole_path_and_is_not_forwarded() {
    let f = common::fleet("", &[("app1", ""), ("app2", "")], &[]);
    let e =
        Echo::of(&req("POST", "/checkout/100?q=1").header("dapr-app-id", "app2").body("x").send(f.port(0)));
    assert_eq!(e.field("path"), "/checkout/100");
    assert_eq!(e.field("query"), "q=1");
    assert_eq!(e.header("dapr-callee-app-id").as_deref(), Some("app2"));
    assert!(e.header("dapr-app-id").is_none());
    // The header wins over an invoke URL: the URL becomes the method.
    let e = Echo::of(&req("GET", "/v1.0/invoke/app1/method/x").header("dapr-app-id", "app2").send(f.port(0)));
    assert_eq!(e.field("path"), "/v1.0/invoke/app1/method/x");
    assert_eq!(e.header("dapr-callee-app-id").as_deref(), Some("app2"));
}

#[test]
fn basic_auth_form_addresses_the_app_and_keeps_authorization() {
    let f = common::fleet("", &[("app1", "")], &[]);
    let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("dapr-app-id:app1"));
    let e = Echo::of(&req("GET", "/orders/7").header("Authorization", &auth).send(f.port(0)));
    assert_eq!(e.field("path"), "/orders/7");
    assert_eq!(e.header("authorization"), Some(auth));
}

#[test]
fn namespaced_ids_resolve_and_three_parts_are_invalid() {
    let f = common::fleet("", &[("app1", ""), ("app2", "")], &[]);
    let e = Echo::of(&get(f.port(0), "/v1.0/invoke/app2.default/method/n"));
    assert_eq!(e.header("dapr-callee-app-id").as_deref(), Some("app2"));
    // Self-invocation needs the namespace to match too; another namespace goes through the
    // registry, which (like daprd's sqlite resolver) ignores namespaces.
    let e = Echo::of(&get(f.port(0), "/v1.0/invoke/app1.default/method/n"));
    assert!(e.header("x-forwarded-for").is_none(), "same id and namespace is local");
    let e = Echo::of(&get(f.port(0), "/v1.0/invoke/app1.other/method/n"));
    assert!(e.header("x-forwarded-for").is_some(), "another namespace is remote");
    let r = get(f.port(0), "/v1.0/invoke/a.b.c/method/n");
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["message"], "failed to invoke, id: a.b.c, err: invalid app id a.b.c");
}

#[test]
fn unknown_routes_and_wrong_verbs_fall_back_to_invocation() {
    let f = common::fleet("", &[("app1", "")], &[]);
    let port = f.port(0);
    for (method, path) in [
        ("GET", "/foo"),
        ("GET", "/v1.0/state/store"),
        ("HEAD", "/v1.0/healthz"),
        ("DELETE", "/v1.0/state/store"),
        ("GET", "/v1.0/invoke/app1"),
        ("GET", "/v1.0/invoke/app1/nomethod"),
    ] {
        let r = req(method, path).send(port);
        assert_eq!(r.status, 404, "{method} {path}");
        if method != "HEAD" {
            assert_eq!(r.text(), no_app_id_body(), "{method} {path}");
            assert_eq!(r.header("content-type"), Some("application/json"));
        }
    }
    // With dapr-app-id, the same requests reach the app.
    let e = Echo::of(&req("GET", "/v1.0/state/store").header("dapr-app-id", "app1").send(port));
    assert_eq!(e.field("path"), "/v1.0/state/store");
    // A real route wins over the header.
    let r = req("GET", "/v1.0/metadata").header("dapr-app-id", "app1").send(port);
    assert_eq!(r.json()["id"], "app1");
}

#[test]
fn unknown_verbs_become_post_and_connect_is_refused() {
    let f = common::fleet("", &[("app1", "")], &[]);
    let e = Echo::of(&req("PURGE", "/v1.0/invoke/app1/method/x").send(f.port(0)));
    assert_eq!(e.field("method"), "POST");
    for verb in ["PATCH", "OPTIONS", "DELETE"] {
        assert_eq!(Echo::of(&req(verb, "/v1.0/invoke/app1/method/x").send(f.port(0))).field("method"), verb);
    }
    let r = req("CONNECT", "/v1.0/invoke/app1/method/x").send(f.port(0));
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["errorCode"], "ERR_DIRECT_INVOKE");
    assert!(r.json()["message"].as_str().unwrap().contains("invalid HTTP verb"));
}

#[test]
fn single_app_mode_serves_the_same_api() {
    let ws = common::run::Workspace::new();
    let app = common::app::start();
    let port = app.port.to_string();
    let mut run = ws.single(&["--app-id", "solo", "--app-port", &port]).start();
    let ready = run.ready("solo");
    assert_eq!(ready.app_port, app.port);
    assert_eq!(Echo::of(&get(ready.http_port, "/v1.0/invoke/solo/method/hi")).field("path"), "/hi");
}
