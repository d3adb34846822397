//! The headers an app receives (reference §2.3, §3.2): everything end-to-end except hop-by-hop
//! headers and `dapr-app-id`; identity stamps set by the sidecar and never spoofable; the
//! callee's `APP_API_TOKEN`; trace context passed through; forwarding headers only remotely.

mod common;

use common::app::Echo;
use common::http::req;

fn tokens_fleet() -> common::Fleet {
    common::fleet(
        "",
        &[("app1", "env:\n  APP_API_TOKEN: abc"), ("app2", "env:\n  APP_API_TOKEN: def"), ("app3", "")],
        &[],
    )
}

#[test]
fn identity_stamps_overwrite_what_the_caller_sent() {
    let f = tokens_fleet();
    for target in ["app1", "app2"] {
        let e = Echo::of(
            &req("GET", &format!("/v1.0/invoke/{target}/method/who"))
                .header("dapr-caller-app-id", "evil")
                .header("Dapr-Caller-Namespace", "evil-ns")
                .header("DAPR-CALLEE-APP-ID", "evil")
                .send(f.port(0)),
        );
        assert_eq!(e.headers("dapr-caller-app-id"), vec!["app1"], "{target}");
        assert_eq!(e.headers("dapr-caller-namespace"), vec!["default"], "{target}");
        assert_eq!(e.headers("dapr-callee-app-id"), vec![target], "{target}");
    }
}

#[test]
fn the_namespace_stamp_follows_the_callers_namespace_env() {
    let f = common::fleet("", &[("app1", "env:\n  NAMESPACE: prod"), ("app2", "")], &[]);
    let e = Echo::of(&req("GET", "/v1.0/invoke/app2/method/x").send(f.port(0)));
    assert_eq!(e.header("dapr-caller-namespace").as_deref(), Some("prod"));
}

#[test]
fn hop_by_hop_headers_are_dropped_and_end_to_end_ones_kept() {
    let f = tokens_fleet();
    for target in ["app1", "app3"] {
        let e = Echo::of(
            &req("POST", &format!("/v1.0/invoke/{target}/method/h"))
                .header("Connection", "close, X-Secret")
                .header("X-Secret", "hidden")
                .header("Keep-Alive", "timeout=5")
                .header("Proxy-Connection", "keep-alive")
                .header("Proxy-Authorization", "Basic Zm9vOmJhcg==")
                .header("TE", "trailers")
                .header("Trailer", "X-T")
                .header("X-Multi", "one")
                .header("X-Multi", "two")
                .header("Authorization", "Bearer tok")
                .header("Cookie", "a=b")
                .header("Content-Type", "text/csv")
                .body("a,b")
                .send(f.port(0)),
        );
        for gone in [
            "x-secret",
            "keep-alive",
            "proxy-connection",
            "proxy-authorization",
            "te",
            "trailer",
            "dapr-app-id",
        ] {
            assert!(e.header(gone).is_none(), "{target}: {gone} forwarded");
        }
        assert!(e.headers("connection").iter().all(|v| !v.to_lowercase().contains("x-secret")));
        assert_eq!(e.headers("x-multi"), vec!["one", "two"], "{target}");
        assert_eq!(e.header("authorization").as_deref(), Some("Bearer tok"));
        assert_eq!(e.header("cookie").as_deref(), Some("a=b"));
        assert_eq!(e.header("content-type").as_deref(), Some("text/csv"));
        assert_eq!(e.header("content-length").as_deref(), Some("3"));
        assert_eq!(e.field("body"), "a,b");
    }
}

#[test]
fn no_content_type_is_added_when_the_caller_sent_none() {
    let f = tokens_fleet();
    for target in ["app1", "app2"] {
        let e =
            Echo::of(&req("POST", &format!("/v1.0/invoke/{target}/method/x")).body("raw").send(f.port(0)));
        assert!(e.header("content-type").is_none(), "{target}");
        assert_eq!(e.header("user-agent").as_deref(), Some("Go-http-client/1.1"), "{target}");
        assert_eq!(
            e.header("host"),
            Some(format!("127.0.0.1:{}", f.ready[if target == "app1" { 0 } else { 1 }].app_port))
        );
    }
}

#[test]
fn the_callee_receives_its_own_app_api_token() {
    let f = tokens_fleet();
    let token = |target: &str, sent: Option<&str>| {
        let mut r = req("GET", &format!("/v1.0/invoke/{target}/method/t"));
        if let Some(s) = sent {
            r = r.header("dapr-api-token", s);
        }
        Echo::of(&r.send(f.port(0))).headers("dapr-api-token")
    };
    // Caller app1 (abc) → callee app2 (def): the callee's token, replacing anything sent.
    assert_eq!(token("app2", None), vec!["def"]);
    assert_eq!(token("app2", Some("spoof")), vec!["def"]);
    // Self-invocation: app1's own token.
    assert_eq!(token("app1", None), vec!["abc"]);
    // Callee without APP_API_TOKEN: the caller's APP_API_TOKEN never travels.
    assert!(token("app3", None).is_empty());
    // Without DAPR_API_TOKEN on the caller's sidecar, daprd forwards a client-sent header as is.
    assert_eq!(token("app3", Some("client")), vec!["client"]);
}

#[test]
fn trace_context_passes_through_unchanged() {
    let f = tokens_fleet();
    let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    for target in ["app1", "app2"] {
        let e = Echo::of(
            &req("GET", &format!("/v1.0/invoke/{target}/method/t"))
                .header("traceparent", tp)
                .header("tracestate", "congo=t61rcWkgMzE")
                .header("baggage", "k=v")
                .send(f.port(0)),
        );
        assert_eq!(e.header("traceparent").as_deref(), Some(tp));
        assert_eq!(e.header("tracestate").as_deref(), Some("congo=t61rcWkgMzE"));
        assert_eq!(e.header("baggage").as_deref(), Some("k=v"));
    }
}

#[test]
fn forwarding_headers_are_added_only_for_remote_calls() {
    let f = tokens_fleet();
    let local = Echo::of(&req("GET", "/v1.0/invoke/app1/method/f").send(f.port(0)));
    assert!(local.header("x-forwarded-for").is_none());
    assert!(local.header("forwarded").is_none());
    let remote = Echo::of(
        &req("GET", "/v1.0/invoke/app2/method/f").header("X-Forwarded-For", "10.1.1.1").send(f.port(0)),
    );
    assert_eq!(remote.headers("x-forwarded-for"), vec!["10.1.1.1", "127.0.0.1"]);
    let host = remote.header("x-forwarded-host").expect("x-forwarded-host");
    assert_eq!(remote.header("forwarded"), Some(format!("for=127.0.0.1;by=127.0.0.1;host={host}")));
}
