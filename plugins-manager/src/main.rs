//! `plugins-manager`: loads its configuration, starts the registry, runs until SIGINT/SIGTERM
//! (`keel_sdk::service::main`: an invalid configuration exits with 64, EX_USAGE).

use std::process::ExitCode;

use keel_sdk::dapr::SidecarConfig;
use keel_sdk::protocol::REGISTRY_APP_ID;
use plugins_manager::{start, Config};

fn main() -> ExitCode {
    keel_sdk::service::main(REGISTRY_APP_ID, load, |cfg| start(cfg, SidecarConfig::from_env()))
}

fn load() -> Result<Config, String> {
    let cfg = Config::load().map_err(|e| e.to_string())?;
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}
