//! Every refusal of `POST /v1/plugins`: its HTTP status, its `ret`, a message that says what to
//! fix, and a state store left exactly as it was before the attempt.

mod registry_support;

use keel_e2e::Platform;
use registry_support::*;

/// Registers `id` on a registry that must refuse it with `status`, a message containing each of
/// `parts`, and no change to the store.
async fn refused(platform: &Platform, id: &str, status: u16, parts: &[&str], touched: &[&str]) -> String {
    let before = snapshot(platform, touched).await;
    let (got, body) = register(platform, REGISTRY, id, Some("a-fine-secret")).await;
    assert_eq!(got, status, "{body}");
    let ret = body["ret"].as_i64().unwrap_or(0);
    assert!(ret < 0, "ret must be a negative code: {body}");
    let msg = body["msg"].as_str().unwrap_or_default().to_owned();
    for part in parts {
        assert!(msg.contains(part), "expected {part:?} in {msg:?}");
    }
    assert_eq!(snapshot(platform, touched).await, before, "the store changed after a refused registration");
    msg
}

/// A platform with the registry (slow polling, so only registrations write; identify limited to
/// 1 s) and `apps`.
async fn platform(apps: Vec<keel_e2e::AppSpec>) -> Platform {
    let mut p = Platform::new();
    start_registry(&mut p, &[("KEEL_POLL_INTERVAL_MS", "3600000"), ("KEEL_IDENTIFY_TIMEOUT_MS", "1000")])
        .await;
    for app in apps {
        p.start(app).await;
    }
    p
}

async fn with_greeter(extra: Vec<keel_e2e::AppSpec>, greeter_env: &[(&str, &str)]) -> Platform {
    let mut apps = vec![fake("greeter", &[&[("FAKE_ADDONS", "decorate,sign")], greeter_env].concat())];
    apps.extend(extra);
    let p = platform(apps).await;
    let (status, body) = register(&p, REGISTRY, "greeter", None).await;
    assert_eq!(status, 201, "{body}");
    p
}

#[actix_rt::test]
async fn an_unknown_app_id_is_unreachable_502_naming_it() {
    let p = platform(vec![]).await;
    refused(&p, "ghost", 502, &["\"ghost\"", "unreachable", "app-id"], &["ghost"]).await;
}

#[actix_rt::test]
async fn a_slow_identify_is_504_naming_the_time_waited() {
    let p = platform(vec![fake("slow", &[("FAKE_IDENTIFY_DELAY_MS", "5000")])]).await;
    refused(&p, "slow", 504, &["\"slow\"", "within 1s", "identify_timeout_ms"], &["slow"]).await;
}

#[actix_rt::test]
async fn a_non_200_identify_is_502_quoting_the_plugins_message() {
    let p = platform(vec![fake(
        "broken",
        &[("FAKE_IDENTIFY_HTTP", "500"), ("FAKE_IDENTIFY_BODY", r#"{"ret":1,"msg":"database is down"}"#)],
    )])
    .await;
    refused(&p, "broken", 502, &["HTTP 500", "database is down"], &["broken"]).await;
}

#[actix_rt::test]
async fn a_non_zero_ret_is_502_quoting_the_plugins_message() {
    let p = platform(vec![fake(
        "unready",
        &[("FAKE_IDENTIFY_RET", "7"), ("FAKE_IDENTIFY_MSG", "not configured yet")],
    )])
    .await;
    refused(&p, "unready", 502, &["ret 7", "not configured yet"], &["unready"]).await;
}

#[actix_rt::test]
async fn a_malformed_identify_is_422_naming_the_field() {
    let p = platform(vec![
        fake(
            "badver",
            &[("FAKE_IDENTIFY_BODY", r#"{"ret":0,"msg":"ok","plugin_id":"badver","version":"one"}"#)],
        ),
        fake("noid", &[("FAKE_IDENTIFY_BODY", r#"{"ret":0,"msg":"ok","version":"1.0.0"}"#)]),
        fake("notjson", &[("FAKE_IDENTIFY_BODY", "hello")]),
    ])
    .await;
    refused(&p, "badver", 422, &["malformed /v1/identify", "version", "\"one\""], &["badver"]).await;
    refused(&p, "noid", 422, &["malformed /v1/identify", "plugin_id"], &["noid"]).await;
    refused(&p, "notjson", 422, &["malformed /v1/identify"], &["notjson"]).await;
}

#[actix_rt::test]
async fn an_oversized_identify_is_422_naming_the_limit_or_the_field() {
    let p = platform(vec![
        fake("huge", &[("FAKE_ADDONS", "p"), ("FAKE_DESC_BYTES", "3000000")]),
        fake("wordy", &[("FAKE_ADDONS", "p"), ("FAKE_DESC_BYTES", "2000")]),
    ])
    .await;
    refused(&p, "huge", 422, &["malformed /v1/identify", "bytes; the limit is 65536 bytes"], &["huge"]).await;
    refused(&p, "wordy", 422, &["addons[0].desc is 2000 bytes long; the limit is 1024"], &["wordy"]).await;
}

#[actix_rt::test]
async fn percent_encoded_dot_segments_are_refused_like_plain_ones() {
    let p = with_greeter(
        vec![
            fake("plain", &[("FAKE_IMPLEMENTS", "greeter@1:decorate=hooks/../admin")]),
            fake("encoded", &[("FAKE_IMPLEMENTS", "greeter@1:decorate=hooks/%2e%2e/admin")]),
            fake("mixed", &[("FAKE_IMPLEMENTS", "greeter@1:decorate=.%2E/admin")]),
            fake("public", &[("FAKE_PUBLIC", "ok,%2E%2e/secret")]),
            fake("point", &[("FAKE_ADDONS", "%2e%2e")]),
        ],
        &[],
    )
    .await;
    let field = "main_plugin[0].endpoints[0].endpoint";
    for (id, endpoint) in
        [("plain", "hooks/../admin"), ("encoded", "hooks/%2e%2e/admin"), ("mixed", ".%2E/admin")]
    {
        let quoted = format!("{endpoint:?}");
        refused(&p, id, 422, &[field, &quoted, "must be a relative path"], &[id, "greeter"]).await;
    }
    refused(&p, "public", 422, &["public_endpoints[1]", "\"%2E%2e/secret\""], &["public"]).await;
    refused(&p, "point", 422, &["addons[0].endpoint", "\"%2e%2e\""], &["point"]).await;
    assert!(addons_calls(&p, "greeter").await.is_empty(), "greeter must not be asked");
}

#[actix_rt::test]
async fn an_identify_reporting_another_id_is_422_naming_both() {
    let p = platform(vec![fake("mismatch", &[("FAKE_ID", "someone-else")])]).await;
    refused(
        &p,
        "mismatch",
        422,
        &["\"mismatch\"", "\"someone-else\"", "app-id"],
        &["mismatch", "someone-else"],
    )
    .await;
}

#[actix_rt::test]
async fn reserved_and_invalid_ids_are_refused_before_any_call() {
    let p = platform(vec![]).await;
    for id in ["keel", "auth", "addons", "v1"] {
        refused(&p, id, 403, &["reserved"], &[id]).await;
    }
    refused(&p, "Bad_Id", 400, &["lower-case"], &[]).await;
    refused(&p, "", 400, &["empty"], &[]).await;
}

#[actix_rt::test]
async fn a_second_registration_of_the_same_id_is_409() {
    let p = platform(vec![fake("echo1", &[])]).await;
    let (status, body) = register(&p, REGISTRY, "echo1", None).await;
    assert_eq!(status, 201, "{body}");
    refused(&p, "echo1", 409, &["already registered", "DELETE /v1/plugins/echo1"], &["echo1"]).await;
}

#[actix_rt::test]
async fn a_plugin_needing_a_newer_platform_is_422() {
    let p = platform(vec![fake("future", &[("FAKE_KEEL_VERSION", "9.1")])]).await;
    refused(&p, "future", 422, &["needs keel 9.1.0", "upgrade keel"], &["future"]).await;
}

#[actix_rt::test]
async fn extending_an_unregistered_plugin_is_424() {
    let p = platform(vec![fake("orphan", &[("FAKE_IMPLEMENTS", "nobody@1.0:point=hooks/p")])]).await;
    refused(&p, "orphan", 424, &["main_plugin[0]", "\"nobody\" is not registered"], &["orphan", "nobody"])
        .await;
}

#[actix_rt::test]
async fn extending_a_plugin_outside_the_version_range_is_424() {
    let p =
        with_greeter(vec![fake("emoji", &[("FAKE_IMPLEMENTS", "greeter@2.0:decorate=hooks/d")])], &[]).await;
    refused(&p, "emoji", 424, &["\"greeter\" is at version 1.0.0", "\"2.0\""], &["emoji", "greeter"]).await;
    assert!(addons_calls(&p, "greeter").await.is_empty(), "greeter must not be asked");
}

#[actix_rt::test]
async fn implementing_an_undeclared_point_is_422_listing_the_offered_ones() {
    let p = with_greeter(vec![fake("emoji", &[("FAKE_IMPLEMENTS", "greeter@1:nope=hooks/d")])], &[]).await;
    refused(&p, "emoji", 422, &["no addon point \"nope\"", "\"decorate\", \"sign\""], &["emoji", "greeter"])
        .await;
    assert!(addons_calls(&p, "greeter").await.is_empty(), "greeter must not be asked");
}

#[actix_rt::test]
async fn implementing_a_point_someone_else_implements_is_409_naming_them() {
    let implements = [("FAKE_IMPLEMENTS", "greeter@1:decorate=hooks/d")];
    let p = with_greeter(vec![fake("emoji", &implements), fake("emoji2", &implements)], &[]).await;
    let (status, body) = register(&p, REGISTRY, "emoji", None).await;
    assert_eq!(status, 201, "{body}");
    refused(
        &p,
        "emoji2",
        409,
        &["\"decorate\"", "already implemented by plugin \"emoji\""],
        &["emoji2", "greeter"],
    )
    .await;
}

#[actix_rt::test]
async fn a_refusal_by_the_extended_plugin_is_403_quoting_it() {
    let p = with_greeter(
        vec![fake("emoji", &[("FAKE_IMPLEMENTS", "greeter@1:decorate=hooks/d")])],
        &[("FAKE_ADDONS_REFUSE", "only signed plugins may decorate")],
    )
    .await;
    refused(
        &p,
        "emoji",
        403,
        &["\"greeter\" refused", "only signed plugins may decorate"],
        &["emoji", "greeter"],
    )
    .await;
    let calls = addons_calls(&p, "greeter").await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["plugin"]["id"], "emoji");
    assert_eq!(calls[0]["endpoint"][0]["addons_point"], "decorate");
}

#[actix_rt::test]
async fn a_too_short_secret_is_400() {
    let p = platform(vec![fake("shorty", &[])]).await;
    let before = snapshot(&p, &["shorty"]).await;
    let (status, body) = register(&p, REGISTRY, "shorty", Some("abc")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("8 to 1024 characters"), "{body}");
    assert_eq!(snapshot(&p, &["shorty"]).await, before);
}
