//! The state API's request handling on `state.in-memory` (reference §5): body decoding, query,
//! store lookup, key rules, limits and their errors. What each store does with a request (ETags,
//! first-write, TTL, bulk get, transactions) is `state_stores.rs`, run on every store.

mod common;

use common::http::{get, post, req, Resp};
use serde_json::{json, Value};

const STORE: &str = "store";

fn fleet() -> common::Fleet {
    common::fleet(
        "",
        &[("app1", ""), ("small", "maxBodySize: 1Ki")],
        &[("store.yaml", &common::state_component(STORE, "state.in-memory", &[]))],
    )
}

fn save(port: u16, body: &str) -> Resp {
    post(port, &format!("/v1.0/state/{STORE}"), body)
}

fn read(port: u16, key: &str) -> Resp {
    get(port, &format!("/v1.0/state/{STORE}/{key}"))
}

fn error(r: &Resp) -> (u16, String, String) {
    let v = r.json();
    (r.status, v["errorCode"].as_str().unwrap().to_owned(), v["message"].as_str().unwrap().to_owned())
}

#[test]
fn missing_keys_are_204_and_empty_saves_are_204() {
    let f = fleet();
    let r = read(f.port(0), "nothing");
    assert_eq!((r.status, r.body.len(), r.header("etag")), (204, 0, None));
    assert_eq!(save(f.port(0), "[]").status, 204);
    assert_eq!(save(f.port(0), "null").status, 204);
    assert_eq!(
        req("PUT", &format!("/v1.0/state/{STORE}")).body(r#"[{"key":"p","value":1}]"#).send(f.port(0)).status,
        204
    );
}

#[test]
fn malformed_save_bodies_are_400_with_go_texts() {
    let f = fleet();
    for (body, message) in [
        ("", "EOF"),
        ("{}", "json: cannot unmarshal object into Go value of type []state.SetRequest"),
        ("[{}]", "\"key\" is a required field"),
        (r#"[{"ey":"key1","value":"v"}]"#, "\"key\" is a required field"),
        (
            r#"[{"key":"key1","value":"v","etag":123}]"#,
            "json: cannot unmarshal number into Go struct field SetRequest.etag of type string",
        ),
        (r#"[{"key":"a"},]"#, "invalid character ']' looking for beginning of value"),
    ] {
        assert_eq!(
            error(&save(f.port(0), body)),
            (400, "ERR_MALFORMED_REQUEST".into(), message.into()),
            "{body:?}"
        );
    }
    let r = save(f.port(0), "foobar");
    assert_eq!(error(&r).1, "ERR_MALFORMED_REQUEST");
}

#[test]
fn query_is_not_supported() {
    let f = fleet();
    let r = post(f.port(0), &format!("/v1.0-alpha1/state/{STORE}/query"), r#"{"filter":{}}"#);
    assert_eq!(
        error(&r),
        (500, "ERR_STATE_STORE_NOT_SUPPORTED".into(), "state store does not support querying".into())
    );
    assert_eq!(r.json()["details"][0]["reason"], "DAPR_STATE_QUERYING_NOT_SUPPORTED");
}

#[test]
fn unknown_stores_are_400_with_details_even_before_the_body_is_read() {
    let f = fleet();
    let want = r#"{"errorCode":"ERR_STATE_STORE_NOT_FOUND","message":"state store nostore is not found","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","domain":"dapr.io","metadata":{"appID":"app1"},"reason":"DAPR_STATE_NOT_FOUND"}]}"#;
    assert_eq!(get(f.port(0), "/v1.0/state/nostore/k").text(), want);
    let r = req("POST", "/v1.0/state/nostore").send(f.port(0));
    assert_eq!((r.status, r.text().as_str()), (400, want));
    let r = post(f.port(0), "/v1.0-alpha1/state/nostore/query", "{}");
    assert_eq!(r.json()["details"][0]["metadata"], Value::Null);
}

#[test]
fn without_any_store_the_state_api_is_not_configured() {
    let f = common::fleet("", &[("app1", "")], &[]);
    let r = get(f.port(0), "/v1.0/state/mystore/k");
    assert_eq!(r.status, 500);
    assert_eq!(
        r.json(),
        json!({"errorCode":"ERR_STATE_STORE_NOT_CONFIGURED","message":"state store mystore is not configured","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","domain":"dapr.io","metadata":{"appID":"app1"},"reason":"DAPR_STATE_NOT_CONFIGURED"}]})
    );
}

#[test]
fn keys_with_the_separator_are_refused_with_the_rich_error() {
    let f = fleet();
    let p = f.port(0);
    for r in [
        save(p, r#"[{"key":"ke||y1","value":1}]"#),
        read(p, "ke%7C%7Cy1"),
        req("DELETE", &format!("/v1.0/state/{STORE}/ke||y1")).send(p),
        post(p, &format!("/v1.0/state/{STORE}/bulk"), r#"{"keys":["ke||y1"]}"#),
    ] {
        let v = r.json();
        assert_eq!(r.status, 400);
        assert_eq!(v["errorCode"], "ERR_MALFORMED_REQUEST");
        assert_eq!(
            v["message"],
            "api error: code = InvalidArgument desc = input key/keyPrefix 'ke||y1' can't contain '||'"
        );
        let details = v["details"].as_array().unwrap();
        assert_eq!(details.len(), 3);
        assert_eq!(details[0]["field_violations"][0]["field"], "ke||y1");
        assert_eq!(details[1]["resource_type"], "state");
        assert_eq!(details[1]["resource_name"], STORE);
        assert_eq!(details[2]["reason"], "DAPR_STATE_ILLEGAL_KEY");
    }
}

#[test]
fn url_keys_decode_plus_and_escaped_slashes() {
    let f = fleet();
    let p = f.port(0);
    save(p, r#"[{"key":"a/b","value":"slash"},{"key":"a b","value":"space"}]"#);
    assert_eq!(read(p, "a%2Fb").text(), r#""slash""#);
    assert_eq!(read(p, "a+b").text(), r#""space""#);
    assert_eq!(read(p, "a%20b").text(), r#""space""#);
    let r = read(p, "a%zz");
    assert_eq!(r.status, 400);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.text(), "failed to unescape request parameter \"key\". Error: invalid URL escape \"%zz\"\n");
}

#[test]
fn bodies_over_the_max_body_size_are_stream_too_large() {
    let f = fleet();
    let big = format!(r#"[{{"key":"k","value":"{}"}}]"#, "x".repeat(2048));
    let r = save(f.port(1), &big);
    assert_eq!(error(&r), (400, "ERR_MALFORMED_REQUEST".into(), "stream too large".into()));
    assert_eq!(save(f.port(0), &big).status, 204, "4Mi by default");
}
