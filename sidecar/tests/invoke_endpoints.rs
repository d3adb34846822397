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

#[test]
fn a_named_http_endpoint_resource_wins_over_an_app_id_and_sets_its_headers() {
    let outside = app::start();
    let endpoint = |name: &str| {
        format!(
            "apiVersion: dapr.io/v1alpha1\nkind: HTTPEndpoint\nmetadata:\n  name: {name}\nspec:\n  baseUrl: http://127.0.0.1:{}/base\n  headers:\n  - name: x-api-key\n    value: from-resource\n",
            outside.port
        )
    };
    let (ext, shadow) = (endpoint("ext"), endpoint("app2"));
    let f =
        common::fleet("", &[("caller", ""), ("app2", "")], &[("ext.yaml", &ext), ("shadow.yaml", &shadow)]);
    let r =
        req("GET", "/v1.0/invoke/ext/method/orders/7?x=1").header("x-api-key", "from-caller").send(f.port(0));
    assert_eq!(r.status, 200, "{}", r.text());
    let e = Echo::of(&r);
    assert_eq!((e.field("path").as_str(), e.field("query").as_str()), ("/base/orders/7", "x=1"));
    assert_eq!(
        e.headers("x-api-key"),
        vec!["from-resource".to_owned()],
        "the resource's header replaces the caller's"
    );
    assert!(e.header("dapr-caller-app-id").is_none());
    // An HTTPEndpoint named like an app-id wins over the app (daprd checks it first).
    let e = Echo::of(&get(f.port(0), "/v1.0/invoke/app2/method/x"));
    assert_eq!(e.field("path"), "/base/x");
    assert!(e.header("dapr-callee-app-id").is_none(), "not the app2 sidecar");
}
