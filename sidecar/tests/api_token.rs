//! `DAPR_API_TOKEN` (reference §3.1): every request needs `dapr-api-token`, except
//! `GET /v1.0/healthz` and `/v1.0/healthz/outbound`; failures are Go's `http.Error` text; the
//! header is removed before anything reaches an app.

mod common;

use common::app::Echo;
use common::http::req;

fn guarded() -> common::Fleet {
    common::fleet(
        "",
        &[("app1", "env:\n  DAPR_API_TOKEN: s3cret"), ("app2", "")],
        &[("store.yaml", &common::state_component("store", "state.in-memory", &[]))],
    )
}

#[test]
fn requests_without_the_token_get_401_text() {
    let f = guarded();
    for (method, path) in [
        ("GET", "/v1.0/metadata"),
        ("POST", "/v1.0/shutdown"),
        ("HEAD", "/v1.0/healthz"),
        ("GET", "/v1.0/state/store/k"),
        ("GET", "/v1.0/invoke/app2/method/x"),
        ("GET", "/anything"),
    ] {
        let r = req(method, path).send(f.port(0));
        assert_eq!(r.status, 401, "{method} {path}");
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        if method != "HEAD" {
            assert_eq!(r.text(), "invalid api token\n");
        }
        let wrong = req(method, path).header("dapr-api-token", "S3CRET").send(f.port(0));
        assert_eq!(wrong.status, 401, "{method} {path} with a wrong token");
    }
}

#[test]
fn healthz_routes_are_exempt() {
    let f = guarded();
    for path in ["/v1.0/healthz", "/v1.0/healthz/outbound", "/v1.0/healthz/"] {
        assert_eq!(req("GET", path).send(f.port(0)).status, 204, "{path}");
    }
}

#[test]
fn the_right_token_passes_and_is_not_forwarded() {
    let f = guarded();
    let r = req("GET", "/v1.0/metadata").header("dapr-api-token", "s3cret").send(f.port(0));
    assert_eq!(r.status, 200);
    for target in ["app1", "app2"] {
        let e = Echo::of(
            &req("GET", &format!("/v1.0/invoke/{target}/method/t"))
                .header("dapr-api-token", "s3cret")
                .send(f.port(0)),
        );
        assert!(e.header("dapr-api-token").is_none(), "{target} received the caller's API token");
    }
    // The other sidecar has no token: no check there.
    assert_eq!(req("GET", "/v1.0/metadata").send(f.port(1)).status, 200);
}
