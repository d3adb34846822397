//! What the caller gets back (reference §2.4): the app's status, headers and body as they are;
//! 2xx/3xx streamed without `Content-Length`; other statuses to a non-streaming request
//! buffered with `Content-Type` defaulting to `application/json`; redirects not followed.

mod common;

use common::http::{get, req};

#[test]
fn statuses_pass_through_with_their_bodies() {
    let f = common::fleet("", &[("app1", ""), ("app2", "")], &[]);
    for target in ["app1", "app2"] {
        for (verb, code) in
            [("POST", 201), ("PUT", 202), ("DELETE", 409), ("PATCH", 502), ("GET", 404), ("GET", 500)]
        {
            let r =
                req(verb, &format!("/v1.0/invoke/{target}/method/status/{code}")).body("x").send(f.port(0));
            assert_eq!(r.status, code, "{target} {verb} {code}");
            assert_eq!(r.text(), format!("status {code}"));
            assert_eq!(r.header("x-app"), Some("yes"));
            assert_eq!(r.header("content-type"), Some("text/plain"));
        }
        let r = get(f.port(0), &format!("/v1.0/invoke/{target}/method/status/204"));
        assert_eq!((r.status, r.body.len()), (204, 0));
    }
}

#[test]
fn success_bodies_are_streamed_without_content_length() {
    let f = common::fleet("", &[("app1", ""), ("app2", "")], &[]);
    for target in ["app1", "app2"] {
        let r = get(f.port(0), &format!("/v1.0/invoke/{target}/method/echo"));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("transfer-encoding"), Some("chunked"), "{target}");
        assert!(r.header("content-length").is_none(), "{target}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.header("dapr-app-id").is_none());
        // An empty body is Content-Length: 0, as Go writes when nothing was flushed.
        let r = get(f.port(0), &format!("/v1.0/invoke/{target}/method/empty"));
        assert_eq!((r.status, r.header("content-length"), r.body.len()), (200, Some("0"), 0));
    }
}

#[test]
fn redirects_are_returned_not_followed() {
    let f = common::fleet("", &[("app1", ""), ("app2", "")], &[]);
    for target in ["app1", "app2"] {
        let r = get(f.port(0), &format!("/v1.0/invoke/{target}/method/redirect"));
        assert_eq!(r.status, 302);
        assert_eq!(r.header("location"), Some("/elsewhere"));
        assert_eq!(r.text(), "moved");
    }
}

#[test]
fn error_statuses_are_buffered_with_a_default_content_type() {
    let f = common::fleet("", &[("app1", ""), ("app2", "")], &[]);
    for target in ["app1", "app2"] {
        // Non-streaming request (Content-Length): buffered, Content-Length set, JSON by default.
        let r =
            req("POST", &format!("/v1.0/invoke/{target}/method/status/418?noct")).body("x").send(f.port(0));
        assert_eq!(r.status, 418);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("content-length"), Some("10"));
        assert_eq!(r.text(), "status 418");
        // A streaming (chunked) request gets the error streamed like a success, no default type.
        let r = req("POST", &format!("/v1.0/invoke/{target}/method/status/418?noct"))
            .chunked(vec![b"x".to_vec()])
            .send(f.port(0));
        assert_eq!(r.status, 418);
        assert!(r.header("content-type").is_none(), "{target} {:?}", r.headers);
        assert_eq!(r.header("transfer-encoding"), Some("chunked"));
        assert_eq!(r.text(), "status 418");
    }
}

#[test]
fn chunked_request_bodies_reach_the_app_whole() {
    let f = common::fleet("", &[("app1", ""), ("app2", "")], &[]);
    for target in ["app1", "app2"] {
        let chunks = vec![b"hello ".to_vec(), b"streamed ".to_vec(), b"world".to_vec()];
        let r = req("POST", &format!("/v1.0/invoke/{target}/method/c")).chunked(chunks).send(f.port(0));
        let e = common::app::Echo::of(&r);
        assert_eq!(e.field("body"), "hello streamed world");
        assert_eq!(e.header("transfer-encoding").as_deref(), Some("chunked"));
        assert!(e.header("content-length").is_none());
    }
}

#[test]
fn head_requests_keep_the_declared_length() {
    let f = common::fleet("", &[("app1", ""), ("app2", "")], &[]);
    for target in ["app1", "app2"] {
        let r = req("HEAD", &format!("/v1.0/invoke/{target}/method/big?bytes=1234")).send(f.port(0));
        assert_eq!(r.status, 200, "{target}");
        assert!(r.body.is_empty());
    }
}
