//! `greeter`: shows both directions of plugin-to-plugin calls.
//!
//! `GET /greet?name=Ada` builds a greeting, asks the `echo` plugin (through keel) to confirm it
//! can reach a peer, then offers the greeting to whoever implements its own addon point
//! `decorate-greeting` (through keel's `addons/decorate-greeting`). With no implementer keel
//! answers 404 and the plain greeting is used, so the plugin works alone and changes its answer
//! as soon as an implementer (see `greeter-emoji`) registers — no restart.

use actix_web::http::Method;
use actix_web::{web, HttpResponse};
use keel_sdk::dapr::DaprClient;
use keel_sdk::plugin::{is_keel_error, KeelClient, PluginSpec};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The addon point this plugin offers.
const POINT: &str = "decorate-greeting";

#[derive(Deserialize)]
struct GreetQuery {
    #[serde(default)]
    name: Option<String>,
}

/// What implementers of `decorate-greeting` receive and answer.
#[derive(Serialize, Deserialize)]
struct Greeting {
    greeting: String,
}

async fn greet(keel: web::Data<KeelClient>, q: web::Query<GreetQuery>) -> HttpResponse {
    let name = q.name.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or("world");
    let plain = format!("Hello, {name}!");

    // A call to another plugin through keel: keel checks echo is registered and ACTIVE.
    let echo = match keel.call(Method::POST, "echo", "greetings", Some(&json!({ "greeting": plain }))).await {
        Ok(answer) if answer.status.is_success() => "reached".to_owned(),
        Ok(answer) => format!("echo answered {}", answer.status.as_u16()),
        Err(e) => format!("echo unreachable: {e}"),
    };

    // Our own addon point: whoever implements it may change the greeting.
    let (greeting, decorated_by) =
        match keel.call_addon(Method::POST, POINT, Some(&Greeting { greeting: plain.clone() })).await {
            Ok(answer) if answer.status.is_success() => match answer.json::<Greeting>() {
                Ok(g) => (g.greeting, Some(POINT)),
                Err(e) => {
                    tracing::warn!(error = %e, "implementer of {POINT} answered something unreadable");
                    (plain, None)
                }
            },
            // 404 from keel itself: nobody implements the point right now.
            Ok(answer) if is_keel_error(&answer) => (plain, None),
            Ok(answer) => {
                tracing::warn!(status = answer.status.as_u16(), "implementer of {POINT} failed");
                (plain, None)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot reach keel for {POINT}");
                (plain, None)
            }
        };
    HttpResponse::Ok().json(json!({"ret": 0, "msg": "ok", "greeting": greeting, "decorated": decorated_by.is_some(), "echo": echo}))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    keel_sdk::telemetry::init("greeter");
    let plugin = PluginSpec::new("greeter", env!("CARGO_PKG_VERSION"))
        .addon_point(POINT, "receives {\"greeting\"} and answers {\"greeting\"} to change what greeter says")
        .build()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    keel_sdk::plugin::serve(plugin, keel_sdk::config::app_listen_addr(), |cfg| {
        // One sidecar client per worker: awc clients are bound to their thread.
        cfg.app_data(web::Data::new(KeelClient::new(DaprClient::from_env())))
            .route("/greet", web::get().to(greet));
    })
    .await
}
