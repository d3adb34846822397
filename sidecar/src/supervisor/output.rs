//! The run's console: app output prefixed `== APP - <id> == ` (as the dapr CLI prints it) and
//! the readiness lines, written by one dedicated thread so lines never interleave and a slow
//! terminal never blocks the async runtime.

use std::io::Write;
use tokio::sync::mpsc;

/// Which stream a line goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Out,
    /// Standard error.
    Err,
}

/// A cheap handle for writing whole lines.
#[derive(Clone)]
pub struct Console {
    tx: mpsc::Sender<(Stream, Vec<u8>)>,
}

/// Lines buffered before writers wait (back-pressure onto the apps' pipes, not memory).
const BUFFERED_LINES: usize = 1024;

impl Console {
    /// Starts the writer thread.
    pub fn start() -> Self {
        let (tx, mut rx) = mpsc::channel::<(Stream, Vec<u8>)>(BUFFERED_LINES);
        std::thread::Builder::new()
            .name("console".into())
            .spawn(move || {
                while let Some((stream, line)) = rx.blocking_recv() {
                    // A closed terminal must not kill the run: write errors are ignored.
                    let _ = match stream {
                        Stream::Out => {
                            let mut out = std::io::stdout().lock();
                            out.write_all(&line).and_then(|_| out.flush())
                        }
                        Stream::Err => {
                            let mut err = std::io::stderr().lock();
                            err.write_all(&line).and_then(|_| err.flush())
                        }
                    };
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!(error = %e, "Cannot start the console thread"));
        Console { tx }
    }

    /// Writes one line (a newline is added).
    pub async fn line(&self, stream: Stream, text: &str) {
        let mut bytes = Vec::with_capacity(text.len() + 1);
        bytes.extend_from_slice(text.as_bytes());
        bytes.push(b'\n');
        let _ = self.tx.send((stream, bytes)).await;
    }

    /// Writes one line of an app's output with the app prefix.
    pub async fn app_line(&self, stream: Stream, app_id: &str, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw);
        let text = text.trim_end_matches(['\n', '\r']);
        self.line(stream, &format!("== APP - {app_id} == {text}")).await;
    }
}
