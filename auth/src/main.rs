//! `auth` (app-id `auth`): tenants, users, roles and tokens. For now it is a plain Keel plugin that
//! answers the protocol (`/v1/identify`, `/v1/status`) through its sidecar, so the registry can
//! register it and keel can route to it; identities and tokens come with the auth issue.

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    keel::telemetry::init("auth");
    let plugin = keel::plugin::PluginSpec::new("auth", env!("CARGO_PKG_VERSION"))
        .build()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    keel::plugin::serve(plugin, keel::config::app_listen_addr(), |_| {}).await
}
