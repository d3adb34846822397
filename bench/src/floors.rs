//! The floors of `keel-bench instructions --floors`: `keel-bench-seat` (src/bin/seat.rs), the
//! least actix-web/awc and hyper do to forward a request from keel's seat, started like nginx in
//! keel's seat (the same upstream: keel's sidecar, invoking the plugin).

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::nginx::Upstreams;

/// A stack `keel-bench-seat` forwards with, and its row's name.
#[derive(Debug, Clone, Copy)]
pub enum Stack {
    Actix,
    Hyper,
}

impl Stack {
    pub const ALL: [Stack; 2] = [Stack::Actix, Stack::Hyper];

    pub fn name(self) -> &'static str {
        match self {
            Stack::Actix => "actix-web and awc, forwarding only",
            Stack::Hyper => "hyper, forwarding only",
        }
    }

    /// Its `--stack` value.
    pub fn arg(self) -> &'static str {
        match self {
            Stack::Actix => "actix",
            Stack::Hyper => "hyper",
        }
    }
}

/// Under valgrind a process starts many times slower than natively.
const START_LIMIT: Duration = Duration::from_secs(60);

/// A running `keel-bench-seat`, stopped when dropped.
pub struct Floor {
    child: Child,
    pub port: u16,
}

impl Floor {
    /// Starts `stack` on a free port under `wrapper` (valgrind's command, or nothing) and waits
    /// until the port accepts connections.
    pub fn start(stack: Stack, wrapper: &[String], up: &Upstreams) -> Result<Self, String> {
        let port = keel_e2e::free_port();
        let bin = keel_e2e::bin_path("keel-bench-seat");
        let mut command: Vec<String> = wrapper.to_vec();
        command.push(bin.display().to_string());
        let upstream = format!("http://127.0.0.1:{}/v1.0/invoke/{}/method/", up.sidecar_port, up.app_id);
        command.extend(
            ["--stack", stack.arg(), "--listen", &format!("127.0.0.1:{port}"), "--upstream", &upstream]
                .map(String::from),
        );
        let (program, args) = command.split_first().ok_or("no command")?;
        let child = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("run {program}: {e}"))?;
        let mut floor = Self { child, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = floor.child.try_wait() {
                return Err(format!("{}: exited ({status}) before listening", stack.name()));
            }
            if started.elapsed() > START_LIMIT {
                return Err(format!("{}: not listening within {START_LIMIT:?}", stack.name()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(floor)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/bench", self.port)
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
