//! App processes: started in their own process group (so a signal reaches the app and all its
//! children), output prefixed line by line, stopped with SIGTERM and, after a grace period,
//! SIGKILL to the whole group.

use super::output::{Console, Stream};
use crate::config::AppCommand;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::watch;

/// An app process could not be started.
#[derive(Debug, thiserror::Error)]
#[error("app {app_id}: cannot start {program:?} in {dir}: {source}")]
pub struct SpawnError {
    /// The app.
    pub app_id: String,
    /// The program.
    pub program: String,
    /// The working folder.
    pub dir: String,
    /// The OS error.
    #[source]
    pub source: std::io::Error,
}

/// A running app.
pub struct AppProcess {
    app_id: String,
    pid: i32,
    exited: watch::Receiver<Option<ExitStatus>>,
}

impl AppProcess {
    /// Starts `cmd` with `env` added to the inherited environment.
    pub fn spawn(
        app_id: &str,
        cmd: &AppCommand,
        env: &[(String, String)],
        console: &Console,
    ) -> Result<Self, SpawnError> {
        let err = |source| SpawnError {
            app_id: app_id.to_owned(),
            program: cmd.argv[0].clone(),
            dir: cmd.dir.display().to_string(),
            source,
        };
        let mut command = tokio::process::Command::new(&cmd.argv[0]);
        command
            .args(&cmd.argv[1..])
            .current_dir(&cmd.dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group: Ctrl-C at the terminal reaches us, and we stop the whole group.
            .process_group(0)
            // If the supervisor's handle is dropped without a stop (a bug or a panic), do not
            // leave the app behind.
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(err)?;
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        if let Some(out) = child.stdout.take() {
            actix_rt::spawn(forward(out, Stream::Out, app_id.to_owned(), console.clone()));
        }
        if let Some(errs) = child.stderr.take() {
            actix_rt::spawn(forward(errs, Stream::Err, app_id.to_owned(), console.clone()));
        }
        let (tx, exited) = watch::channel(None);
        let id = app_id.to_owned();
        actix_rt::spawn(async move {
            match child.wait().await {
                Ok(status) => {
                    match status.code() {
                        Some(0) => tracing::info!(app_id = %id, "Exited App successfully"),
                        Some(code) => {
                            tracing::warn!(app_id = %id, code, "The App process exited with error code: {code}")
                        }
                        None => {
                            tracing::info!(app_id = %id, %status, "The App process was stopped by a signal")
                        }
                    }
                    let _ = tx.send(Some(status));
                }
                Err(e) => tracing::warn!(app_id = %id, error = %e, "Lost track of the App process"),
            }
        });
        tracing::info!(app_id = %app_id, pid, "App started");
        Ok(AppProcess { app_id: app_id.to_owned(), pid, exited })
    }

    /// The app's pid (also its process group id).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// SIGTERM to the group, up to `grace` for the app to exit, then SIGKILL to the group (which
    /// also reaps children the app left behind).
    pub async fn stop(mut self, grace: Duration) {
        if self.pid <= 0 {
            return;
        }
        let group = Pid::from_raw(self.pid);
        if self.exited.borrow().is_none() {
            let _ = killpg(group, Signal::SIGTERM);
            let _ = tokio::time::timeout(grace, self.exited.wait_for(Option::is_some)).await;
        }
        // ESRCH (nobody left in the group) is the normal case here.
        let _ = killpg(group, Signal::SIGKILL);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.exited.wait_for(Option::is_some)).await;
        tracing::debug!(app_id = %self.app_id, "App stopped");
    }
}

/// Copies one output stream line by line with the app prefix.
async fn forward(stream: impl AsyncRead + Unpin, which: Stream, app_id: String, console: Console) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => console.app_line(which, &app_id, &line).await,
        }
    }
}
