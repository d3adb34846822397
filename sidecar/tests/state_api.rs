//! The state API on `state.in-memory` (reference §5): save, get, delete, bulk get, transactions,
//! query, ETags, first-write, TTL, key rules, and every documented error.

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
fn values_round_trip_as_go_re_serialises_them() {
    let f = fleet();
    let p = f.port(0);
    let r = save(
        p,
        r#"[{"key":"obj","value":{"b":1.0,"a":"<x&y>","c":[1e21,0.0000001,"\u2028"]}},{"key":"str","value":"hello"},{"key":"nul"},{"key":"num","value":12345678901234567890}]"#,
    );
    assert_eq!((r.status, r.body.len()), (204, 0), "{}", r.text());
    let obj = read(p, "obj");
    assert_eq!(obj.status, 200);
    assert_eq!(obj.text(), r#"{"a":"\u003cx\u0026y\u003e","b":1,"c":[1e+21,1e-7,"\u2028"]}"#);
    assert_eq!(obj.header("content-type"), Some("application/json"));
    assert_eq!(obj.header("etag").map(str::len), Some(36));
    assert_eq!(read(p, "str").text(), r#""hello""#);
    assert_eq!(read(p, "nul").text(), "null");
    assert_eq!(read(p, "num").text(), "12345678901234567000");
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
fn etags_guard_writes_with_409_on_mismatch() {
    let f = fleet();
    let p = f.port(0);
    assert_eq!(save(p, r#"[{"key":"k1","value":1}]"#).status, 204);
    let etag = read(p, "k1").header("etag").unwrap().to_owned();
    let r = save(p, r#"[{"key":"k1","value":2,"etag":"bad"}]"#);
    assert_eq!(
        error(&r),
        (
            409,
            "ERR_STATE_SAVE".into(),
            format!("failed saving state in state store store: possible etag mismatch. error from state store: state etag not match for key=app1||k1: current={etag}, expect=bad")
        )
    );
    assert_eq!(save(p, &format!(r#"[{{"key":"k1","value":2,"etag":"{etag}"}}]"#)).status, 204);
    let after = read(p, "k1");
    assert_eq!(after.text(), "2");
    assert_ne!(after.header("etag").unwrap(), etag);
    let r = save(p, r#"[{"key":"ghost","value":2,"etag":"x"}]"#);
    assert_eq!(
        error(&r).2,
        "failed saving state in state store store: possible etag mismatch. error from state store: state not exist or expired for key=app1||ghost"
    );
}

#[test]
fn first_write_refuses_to_overwrite_without_an_etag() {
    let f = fleet();
    let p = f.port(0);
    let fw = |key: &str| {
        save(p, &format!(r#"[{{"key":"{key}","value":1,"options":{{"concurrency":"first-write"}}}}]"#))
    };
    assert_eq!(fw("fresh").status, 204);
    assert_eq!(
        error(&fw("fresh")),
        (409, "ERR_STATE_SAVE".into(), "failed saving state in state store store: possible etag mismatch. error from state store: item already exists and no etag was passed".into())
    );
    let r = save(p, r#"[{"key":"x","value":1,"options":{"concurrency":"sometimes"}}]"#);
    assert_eq!(
        error(&r),
        (
            500,
            "ERR_STATE_SAVE".into(),
            "failed saving state in state store store: unrecognized concurrency model 'sometimes'".into()
        )
    );
}

#[test]
fn ttl_items_report_their_expiry_and_then_vanish() {
    let f = fleet();
    let p = f.port(0);
    assert_eq!(save(p, r#"[{"key":"t1","value":"v","metadata":{"ttlInSeconds":"1"}}]"#).status, 204);
    assert_eq!(
        post(p, &format!("/v1.0/state/{STORE}?metadata.ttlInSeconds=1"), r#"[{"key":"t2","value":"v"}]"#)
            .status,
        204
    );
    let r = read(p, "t1");
    assert_eq!(r.status, 200);
    let expiry = r.header("metadata.ttlexpiretime").expect("ttl header").to_owned();
    assert!(expiry.len() == 20 && expiry.ends_with('Z') && expiry.as_bytes()[10] == b'T', "{expiry}");
    for key in ["t1", "t2"] {
        common::eventually(&format!("{key} to expire"), || (read(p, key).status == 204).then_some(()));
    }
    let r = save(p, r#"[{"key":"t3","value":"v","metadata":{"ttlInSeconds":"soon"}}]"#);
    assert_eq!(error(&r).0, 500);
    assert!(error(&r).2.contains(r#"strconv.Atoi: parsing "soon": invalid syntax"#));
}

#[test]
fn deletes_are_idempotent_and_guarded_by_if_match() {
    let f = fleet();
    let p = f.port(0);
    let del = |key: &str, etag: Option<&str>| {
        let mut r = req("DELETE", &format!("/v1.0/state/{STORE}/{key}"));
        if let Some(e) = etag {
            r = r.header("If-Match", e);
        }
        r.send(p)
    };
    assert_eq!(del("never", None).status, 204);
    save(p, r#"[{"key":"d","value":1}]"#);
    let etag = read(p, "d").header("etag").unwrap().to_owned();
    assert_eq!(
        error(&del("d", Some("bad"))),
        (
            409,
            "ERR_STATE_DELETE".into(),
            format!("failed deleting state with key d: possible etag mismatch. error from state store: state etag not match for key=app1||d: current={etag}, expect=bad")
        )
    );
    assert_eq!(del("d", Some(&etag)).status, 204);
    assert_eq!(read(p, "d").status, 204);
    assert_eq!(error(&del("d", Some(&etag))).0, 409, "an etag for a missing key");
}

#[test]
fn bulk_get_uses_the_data_field_and_ends_with_a_newline() {
    let f = fleet();
    let p = f.port(0);
    save(p, r#"[{"key":"b1","value":{"x":1}},{"key":"b<2>","value":"two"}]"#);
    let e1 = read(p, "b1").header("etag").unwrap().to_owned();
    let r =
        post(p, &format!("/v1.0/state/{STORE}/bulk"), r#"{"keys":["b1","missing","b<2>"],"parallelism":2}"#);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let text = r.text();
    assert!(text.ends_with("]\n"), "{text:?}");
    assert!(text.starts_with(&format!(r#"[{{"key":"b1","data":{{"x":1}},"etag":"{e1}"}},{{"key":"missing"}},{{"key":"b\u003c2\u003e","data":"two","etag":""#)), "{text}");
    let r = post(p, &format!("/v1.0/state/{STORE}/bulk"), r#"{"keys":[]}"#);
    assert_eq!((r.status, r.text().as_str()), (200, "[]\n"));
    let r = post(p, &format!("/v1.0/state/{STORE}/bulk"), "[1]");
    assert_eq!(error(&r).0, 400);
    assert!(error(&r).2.starts_with("failed deserializing HTTP body: "));
}

#[test]
fn transactions_apply_everything_or_nothing() {
    let f = fleet();
    let p = f.port(0);
    save(p, r#"[{"key":"a","value":1},{"key":"gone","value":1}]"#);
    let tx = |body: Value| post(p, &format!("/v1.0/state/{STORE}/transaction"), &body.to_string());
    let r = tx(json!({"operations": [
        {"operation": "upsert", "request": {"key": "new", "value": {"n": 1}}},
        {"operation": "delete", "request": {"key": "gone"}},
        {"operation": "upsert", "request": {"key": "a", "value": 2, "etag": "bad"}},
    ]}));
    let (status, code, message) = error(&r);
    assert_eq!((status, code.as_str()), (500, "ERR_STATE_TRANSACTION"));
    assert!(message.starts_with("error while executing state transaction: possible etag mismatch. error from state store: state etag not match for key=app1||a"), "{message}");
    assert_eq!(read(p, "new").status, 204, "nothing was applied");
    assert_eq!(read(p, "gone").status, 200);
    let etag = read(p, "a").header("etag").unwrap().to_owned();
    let r = tx(json!({"operations": [
        {"operation": "upsert", "request": {"key": "new", "value": {"n": 1}}},
        {"operation": "delete", "request": {"key": "gone"}},
        {"operation": "upsert", "request": {"Key": "a", "Value": 2, "ETag": etag}},
    ]}));
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(read(p, "new").text(), r#"{"n":1}"#);
    assert_eq!(read(p, "gone").status, 204);
    assert_eq!(read(p, "a").text(), "2");
    assert_eq!(tx(json!({"operations": []})).status, 204);
    let r = tx(json!({"operations": [{"operation": "patch", "request": {"key": "a"}}]}));
    assert_eq!(
        error(&r),
        (400, "ERR_NOT_SUPPORTED_STATE_OPERATION".into(), "operation type patch not supported".into())
    );
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
