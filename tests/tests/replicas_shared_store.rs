//! Replicas of every core service on one shared production store (issue 17 §2): two keel, two
//! registry and two auth instances (each pair one app-id, the sidecars spreading calls over
//! both as daprd's resolvers do) on Redis, and again on PostgreSQL. Registrations spread over
//! both registries all land once and reach both keels; tokens issued by either auth verify on
//! both keels; a key rotated on one auth is used and accepted everywhere.

mod registry_support;

use std::time::Duration;

use futures_util::future::join_all;
use keel_e2e::servers::{Postgres, Redis};
use keel_e2e::{client, eventually, AppSpec, Platform};
use registry_support::*;
use serde_json::Value;

const KEELS: [&str; 2] = ["keel", "keel-b"];
const REGISTRIES: [&str; 2] = [REGISTRY, "plugins-b"];
const ADMIN_PW: &str = "bootstrap-password-1";

fn public(p: &Platform, keel: &str) -> String {
    format!("http://{}", p.app(keel).spec.env_value("KEEL_PUBLIC_LISTEN").expect("public listen"))
}

/// `statestore` and `auth-state` on the shared store (`spec` is the component's `type` and
/// metadata lines), replacing the sqlite files `Platform::new` wrote.
fn shared_stores(p: &Platform, kind: &str, metadata: &str) {
    for (name, scopes) in
        [("statestore", "- keel\n- plugins\n- auth\n- hosting\n"), ("auth-state", "- auth\n")]
    {
        let prefix = if name == "statestore" { "  - name: keyPrefix\n    value: name\n" } else { "" };
        p.write_component(
            &format!("{name}.yaml"),
            &format!("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: {kind}\n  version: v1\n  metadata:\n{metadata}{prefix}scopes:\n{scopes}"),
        );
    }
}

async fn token_via(p: &Platform, keel: &str) -> String {
    let form = [("grant_type", "password"), ("username", "admin"), ("password", ADMIN_PW)];
    let url = format!("{}/apis/auth/v1/oauth/token", public(p, keel));
    let mut res = client().post(url).send_form(&form).await.expect("token endpoint");
    let body: Value = res.json().await.expect("token JSON");
    body["access_token"].as_str().unwrap_or_else(|| panic!("no token: {body}")).to_owned()
}

async fn listing_status(p: &Platform, keel: &str, token: &str) -> u16 {
    let url = format!("{}/apis/plugins/v1/plugins?limit=100", public(p, keel));
    match client().get(url).bearer_auth(token).send().await {
        Ok(res) => res.status().as_u16(),
        Err(_) => 0,
    }
}

async fn replicated_platform_holds_together(p: &mut Platform) {
    for (i, name) in ["auth", "auth-b"].into_iter().enumerate() {
        p.start(auth().replica(name).env("KEEL_CORE_RETRY_MAX_MS", "500")).await;
        if i == 0 {
            // The first replica creates the signing key; the second then finds it.
            eventually("auth's first replica ready", Duration::from_secs(30), || async {
                let url = format!("{}/healthz", p.app_url("auth"));
                client().get(url).send().await.ok().filter(|r| r.status().is_success())
            })
            .await;
        }
    }
    p.start(registry(REGISTRY, &[("KEEL_POLL_INTERVAL_MS", "3600000")])).await;
    p.start(registry(REGISTRY, &[("KEEL_POLL_INTERVAL_MS", "3600000")]).replica("plugins-b")).await;
    for name in KEELS {
        p.start(AppSpec::keel().replica(name).env("KEEL_ROUTES_REFRESH_MS", "60000")).await;
    }
    wait_registered(p, REGISTRY, "keel").await;

    // 20 registrations, alternating between the two registry instances' app ports.
    let ids: Vec<String> = (0..20).map(|i| format!("spread-{i:02}")).collect();
    for id in &ids {
        p.start(fake(id, &[])).await;
    }
    let answers =
        join_all(ids.iter().enumerate().map(|(i, id)| register(p, REGISTRIES[i % 2], id, None))).await;
    for (id, (status, body)) in ids.iter().zip(&answers) {
        assert_eq!(*status, 201, "{id}: {body}\n{}", p.logs(REGISTRY));
    }
    for replica in REGISTRIES {
        let table = routes(p, replica).await;
        for id in &ids {
            assert!(
                table["plugins"].get(id.as_str()).is_some(),
                "{id} missing from the table read by {replica}"
            );
        }
    }

    // Tokens from either auth instance (the sidecars pick one per call) verify on both keels.
    let mut tokens = Vec::new();
    for i in 0..6 {
        tokens.push(token_via(p, KEELS[i % 2]).await);
    }
    for token in &tokens {
        for keel in KEELS {
            let status = eventually("a token verified", Duration::from_secs(10), || async {
                Some(listing_status(p, keel, token).await).filter(|s| *s != 401)
            })
            .await;
            assert_eq!(status, 200, "a token refused by {keel}");
        }
    }

    // A key rotated on one auth: tokens signed with it are accepted by both keels.
    let url = format!("{}/apis/auth/v1/oauth/keys/rotate", public(p, "keel"));
    let res = client().post(url).bearer_auth(&tokens[0]).send().await.expect("rotate");
    assert!(res.status().is_success(), "rotation: {}", res.status());
    let fresh = token_via(p, "keel-b").await;
    for keel in KEELS {
        let status = eventually("a token of the new key verified", Duration::from_secs(15), || async {
            Some(listing_status(p, keel, &fresh).await).filter(|s| *s == 200)
        })
        .await;
        assert_eq!(status, 200);
    }
}

#[actix_rt::test]
async fn every_core_service_twice_on_redis() {
    let redis = Redis::start();
    let mut p = Platform::new();
    let meta = format!(
        "  - name: redisHost\n    value: \"{}\"\n  - name: redisPassword\n    value: \"\"\n",
        redis.host()
    );
    shared_stores(&p, "state.redis", &meta);
    replicated_platform_holds_together(&mut p).await;
}

#[actix_rt::test]
async fn every_core_service_twice_on_postgresql() {
    let pg = Postgres::start();
    let mut p = Platform::new();
    let meta = format!("  - name: connectionString\n    value: \"{}\"\n", pg.connection_string());
    shared_stores(&p, "state.postgresql", &meta);
    replicated_platform_holds_together(&mut p).await;
}
