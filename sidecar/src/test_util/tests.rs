use super::*;
use actix_web::http::StatusCode;
use serde_json::json;

/// `(status, etag header, body)` of one request to the fake.
async fn send(
    fake: &FakeSidecar,
    method: &str,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> (u16, Option<String>, String) {
    let mut req = awc::Client::default().request(method.parse().unwrap(), format!("{}{path}", fake.url()));
    if let Some(t) = token {
        req = req.insert_header(("dapr-api-token", t));
    }
    let mut res = req.send_body(body.to_owned()).await.unwrap();
    let etag = res.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
    let body = res.body().limit(1 << 20).await.unwrap();
    (res.status().as_u16(), etag, String::from_utf8(body.to_vec()).unwrap())
}

#[actix_web::test]
async fn the_state_api_has_the_stand_ins_semantics() {
    let fake = FakeSidecar::builder("app").start().await;
    let save = |body: &'static str| send(&fake, "POST", "/v1.0/state/statestore", body, None);
    assert_eq!(send(&fake, "GET", "/v1.0/state/statestore/k", "", None).await.0, 204, "missing is 204");
    assert_eq!(save(r#"[{"key":"k","value":{"b":1.0,"a":"<x>"}}]"#).await.0, 204);
    let (status, etag, body) = send(&fake, "GET", "/v1.0/state/statestore/k", "", None).await;
    // Go's json.Marshal of the decoded value: keys sorted, 1.0 as 1, `<` escaped.
    assert_eq!((status, body.as_str()), (200, r#"{"a":"\u003cx\u003e","b":1}"#));
    let etag = etag.expect("an ETag");
    assert_eq!(fake.item("k").unwrap().etag, etag);
    assert_eq!(fake.value("k"), Some(json!({"a": "<x>", "b": 1})));

    // First-write and ETag checks, with daprd's statuses and bodies.
    let (status, _, body) = save(r#"[{"key":"k","value":2,"options":{"concurrency":"first-write"}}]"#).await;
    assert_eq!(status, 409);
    assert_eq!(
        body,
        r#"{"errorCode":"ERR_STATE_SAVE","message":"failed saving state in state store statestore: possible etag mismatch. error from state store: item already exists and no etag was passed"}"#
    );
    let stale = format!(r#"[{{"key":"k","value":2,"etag":"{etag}x"}}]"#);
    assert_eq!(send(&fake, "POST", "/v1.0/state/statestore", &stale, None).await.0, 409);
    let fresh = format!(r#"[{{"key":"k","value":2,"etag":"{etag}"}}]"#);
    assert_eq!(send(&fake, "POST", "/v1.0/state/statestore", &fresh, None).await.0, 204);
    assert_ne!(fake.item("k").unwrap().etag, etag, "every write gets a new ETag");

    // Transactions are all or nothing; bulk get reports missing keys without data.
    let tx = r#"{"operations":[{"operation":"upsert","request":{"key":"t","value":1}},
        {"operation":"delete","request":{"key":"k","etag":"nope"}}]}"#;
    let (status, _, body) = send(&fake, "POST", "/v1.0/state/statestore/transaction", tx, None).await;
    assert_eq!(status, 500);
    assert!(body.starts_with(r#"{"errorCode":"ERR_STATE_TRANSACTION","message":"error while executing state transaction: possible etag mismatch"#), "{body}");
    assert_eq!(fake.value("t"), None);
    let (status, _, body) =
        send(&fake, "POST", "/v1.0/state/statestore/bulk", r#"{"keys":["k","none"]}"#, None).await;
    assert_eq!(status, 200);
    let bulk: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (&bulk[0]["key"], &bulk[0]["data"], &bulk[1]),
        (&json!("k"), &json!(2), &json!({"key": "none"}))
    );

    // Another store name is daprd's 400 with details.
    let (status, _, body) = send(&fake, "GET", "/v1.0/state/other/k", "", None).await;
    assert_eq!(status, 400);
    assert!(body.starts_with(
        r#"{"errorCode":"ERR_STATE_STORE_NOT_FOUND","message":"state store other is not found""#
    ));
    fake.stop().await;
}

#[actix_web::test]
async fn the_test_reads_and_writes_the_store_under_the_key_prefix() {
    let fake = FakeSidecar::builder("app").start().await;
    fake.set_value("a/b", &json!({"v": [1, 2]}));
    let (status, _, body) = send(&fake, "GET", "/v1.0/state/statestore/a%2Fb", "", None).await;
    assert_eq!((status, body.as_str()), (200, r#"{"v":[1,2]}"#));
    assert_eq!(fake.dump(), "a/b = {\"v\":[1,2]}\n");
    fake.remove("a/b");
    assert_eq!(fake.value("a/b"), None);

    // keyPrefix decides the stored key; the test addresses keys as the app does.
    let fake = FakeSidecar::builder("app").store("s", "appid").start().await;
    send(&fake, "POST", "/v1.0/state/s", r#"[{"key":"k","value":"v"}]"#, None).await;
    assert_eq!(fake.memory.items()[0].0, "app||k");
    assert_eq!(fake.value("k"), Some(json!("v")));
}

#[actix_web::test]
async fn the_token_guards_everything_but_healthz() {
    let fake = FakeSidecar::builder("app")
        .token("secret")
        .fallback(|_| async { HttpResponse::Ok().finish() })
        .start()
        .await;
    assert_eq!(fake.client_config().api_token.as_deref(), Some("secret"));
    for path in ["/v1.0/state/statestore/k", "/v1.0/invoke/x/method/y", "/v1.0/metadata"] {
        let (status, _, body) = send(&fake, "GET", path, "", None).await;
        assert_eq!((status, body.as_str()), (401, "invalid api token\n"), "{path}");
        assert_ne!(send(&fake, "GET", path, "", Some("secret")).await.0, 401, "{path}");
    }
    assert_eq!(send(&fake, "GET", "/v1.0/healthz", "", None).await.0, 204);
    assert_eq!(send(&fake, "GET", "/v1.0/healthz/outbound", "", None).await.0, 204);
    assert_eq!(fake.calls_to("x"), 1, "the refused call never reached the app");
}

#[actix_web::test]
async fn invocations_reach_their_handler_and_are_counted() {
    let fake = FakeSidecar::builder("app")
        .app("echo", |mut inv: Invocation| async move {
            let body = inv.body_bytes().await.unwrap();
            let query = inv.request.query_string().to_owned();
            HttpResponse::Ok().body(format!(
                "echo {} {} {query} {}",
                inv.request.method(),
                inv.method,
                body.len()
            ))
        })
        .fallback(
            |inv: Invocation| async move { HttpResponse::Accepted().body(format!("any {}", inv.app_id)) },
        )
        .start()
        .await;
    let (status, _, body) =
        send(&fake, "POST", "/v1.0/invoke/echo/method/a/../b%20c?x=1", "hello", None).await;
    assert_eq!((status, body.as_str()), (200, "echo POST b c x=1 5"));
    assert_eq!(send(&fake, "GET", "/v1.0/invoke/other/method/v1/status", "", None).await.2, "any other");
    // The dapr-app-id header form: the whole path is the method.
    let res = awc::Client::default()
        .get(format!("{}/v1/status", fake.url()))
        .insert_header(("dapr-app-id", "other"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(
        (fake.calls("echo", "b c"), fake.calls("other", "v1/status"), fake.calls_to("other")),
        (1, 2, 2)
    );

    // daprd's own answers: no app-id, a forbidden method.
    let (status, _, body) = send(&fake, "GET", "/nowhere", "", None).await;
    assert_eq!(
        (status, body.as_str()),
        (
            404,
            r#"{"errorCode":"ERR_DIRECT_INVOKE","message":"failed getting app id either from the URL path or the header dapr-app-id"}"#
        )
    );
    assert_eq!(send(&fake, "GET", "/v1.0/invoke/echo/method/a%23b", "", None).await.0, 500);
    assert_eq!(fake.calls_to("echo"), 1);
}

#[actix_web::test]
async fn an_app_nobody_answers_for_is_daprds_no_host_error() {
    let fake =
        FakeSidecar::builder("app").app("echo", |_| async { HttpResponse::Ok().finish() }).start().await;
    let (status, _, body) = send(&fake, "GET", "/v1.0/invoke/ghost/method/x", "", None).await;
    assert_eq!(
        (status, body.as_str()),
        (
            500,
            r#"{"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: ghost, err: no host found with the given ID"}"#
        )
    );
    assert_eq!(fake.calls("ghost", "x"), 1);
}
