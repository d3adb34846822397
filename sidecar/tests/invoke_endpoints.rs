//! Invocation of non-Dapr endpoints by URL (daprd's FQDN form,
//! `/v1.0/invoke/http://host:port/method/<m>`, raw or percent-encoded): the sidecar calls the URL
//! itself with the caller's verb, method, query, headers and body, without the identity stamps
//! or `Forwarded` headers of a sidecar-to-sidecar hop.

mod common;

use common::app::{self, Echo};
use common::http::{get, req};

#[test]
fn a_url_target_is_called_directly_with_path_query_and_body() {
    let f = common::fleet("", &[("caller", "")], &[]);
    let outside = app::start();
    let base = format!("http://127.0.0.1:{}", outside.port);
    let r = req("POST", &format!("/v1.0/invoke/{base}/method/orders/42?x=1&y=%20a"))
        .header("content-type", "application/json")
        .header("x-custom", "kept")
        .header("dapr-caller-app-id", "spoof")
        .body(r#"{"a":1}"#)
        .send(f.port(0));
    assert_eq!(r.status, 200, "{}", r.text());
    let e = Echo::of(&r);
    assert_eq!(e.field("method"), "POST");
    assert_eq!(e.field("path"), "/orders/42");
    assert_eq!(e.field("query"), "x=1&y=%20a");
    assert_eq!(e.field("body"), r#"{"a":1}"#);
    assert_eq!(e.header("x-custom").as_deref(), Some("kept"));
    assert_eq!(e.header("content-type").as_deref(), Some("application/json"));
    // Not a Dapr hop: no identity stamps (the spoofed one is dropped too), no Forwarded.
    for absent in
        ["dapr-caller-app-id", "dapr-callee-app-id", "dapr-caller-namespace", "x-forwarded-for", "forwarded"]
    {
        assert!(e.header(absent).is_none(), "{absent} must not reach a non-Dapr endpoint");
    }
    // The percent-encoded id is the same target; the method is cleaned as for app-ids.
    let encoded = format!("/v1.0/invoke/http%3A%2F%2F127.0.0.1%3A{}/method/a/../b", outside.port);
    let e = Echo::of(&get(f.port(0), &encoded));
    assert_eq!(e.field("path"), "/b");
    assert_eq!(e.field("method"), "GET");
}

#[test]
fn an_unreachable_url_is_a_direct_invoke_error_without_retries() {
    let f = common::fleet("", &[("caller", "")], &[]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let started = std::time::Instant::now();
    let r = get(f.port(0), &format!("/v1.0/invoke/http://127.0.0.1:{port}/method/x"));
    assert_eq!(r.status, 500);
    let body = r.json();
    assert_eq!(body["errorCode"], "ERR_DIRECT_INVOKE");
    let msg = body["message"].as_str().unwrap();
    assert!(msg.starts_with(&format!("failed to invoke, id: http://127.0.0.1:{port}, err: ")), "{msg}");
    assert!(msg.contains("connection refused"), "{msg}");
    // daprd's built-in retries (1 s apart) apply to sidecar hops only.
    assert!(started.elapsed() < std::time::Duration::from_millis(900), "{:?}", started.elapsed());
    // https needs TLS, which the stand-in does not have: a clear refusal, never cleartext.
    let r = get(f.port(0), "/v1.0/invoke/https://127.0.0.1:1/method/x");
    assert_eq!(r.status, 500);
    assert!(r.json()["message"].as_str().unwrap().contains("http:// endpoints only"));
}
