//! Auth's OAuth endpoints end to end, behind the sidecar stand-in: logins (with the same answer
//! for a wrong password and an unknown user), client credentials set by the registry's app-id,
//! refresh, revocation, configured lifetimes, and no secret in any log line.

mod auth_support;

use auth_support::*;
use keel_e2e::Platform;
use serde_json::json;

const CLIENT_SECRET: &str = "mailer-Secret-93b1";
const USER_PW: &str = "ann-Password-77aa";

#[actix_rt::test]
async fn logins_clients_refresh_and_revocation_work_and_nothing_secret_is_logged() {
    let mut p = Platform::new();
    start(&mut p, auth_app(&[]), &["cli", "plugins"]).await;
    let mut secrets: Vec<String> = vec![ADMIN_PW.into(), CLIENT_SECRET.into(), USER_PW.into()];

    // Right password: a bearer JWT and a refresh token.
    let (status, tokens) = login(&p, "cli", "admin", ADMIN_PW, None).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!((tokens["token_type"].as_str(), tokens["expires_in"].as_u64()), (Some("Bearer"), Some(3600)));
    let admin = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    secrets.extend([admin.clone(), refresh.clone()]);
    assert_eq!(header(&admin)["alg"], "EdDSA");

    // Wrong password and unknown user: one answer.
    let wrong = login(&p, "cli", "admin", "Wrong-pw-0001", None).await;
    let unknown = login(&p, "cli", "nobody", "Wrong-pw-0001", None).await;
    assert_eq!(wrong.0, 400);
    assert_eq!(wrong.1["error"], "invalid_grant");
    assert_eq!(wrong, unknown);
    secrets.push("Wrong-pw-0001".into());

    // A user of a tenant logs in with the tenant named.
    let tenant = json!({"id": "acme", "admin": {"username": "ann", "password": USER_PW}});
    let (status, body) = call(&p, "cli", "POST", "v1/tenants", Body::Json(tenant), Some(&admin)).await;
    assert_eq!(status, 201, "{body}");
    let ann = token(&p, "cli", "ann", USER_PW, Some("acme")).await;
    assert_eq!((claims(&ann)["tenant"].as_str(), claims(&ann)["sub"].as_str()), (Some("acme"), Some("ann")));
    secrets.push(ann);

    // Client credentials: only the registry's app-id sets them.
    let secret = Body::Json(json!({"secret": CLIENT_SECRET}));
    assert_eq!(call(&p, "cli", "PUT", "v1/clients/mailer", secret, None).await.0, 401);
    let secret = Body::Json(json!({"secret": CLIENT_SECRET}));
    let (status, body) = call(&p, "plugins", "PUT", "v1/clients/mailer", secret, None).await;
    assert_eq!(status, 201, "{body}");
    let grant =
        [("grant_type", "client_credentials"), ("client_id", "mailer"), ("client_secret", CLIENT_SECRET)];
    let (status, body) = call(&p, "cli", "POST", "v1/oauth/token", Body::Form(&grant), None).await;
    assert_eq!(status, 200, "{body}");
    let client_token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&client_token)["client_id"], "mailer");
    secrets.push(client_token);
    let bad = [("grant_type", "client_credentials"), ("client_id", "mailer"), ("client_secret", "nope-nope")];
    let (status, body) = call(&p, "cli", "POST", "v1/oauth/token", Body::Form(&bad), None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));

    // Refresh: works once, answers a new refresh token.
    let grant = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
    let (status, next) = call(&p, "cli", "POST", "v1/oauth/token", Body::Form(&grant), None).await;
    assert_eq!(status, 200, "{next}");
    let next_refresh = next["refresh_token"].as_str().unwrap().to_owned();
    secrets.extend([next["access_token"].as_str().unwrap().to_owned(), next_refresh.clone()]);
    assert_eq!(
        call(&p, "cli", "POST", "v1/oauth/token", Body::Form(&grant), None).await.1["error"],
        "invalid_grant"
    );

    // Revocation: the refresh token stops working, the access token is refused.
    let revoke = [("token", next_refresh.as_str())];
    assert_eq!(call(&p, "cli", "POST", "v1/oauth/revoke", Body::Form(&revoke), None).await.0, 200);
    let grant = [("grant_type", "refresh_token"), ("refresh_token", next_refresh.as_str())];
    assert_eq!(
        call(&p, "cli", "POST", "v1/oauth/token", Body::Form(&grant), None).await.1["error"],
        "invalid_grant"
    );
    assert_eq!(call(&p, "cli", "GET", "v1/me", Body::None, Some(&admin)).await.0, 200);
    let revoke = [("token", admin.as_str())];
    assert_eq!(call(&p, "cli", "POST", "v1/oauth/revoke", Body::Form(&revoke), None).await.0, 200);
    assert_eq!(call(&p, "cli", "GET", "v1/me", Body::None, Some(&admin)).await.0, 401);

    // Unregistration removes the client.
    assert_eq!(call(&p, "plugins", "DELETE", "v1/clients/mailer", Body::None, None).await.0, 200);
    let grant =
        [("grant_type", "client_credentials"), ("client_id", "mailer"), ("client_secret", CLIENT_SECRET)];
    assert_eq!(call(&p, "cli", "POST", "v1/oauth/token", Body::Form(&grant), None).await.0, 401);

    let logs = p.all_logs();
    assert!(logs.contains("Issued tokens (password grant)"), "debug logs were captured");
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret or token is in the logs: {secret}");
    }
}

#[actix_rt::test]
async fn short_configured_lifetimes_are_honoured() {
    let mut p = Platform::new();
    let env = [
        ("KEEL_ACCESS_TOKEN_TTL_SECONDS", "2"),
        ("KEEL_REFRESH_TOKEN_TTL_SECONDS", "4"),
        ("KEEL_CLOCK_LEEWAY_SECONDS", "0"),
    ];
    start(&mut p, auth_app(&env), &["cli", "plugins"]).await;
    let secret = Body::Json(json!({"secret": CLIENT_SECRET}));
    assert_eq!(call(&p, "plugins", "PUT", "v1/clients/checker", secret, None).await.0, 201);

    let (status, tokens) = login(&p, "cli", "admin", ADMIN_PW, None).await;
    assert_eq!(status, 200);
    assert_eq!((tokens["expires_in"].as_u64(), tokens["refresh_expires_in"].as_u64()), (Some(2), Some(4)));
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let c = claims(&access);
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 2);
    assert_eq!(call(&p, "cli", "GET", "v1/me", Body::None, Some(&access)).await.0, 200);

    let introspect = |token: String| {
        let p = &p;
        async move {
            let form =
                [("token", token.as_str()), ("client_id", "checker"), ("client_secret", CLIENT_SECRET)];
            call(p, "cli", "POST", "v1/oauth/introspect", Body::Form(&form), None).await.1["active"] == true
        }
    };
    assert!(introspect(access.clone()).await);
    until("the access token expires", 15, || async {
        call(&p, "cli", "GET", "v1/me", Body::None, Some(&access)).await.0 == 401
    })
    .await;
    assert!(!introspect(access.clone()).await);
    until("the refresh token expires", 15, || {
        let active = introspect(refresh.clone());
        async move { !active.await }
    })
    .await;
    let grant = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
    assert_eq!(
        call(&p, "cli", "POST", "v1/oauth/token", Body::Form(&grant), None).await.1["error"],
        "invalid_grant"
    );
}
