//! `auth`: loads its configuration, starts the identity service, runs until SIGINT/SIGTERM
//! (`keel_sdk::service::main`: an invalid configuration exits with 64, EX_USAGE).

use std::process::ExitCode;

use auth::{start, Config};
use keel_sdk::dapr::SidecarConfig;
use keel_sdk::protocol::AUTH_APP_ID;

fn main() -> ExitCode {
    keel_sdk::service::main(AUTH_APP_ID, load, |cfg| start(cfg, SidecarConfig::from_env()))
}

fn load() -> Result<Config, String> {
    let cfg = Config::load().map_err(|e| e.to_string())?;
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}
