//! Hosted services through keel, the whole platform running (registry, auth, hosting, keel): the
//! registry registers hosting at boot like the other core services; `/plugin_service/<root>/...`
//! on keel's public port reaches an `is_open` service without a login and a closed one only with
//! a valid token or the console's session cookie (401 with a Bearer challenge otherwise), and the
//! service sees who is calling but no credential (no `Authorization`, no ticket, no forged
//! `x-keel-user`); bodies stream through; a service still starting is hosting's 503 with
//! `Retry-After`; plugins reach it through keel's app port; a root hosting does not serve is
//! hosting's 404.

mod hosting_support;

use hosting_support::{
    bundle_with_script, hello_bundle_open, install, raw, slow_start_script, uninstall, wait_status, PATIENCE,
};
use keel_e2e::{eventually, AppSpec, Platform};
use serde_json::Value;

const ADMIN_PW: &str = "bootstrap-password-1";

fn public(p: &Platform) -> String {
    format!("http://{}", p.app("keel").spec.env_value("KEEL_PUBLIC_LISTEN").expect("public listen"))
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

#[actix_rt::test]
async fn hosted_services_are_routed_by_keel_with_a_login_unless_open() {
    let mut p = Platform::new();
    p.start(AppSpec::bin("auth", "auth").env("KEEL_ADMIN_PASSWORD", ADMIN_PW)).await;
    hosting_support::start(&mut p, &[]).await;
    for (app, root, open) in [("open-app", "open", true), ("closed-app", "closed", false)] {
        let (status, v) = install(&p, hello_bundle_open(app, root, open)).await;
        assert_eq!(status, 201, "{v}");
        wait_status(&p, app, "RUNNING").await;
    }
    p.start(
        AppSpec::bin("plugins", "plugins-manager")
            .env("KEEL_POLL_INTERVAL_MS", "300")
            .env("KEEL_CORE_RETRY_MAX_MS", "500"),
    )
    .await;
    p.start(AppSpec::keel().env("KEEL_ROUTES_REFRESH_MS", "300")).await;
    let base = public(&p);

    // The registry registered hosting at boot; once keel has the route, the open service answers
    // anyone, with the prefix it was reached by.
    let url = format!("{base}/plugin_service/open/hello?x=1");
    let open = eventually("keel routes /plugin_service/open/", PATIENCE, || {
        let url = url.clone();
        async move {
            let (status, _, body) = raw("GET", &url, None, &[]).await;
            (status == 200).then(|| json(&body))
        }
    })
    .await;
    assert_eq!(open["prefix"], "/plugin_service/open");
    assert_eq!(open["query"], "x=1");
    assert_eq!(open["user"], "", "nobody logged in");
    // A client's own identity header is not believed.
    let (status, _, body) =
        raw("GET", &format!("{base}/plugin_service/open/hello"), None, &[("x-keel-user", "mallory")]).await;
    assert_eq!((status, json(&body)["user"].as_str()), (200, Some("")));
    // Bodies stream through keel, both sidecars and hosting unchanged.
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
    let (status, _, body) = raw(
        "POST",
        &format!("{base}/plugin_service/open/echo"),
        Some(big.clone()),
        &[("content-type", "application/octet-stream")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(body == big, "echoed body differs ({} bytes back)", body.len());

    // The closed one needs a login: hosting's 401 in the platform's envelope, a Bearer challenge
    // (keel passes a service's answer on as it is, without its own `x-keel-error` mark).
    let (status, headers, body) = raw("GET", &format!("{base}/plugin_service/closed/hello"), None, &[]).await;
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json(&body)["code"], "ERR_UNAUTHENTICATED");
    assert!(
        headers.get("www-authenticate").is_some_and(|v| v.to_str().unwrap().starts_with("Bearer")),
        "{headers:?} {}",
        String::from_utf8_lossy(&body)
    );
    // A bad token is refused by keel itself, even for the open one.
    for root in ["open", "closed"] {
        let (status, _, _) = raw(
            "GET",
            &format!("{base}/plugin_service/{root}/hello"),
            None,
            &[("authorization", "Bearer not-a-token")],
        )
        .await;
        assert_eq!(status, 401, "{root}");
    }

    // With the super-admin's token it is served, and the service learns who it is.
    let form = format!("grant_type=password&username=admin&password={ADMIN_PW}");
    let (status, _, body) = raw(
        "POST",
        &format!("{base}/apis/auth/v1/oauth/token"),
        Some(form.into_bytes()),
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let token = json(&body)["access_token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let (status, _, body) =
        raw("GET", &format!("{base}/plugin_service/closed/hello"), None, &[("authorization", &bearer)]).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json(&body)["user"], "admin");
    assert_eq!(json(&body)["got_authorization"], false, "the token stays with keel");

    // Inside: a core service (auth's sidecar) calling through keel's app port reaches the closed
    // service with no login, as the seed's internal address does.
    let (status, _, body) = raw(
        "GET",
        &format!("{}/v1.0/invoke/keel/method/plugin_service/closed/hello", p.dapr_url("auth")),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json(&body)["prefix"], "/plugin_service/closed");

    // A root nobody serves: hosting's 404, passed on as it is.
    let (status, _, body) =
        raw("GET", &format!("{base}/plugin_service/nobody/x"), None, &[("authorization", &bearer)]).await;
    assert_eq!(status, 404);
    assert_eq!(json(&body)["code"], "ERR_UNKNOWN_ROOT");

    // The console's session cookie is a login too; the service learns who, never the ticket
    // (keel binds it to hosting, and hosting keeps it).
    let login = serde_json::json!({"username": "admin", "password": ADMIN_PW}).to_string();
    let (status, headers, body) = raw(
        "POST",
        &format!("{base}/console/api/login"),
        Some(login.into_bytes()),
        &[("content-type", "application/json"), ("origin", &base)],
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let session = headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .find(|c| c.starts_with("keel_session="))
        .expect("keel_session set")
        .to_owned();
    let (status, _, body) =
        raw("GET", &format!("{base}/plugin_service/closed/hello"), None, &[("cookie", &session)]).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let seen = json(&body);
    assert_eq!(seen["user"], "admin", "{seen}");
    assert_eq!(
        (seen["got_ticket"].as_bool(), seen["got_authorization"].as_bool()),
        (Some(false), Some(false))
    );
    // What the console's Plugins page lists (its "Hosted web services" table), read with the
    // session as the page does.
    let (status, _, body) =
        raw("GET", &format!("{base}/apis/hosting/v1/services"), None, &[("cookie", &session)]).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let mut listed: Vec<(String, String)> = json(&body)["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["root_route"].as_str().unwrap().to_owned(), v["status"].as_str().unwrap().to_owned()))
        .collect();
    listed.sort();
    let running = |root: &str| (root.to_owned(), "RUNNING".to_owned());
    assert_eq!(listed, vec![running("closed"), running("open")]);

    // A service still STARTING: hosting's 503 with Retry-After, through keel as it is.
    let slow = bundle_with_script("slow-app", "1.0.0", "slow", "", &slow_start_script(20));
    assert_eq!(install(&p, slow).await.0, 201);
    let (status, headers, body) =
        raw("GET", &format!("{base}/plugin_service/slow/hello"), None, &[("authorization", &bearer)]).await;
    assert_eq!(
        (status, json(&body)["code"].as_str()),
        (503, Some("ERR_SERVICE_STARTING")),
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert!(headers.get("retry-after").is_some(), "{headers:?}");
    assert_eq!(uninstall(&p, "slow-app").await.0, 200);

    // hosting is listed by the registry as a core plugin.
    let (status, _, body) =
        raw("GET", &format!("{base}/apis/plugins/v1/plugins/hosting"), None, &[("authorization", &bearer)])
            .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
}
