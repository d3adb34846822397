//! Method normalisation (reference §2.2, daprd's v1.18 traversal fix): percent-decoding,
//! `path.Clean`, and the characters refused with 500 `ERR_DIRECT_INVOKE`.

mod common;

use common::app::Echo;
use common::http::{get, req};

#[test]
fn forbidden_characters_are_a_500_with_daprds_message() {
    let f = common::fleet("", &[("app1", ""), ("app2", "")], &[]);
    for (suffix, quoted) in [
        ("test%23stream", r#""test#stream""#),
        ("test%3Fstream", r#""test?stream""#),
        ("test%00stream", r#""test\x00stream""#),
        ("test%0Dstream", r#""test\rstream""#),
    ] {
        for target in ["app1", "app2"] {
            let r = get(f.port(0), &format!("/v1.0/invoke/{target}/method/{suffix}"));
            assert_eq!(r.status, 500, "{suffix}");
            assert_eq!(
                r.json(),
                serde_json::json!({
                    "errorCode": "ERR_DIRECT_INVOKE",
                    "message": format!("failed to invoke, id: {target}, err: rpc error: code = InvalidArgument desc = invalid method: method contains forbidden character: {quoted}")
                }),
                "{suffix}"
            );
        }
    }
}

#[test]
fn a_decoded_percent_that_breaks_the_app_url_is_a_500() {
    let f = common::fleet("", &[("app1", "")], &[]);
    let r = get(f.port(0), "/v1.0/invoke/app1/method/test%25stream");
    assert_eq!(r.status, 500);
    let msg = r.json()["message"].as_str().unwrap().to_owned();
    assert!(msg.starts_with("failed to invoke, id: app1, err: parse "), "{msg}");
    assert!(msg.contains(r#"invalid URL escape "%st""#), "{msg}");
}

#[test]
fn the_path_correctness_table_holds() {
    let f = common::fleet("", &[("app1", ""), ("app2", "")], &[]);
    // (request suffix after /method/, what the app's decoded path is); self and remote alike.
    for target in ["app1", "app2"] {
        for (suffix, want) in [
            ("test%22stream", "/test\"stream"),
            ("test%2Astream", "/test*stream"),
            ("test%5Cstream", "/test\\stream"),
            ("admin%2F..%2Fpublic", "/public"),
            ("a/./b/../c", "/a/c"),
            ("../../etc/passwd", "/etc/passwd"),
            ("trailing/", "/trailing"),
            ("", "/"),
        ] {
            let e = Echo::of(&get(f.port(0), &format!("/v1.0/invoke/{target}/method/{suffix}")));
            assert_eq!(e.field("decoded"), want, "{target} {suffix:?}");
        }
        // A literal `?` starts the query.
        let e = Echo::of(&get(f.port(0), &format!("/v1.0/invoke/{target}/method/test?stream")));
        assert_eq!((e.field("path").as_str(), e.field("query").as_str()), ("/test", "stream"));
    }
    // The wire form of characters a URL path may not hold is re-escaped, as Go's client does.
    assert_eq!(
        Echo::of(&get(f.port(0), "/v1.0/invoke/app1/method/test%22stream")).field("path"),
        "/test%22stream"
    );
}

#[test]
fn header_form_paths_are_cleaned_too() {
    let f = common::fleet("", &[("app1", "")], &[]);
    let e = Echo::of(&req("GET", "/admin/../public").header("dapr-app-id", "app1").send(f.port(0)));
    assert_eq!(e.field("path"), "/public");
    let e = Echo::of(&req("GET", "//a//b/").header("dapr-app-id", "app1").send(f.port(0)));
    assert_eq!(e.field("path"), "/a/b");
    let r = req("GET", "/a%23b").header("dapr-app-id", "app1").send(f.port(0));
    assert_eq!(r.status, 500);
}
