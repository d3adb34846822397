//! Running the start file: `<start_file> start --port=<N> --args=<args>` (or `stop`) in the
//! bundle's `workspace/`, as an argv (no shell between hosting and the script), in a process
//! group of its own (the script's PID is the group's id, and everything it starts is in it),
//! with a clean environment (hosting's own secrets, `APP_API_TOKEN` and `DAPR_API_TOKEN`, never
//! reach a bundle) and stdout/stderr appended to the service's output file.
//!
//! The child is not waited for here: [`super::reap`] collects every exit.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What to run, and where.
#[derive(Debug, Clone)]
pub struct Script {
    /// The bundle's `workspace/`.
    pub workspace: PathBuf,
    /// `start_file`, relative to it.
    pub start_file: String,
    /// The service's output file (appended to).
    pub output: PathBuf,
    /// The environment the script gets (and nothing else).
    pub env: Vec<(String, String)>,
}

/// The environment of every script: a `PATH`, `HOME` at the workspace, the locale and time
/// zone hosting has, and what hosting tells the service about itself.
pub fn environment(workspace: &Path, app_id: &str, root_route: &str) -> Vec<(String, String)> {
    let mut env = vec![
        ("PATH".to_owned(), std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into())),
        ("HOME".to_owned(), workspace.display().to_string()),
        ("KEEL_HOSTING_APP_ID".to_owned(), app_id.to_owned()),
        ("KEEL_HOSTING_ROOT_ROUTE".to_owned(), root_route.to_owned()),
    ];
    for key in ["LANG", "LC_ALL", "TZ", "TMPDIR"] {
        if let Ok(v) = std::env::var(key) {
            env.push((key.to_owned(), v));
        }
    }
    env
}

/// Starts `script` with `verb` (`start`, `stop`), `--port=<port>` and `--args=<args>`; returns
/// its PID (also its process group).
pub fn run(script: &Script, verb: &str, port: u16, args: &str) -> std::io::Result<i32> {
    let out = OpenOptions::new().create(true).append(true).open(&script.output)?;
    let program = script.workspace.join(&script.start_file);
    let child = Command::new(&program)
        .arg(verb)
        .arg(format!("--port={port}"))
        .arg(format!("--args={args}"))
        .current_dir(&script.workspace)
        .env_clear()
        .envs(script.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0)
        .spawn()?;
    Ok(child.id() as i32)
}
