//! `hosting`: loads its configuration, starts the host, runs until SIGINT/SIGTERM, then stops
//! every hosted service (`keel_sdk::service::main`: an invalid configuration exits with 64).

use std::process::ExitCode;

use hosting::{start, Config};
use keel_sdk::dapr::SidecarConfig;
use keel_sdk::protocol::HOSTING_APP_ID;

fn main() -> ExitCode {
    keel_sdk::service::main(HOSTING_APP_ID, load, |cfg| start(cfg, SidecarConfig::from_env()))
}

fn load() -> Result<Config, String> {
    let cfg = Config::load().map_err(|e| e.to_string())?;
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}
