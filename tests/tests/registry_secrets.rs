//! Secrets: stored only as an argon2 hash, never in any response, never in any log line.

mod registry_support;

use keel_e2e::Platform;
use registry_support::*;

const SECRET: &str = "s3cr3t-Pa55-7e1f-registry";

#[actix_rt::test]
async fn the_secret_is_stored_only_as_a_hash_and_never_shown_or_logged() {
    let mut p = Platform::new();
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

    let record = stored_record(&p, "vault").await.expect("record");
    let hash = record["secret_hash"].as_str().expect("hash stored");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!record.to_string().contains(SECRET));

    let logs = p.all_logs();
    assert!(logs.contains("Plugin registered"), "debug logs were captured");
    assert!(!logs.contains(SECRET) && !logs.contains("8675309123"), "secret in the logs");
}
