use keel_sdk::management::registry::{ListQuery, PluginView, UnregisterQuery};

use super::*;
use crate::error::exit;

#[test]
fn path_segments_are_escaped_and_queries_written() {
    let r = Request::get("plugins", &["v1", "plugins", "../routes?x"]);
    assert_eq!(r.path, "v1/plugins/..%2Froutes%3Fx");
    let r = Request::get("plugins", &["v1", "plugins"]).query(&ListQuery {
        limit: Some(500),
        after: Some("echo".into()),
        ..ListQuery::default()
    });
    assert_eq!(r.query.as_deref(), Some("limit=500&after=echo"));
    let r = Request::get("plugins", &["v1"]).query(&UnregisterQuery { force: true });
    assert_eq!(r.query.as_deref(), Some("force=true"));
    assert_eq!(Request::get("plugins", &["v1"]).query(&ListQuery::default()).query, None);
}

#[test]
fn a_success_is_the_record_inside_the_envelope() {
    let body = br#"{"ret":0,"msg":"ok","id":"echo","version":"1.0.0","status":"ACTIVE","from_the_future":1}"#;
    let view: PluginView = read("GET x", "plugins", 200, body).unwrap();
    assert_eq!(view.id, "echo");
}

#[test]
fn a_success_status_with_a_failed_envelope_is_a_refusal() {
    let e = read::<Done>("GET x", "plugins", 200, br#"{"ret":-1,"msg":"use ?force=true"}"#).unwrap_err();
    assert_eq!(e.to_string(), "use --force (HTTP 200)");
    assert_eq!(e.exit_code(), exit::OTHER);
}

#[test]
fn an_answer_that_is_not_the_record_says_so() {
    let e = read::<PluginView>("GET http://x/apis/plugins/v1/plugins/echo", "plugins", 200, b"<html>")
        .unwrap_err();
    assert_eq!(e.exit_code(), exit::OTHER);
    assert!(e.to_string().contains("cannot read") && e.to_string().contains("--url"), "{e}");
    let e = read::<PluginView>("GET x", "plugins", 200, br#"{"ret":0,"msg":"ok"}"#).unwrap_err();
    assert!(e.to_string().contains("missing field"), "{e}");
}
