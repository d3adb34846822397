//! `greeter-emoji`: implements `greeter`'s addon point `decorate-greeting` at `hooks/decorate`.
//! Registering it changes greeter's answer; unregistering it changes it back.

use actix_web::{web, HttpResponse};
use keel_sdk::plugin::PluginSpec;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Greeting {
    greeting: String,
}

async fn decorate(body: web::Json<Greeting>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"ret": 0, "msg": "ok", "greeting": format!("👋 {} 🎉", body.greeting)}))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    keel_sdk::telemetry::init("greeter-emoji");
    let plugin = PluginSpec::new("greeter-emoji", env!("CARGO_PKG_VERSION"))
        .implements("greeter", "1.0", &[("decorate-greeting", "hooks/decorate")])
        .build()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    keel_sdk::plugin::serve(plugin, keel_sdk::config::app_listen_addr(), |cfg| {
        cfg.route("/hooks/decorate", web::post().to(decorate));
    })
    .await
}
