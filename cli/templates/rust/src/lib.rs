//! `{{id}}`: a Keel plugin. The kit (`keel_sdk::plugin`) serves the protocol from the declaration
//! in [`plugin`] (`GET /v1/identify`, `GET /v1/status`, `POST /v1/addons/identify`, `/healthz`,
//! the app token check); [`routes`] are the plugin's own endpoints.

use actix_web::{web, HttpRequest, HttpResponse};
use keel_sdk::plugin::{Plugin, PluginSpec};
use keel_sdk::protocol::IdentifyError;
use serde_json::json;

/// The plugin's id: its Dapr app-id, which it reports as `plugin_id`.
pub const ID: &str = "{{id}}";

/// The declaration, checked with the rules the registry applies.
pub fn plugin() -> Result<Plugin, IdentifyError> {
    PluginSpec::new(ID, env!("CARGO_PKG_VERSION"))
        // Offer an addon point other plugins may implement (call it with KeelClient::call_addon):
        // .addon_point("before-save", "receives {\"item\"}; answer {\"item\"} to change it")
        // Implement another plugin's point at one of your endpoints:
        // .implements("other-plugin", "1.0", &[("its-point", "hooks/its-point")])
        .build()
}

/// The plugin's own endpoints, reached as `/apis/{{id}}/<path>` on keel's public port and
/// `/v1.0/invoke/keel/method/{{id}}/<path>` from other plugins.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/hello", web::get().to(hello));
}

/// `GET /hello`: says who called, as keel tells it (`x-keel-caller` for a plugin, `x-keel-user`
/// for a client outside the mesh).
async fn hello(req: HttpRequest) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    HttpResponse::Ok().json(json!({
        "ret": 0,
        "msg": "ok",
        "hello": format!("hello from {ID}"),
        "caller": header("x-keel-caller"),
        "user": header("x-keel-user"),
    }))
}
