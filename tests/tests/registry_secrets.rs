//! Secrets: stored only as an argon2 hash, never in any response, never in any log line.

mod registry_support;

use keel_e2e::Platform;
use registry_support::*;

const SECRET: &str = "s3cr3t-Pa55-7e1f-registry";

/// What auth's token endpoint answers to a client-credentials grant for `id` with `secret`.
async fn client_grant(p: &Platform, id: &str, secret: &str) -> (u16, serde_json::Value) {
    let mut res = keel_e2e::client()
        .post(format!("{}/v1.0/invoke/auth/method/v1/oauth/token", p.dapr_url(REGISTRY)))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .send_body(format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"))
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or_default())
}

#[actix_rt::test]
async fn the_secret_is_stored_only_as_a_hash_and_never_shown_or_logged() {
    let mut p = Platform::new();
    p.start(auth()).await;
    start_registry(&mut p, &[("KEEL_LOG", "debug")]).await;
    p.start(fake("vault", &[])).await;

    let mut answers = Vec::new();
    let (status, body) = register(&p, REGISTRY, "vault", Some(SECRET)).await;
    assert_eq!(status, 201, "{body}");
    answers.push(body.to_string());
    // A refused attempt carrying the secret, and one sending it with the wrong type.
    let (status, body) = register(&p, REGISTRY, "vault", Some(SECRET)).await;
    assert_eq!(status, 409);
    answers.push(body.to_string());
    let (status, body) = call(
        "POST",
        &format!("{}/v1/plugins", api(&p, REGISTRY)),
        Some(serde_json::json!({"id": "vault", "secret": 8_675_309_123_u64})),
    )
    .await;
    assert_eq!(status, 400);
    answers.push(body.to_string());
    answers.push(get_plugin(&p, REGISTRY, "vault").await.1.to_string());
    answers.push(call("GET", &format!("{}/v1/plugins", api(&p, REGISTRY)), None).await.1.to_string());
    answers.push(routes(&p, REGISTRY).await.to_string());
    for answer in &answers {
        assert!(!answer.contains(SECRET) && !answer.contains("8675309123"), "secret in {answer}");
        assert!(!answer.contains("argon2") && !answer.contains("secret_hash"), "hash in {answer}");
    }

    // The registry's record holds neither the secret nor a hash of it; auth's client record
    // holds the only copy, as an argon2id hash.
    let record = stored_record(&p, "vault").await.expect("record");
    assert!(!record.to_string().contains(SECRET) && record.get("secret_hash").is_none(), "{record}");
    let client = stored_client(&p, "vault").await.expect("auth keeps the client credentials");
    assert!(!client.to_string().contains(SECRET), "{client}");
    assert!(client.to_string().contains("$argon2id$"), "{client}");

    let logs = p.all_logs();
    assert!(logs.contains("Plugin registered"), "debug logs were captured");
    assert!(!logs.contains(SECRET) && !logs.contains("8675309123"), "secret in the logs");
}

#[actix_rt::test]
async fn registering_with_a_secret_gives_the_plugin_client_credentials_until_it_is_unregistered() {
    let mut p = Platform::new();
    p.start(auth()).await;
    start_registry(&mut p, &[]).await;
    p.start(fake("vault", &[])).await;
    let (status, body) = register(&p, REGISTRY, "vault", Some(SECRET)).await;
    assert_eq!(status, 201, "{body}");

    let (status, token) = client_grant(&p, "vault", SECRET).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(
        token["token_type"].as_str().map(str::to_ascii_lowercase).as_deref(),
        Some("bearer"),
        "{token}"
    );
    let (status, _) = client_grant(&p, "vault", "not-the-secret").await;
    assert_eq!(status, 401);

    let (status, body) = call("DELETE", &format!("{}/v1/plugins/vault", api(&p, REGISTRY)), None).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = client_grant(&p, "vault", SECRET).await;
    assert_eq!(status, 401, "credentials outlived the registration: {body}");
}

#[actix_rt::test]
async fn without_auth_a_registration_with_a_secret_is_refused_and_leaves_no_trace() {
    let mut p = Platform::new();
    start_registry(&mut p, &[]).await;
    p.start(fake("vault", &[])).await;
    let before = snapshot(&p, &["vault"]).await;
    let (status, body) = register(&p, REGISTRY, "vault", Some(SECRET)).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["msg"].as_str().unwrap_or_default().contains("client credentials"), "{body}");
    assert_eq!(snapshot(&p, &["vault"]).await, before, "the store changed");
    // Without a secret nothing needs auth.
    let (status, body) = register(&p, REGISTRY, "vault", None).await;
    assert_eq!(status, 201, "{body}");
}
