//! keel's own refusals through real sidecars: each with its status, `x-keel-error: 1`, a negative
//! `ret`, its code and a message naming what was wrong.

mod router_support;

use keel_e2e::{client, AppSpec, Platform};
use router_support::*;
use serde_json::json;

/// keel (with an app API token and a small body limit), the plugin `up`, the registered caller
/// `caller` (which offers the points `decorate`, implemented by `up`, and `spare`, implemented
/// by nobody) and `stranger`, which is not registered.
async fn platform() -> Platform {
    let mut p = Platform::new();
    p.start(AppSpec::sidecar_only("caller")).await;
    p.start(AppSpec::sidecar_only("stranger")).await;
    let mut routes = table(1, &[("up", "ACTIVE"), ("caller", "ACTIVE")]);
    routes["plugins"]["caller"]["addons"] =
        json!({"decorate": {"plugin": "up", "endpoint": "hooks/decorate"}, "spare": null});
    seed(&p, "caller", &routes).await;
    p.start(upstream("up")).await;
    p.start(keel(&[("APP_API_TOKEN", "app-secret"), ("KEEL_MAX_BODY_BYTES", "1000")])).await;
    wait_routes(&p, 1).await;
    p
}

#[actix_rt::test]
async fn unknown_plugins_points_and_callers_are_refused_by_name() {
    let p = platform().await;
    refused(call(&p, "caller", "GET", "nope/x"), 404, "ERR_UNKNOWN_PLUGIN", "\"nope\"").await;
    refused(call(&p, "caller", "POST", "addons/missing"), 404, "ERR_UNKNOWN_POINT", "\"missing\"").await;
    refused(call(&p, "caller", "POST", "addons/spare"), 404, "ERR_NO_IMPLEMENTER", "\"spare\"").await;
    refused(call(&p, "stranger", "GET", "up/x"), 403, "ERR_UNREGISTERED_CALLER", "\"stranger\"").await;
    refused(call(&p, "caller", "GET", "up"), 400, "ERR_BAD_PATH", "endpoint").await;
    refused(call(&p, "caller", "GET", "v1/anything"), 404, "ERR_NO_SUCH_API", "/v1/anything").await;
    let big = vec![b'x'; 2000];
    let res = call(&p, "caller", "POST", "up/x").send_body(big).await.unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers().get("x-keel-error").unwrap(), "1");

    // The addon point that has an implementer reaches it, with the caller vouched for.
    let (status, _, seen) = send(call(&p, "caller", "POST", "addons/decorate?x=1")).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!((seen["plugin"].as_str(), seen["path"].as_str()), (Some("up"), Some("/hooks/decorate")));
    assert_eq!(seen["query"], "x=1");
    assert_eq!(seen["headers"]["x-keel-caller"], json!(["caller"]));
}

#[actix_rt::test]
async fn only_keels_sidecar_gets_past_the_app_token() {
    let p = platform().await;
    let direct = |token: Option<&str>| {
        let req =
            client().get(format!("{}/up/x", p.app_url(KEEL))).insert_header(("dapr-caller-app-id", "caller"));
        match token {
            Some(t) => req.insert_header(("dapr-api-token", t)),
            None => req,
        }
    };
    refused(direct(None), 401, "ERR_APP_TOKEN", "dapr-api-token").await;
    refused(direct(Some("guess")), 401, "ERR_APP_TOKEN", "dapr-api-token").await;
    // keel's own sidecar carries the token, so the same call through the mesh works, and the
    // token does not travel on to the plugin.
    let (status, _, seen) = send(call(&p, "caller", "GET", "up/x")).await;
    assert_eq!(status, 200, "{seen}");
    assert!(seen["headers"].get("dapr-api-token").is_none(), "{seen}");
    // Health probes carry no token.
    let health = client().get(format!("{}/healthz", p.app_url(KEEL))).send().await.unwrap();
    assert_eq!(health.status(), 204);
}

#[actix_rt::test]
async fn the_public_port_is_on_by_default_and_refuses_what_it_cannot_verify() {
    let mut p = Platform::new();
    p.start(AppSpec::sidecar_only("caller")).await;
    seed(&p, "caller", &table(1, &[("up", "ACTIVE"), ("caller", "ACTIVE")])).await;
    p.start(upstream("up")).await;
    // No auth is running: keel has no keys, so no token can be verified.
    let spec = keel(&[]);
    let public = spec.env_value("KEEL_PUBLIC_LISTEN").unwrap().to_owned();
    p.start(spec).await;
    wait_routes(&p, 1).await;
    // Whatever a client claims, the answer is 401: no token, a junk token, forged identity headers.
    for auth in [None, Some("Bearer anything")] {
        let mut req = client()
            .get(format!("http://{public}/apis/up/x"))
            .insert_header(("dapr-caller-app-id", "plugins"))
            .insert_header(("x-keel-user", "admin"));
        if let Some(a) = auth {
            req = req.insert_header(("authorization", a));
        }
        refused(req, 401, "ERR_UNAUTHENTICATED", "").await;
    }
}

#[actix_rt::test]
async fn the_public_port_can_be_turned_off() {
    let mut p = Platform::new();
    let spec = keel(&[("KEEL_PUBLIC_ENABLED", "false")]);
    let public = spec.env_value("KEEL_PUBLIC_LISTEN").unwrap().to_owned();
    p.start(spec).await;
    assert!(std::net::TcpStream::connect(&public).is_err(), "public port {public} is listening");
}
