//! Starts `{{id}}` on `APP_PORT` (set by `dapr run`) until SIGINT/SIGTERM.

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    keel_sdk::telemetry::init({{crate}}::ID);
    let plugin = {{crate}}::plugin().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    keel_sdk::plugin::serve(plugin, keel_sdk::config::app_listen_addr(), {{crate}}::routes).await
}
