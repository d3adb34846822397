//! nginx as the reference reverse proxy, configured as its documentation recommends for
//! proxying HTTP/1.1 upstreams: keepalive connections to the upstream, HTTP/1.1 with the
//! Connection header cleared, access log off, and for streaming large bodies: neither request
//! nor response buffered, and the pieces they are streamed in large (`client_body_buffer_size`,
//! `proxy_buffer_size`: with buffering off nginx reads and forwards in pieces of these sizes,
//! whose defaults are 8-16 KiB and 4-8 KiB, a 1 MiB body in hundreds of read/write turns),
//! `tcp_nodelay` on every connection, and connections kept for as many requests as keel keeps
//! them (`keepalive_requests`; nginx's default closes them after 1,000).
//!
//! One worker: the measured processes share one core, and nginx's rule is one worker per core.
//! More would only take turns on it.
//!
//! Two servers: one proxying straight to the plugin (nginx at its best, with no sidecar on the
//! way), and one in keel's seat, proxying to the plugin through keel's sidecar's invoke API, so
//! its requests cross the same sidecars keel's do and only the router differs.

use std::io;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The pieces nginx streams request and response bodies in (`client_body_buffer_size`,
/// `proxy_buffer_size`): as large as the loopback socket buffers hand over in one read, so a
/// 1 MiB body takes a few turns of nginx's event loop, not hundreds; one such buffer per
/// connection and direction.
const STREAM_PIECE: &str = "256k";

/// How long nginx has to start listening on both ports.
const START_LIMIT: Duration = Duration::from_secs(10);

/// Why nginx is not measured. The report prints it as `not measured (<this>)`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NotStarted {
    /// No `nginx` on the `PATH`.
    #[error("nginx not found")]
    NotInstalled,
    /// It is installed but did not come up (its own words, or what failed).
    #[error("nginx did not start: {0}")]
    Failed(String),
}

/// A running nginx; stopped on drop.
pub struct Nginx {
    child: Child,
    /// The port proxying straight to the plugin.
    pub port: u16,
    /// The port proxying to the plugin through a sidecar's invoke API.
    pub seat_port: u16,
}

/// Where nginx sends requests.
pub struct Upstreams {
    /// The plugin's own port.
    pub plugin_port: u16,
    /// The HTTP port of the sidecar the keel-seat server calls through.
    pub sidecar_port: u16,
    /// The plugin's app-id, for the invoke path.
    pub app_id: String,
}

impl Nginx {
    /// Starts nginx on `port` (to the plugin) and `seat_port` (through the sidecar), with its
    /// files in `dir`, and waits until both ports accept connections.
    pub fn start(dir: &Path, port: u16, seat_port: u16, up: &Upstreams) -> Result<Self, NotStarted> {
        Self::start_wrapped(dir, port, seat_port, up, &[])
    }

    /// [`Nginx::start`] under `wrapper` (a command and its arguments, e.g. valgrind's), as one
    /// process: no master, so the wrapper sees the process that serves.
    pub fn start_wrapped(
        dir: &Path,
        port: u16,
        seat_port: u16,
        up: &Upstreams,
        wrapper: &[String],
    ) -> Result<Self, NotStarted> {
        let conf = dir.join("nginx.conf");
        let text = format!(
            r#"worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    tcp_nodelay on;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 0;
    client_body_buffer_size {piece};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_buffer_size {piece};
    # Unused with buffering off, but nginx checks them against proxy_buffer_size.
    proxy_buffers 4 {piece};
    upstream plugin {{
        server 127.0.0.1:{plugin_port};
        keepalive 64;
        keepalive_requests 1000000;
    }}
    upstream sidecar {{
        server 127.0.0.1:{sidecar_port};
        keepalive 64;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://plugin;
        }}
    }}
    server {{
        listen 127.0.0.1:{seat_port};
        location / {{
            proxy_pass http://sidecar/v1.0/invoke/{app_id}/method/;
        }}
    }}
}}
"#,
            dir = dir.display(),
            piece = STREAM_PIECE,
            plugin_port = up.plugin_port,
            sidecar_port = up.sidecar_port,
            app_id = up.app_id,
        );
        std::fs::write(&conf, text)
            .map_err(|e| NotStarted::Failed(format!("write {}: {e}", conf.display())))?;
        // What nginx says before it reads its configuration (`-e stderr`), kept for the report.
        let stderr_path = dir.join("nginx-stderr.log");
        let stderr = std::fs::File::create(&stderr_path)
            .map_err(|e| NotStarted::Failed(format!("create {}: {e}", stderr_path.display())))?;
        let (program, wrapped) = match wrapper.split_first() {
            Some((program, args)) => {
                (program.as_str(), args.iter().map(String::as_str).chain(["nginx"]).collect())
            }
            None => ("nginx", Vec::new()),
        };
        let globals = if wrapper.is_empty() { "daemon off;" } else { "daemon off; master_process off;" };
        let child = Command::new(program)
            .args(wrapped)
            .args(["-e", "stderr", "-c"])
            .arg(&conf)
            .args(["-g", globals])
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => NotStarted::NotInstalled,
                _ => NotStarted::Failed(format!("run nginx: {e}")),
            })?;
        let mut nginx = Self { child, port, seat_port };
        // Under a wrapper such as valgrind nginx starts many times slower.
        let limit = if wrapper.is_empty() { START_LIMIT } else { START_LIMIT * 6 };
        nginx.wait_listening(&stderr_path, limit)?;
        Ok(nginx)
    }

    /// Polls both ports until they accept connections; fails with nginx's own message when it
    /// exits (a bad configuration, a port taken) or after [`START_LIMIT`].
    fn wait_listening(&mut self, stderr: &Path, limit: Duration) -> Result<(), NotStarted> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let said = std::fs::read_to_string(stderr).unwrap_or_default();
                return Err(NotStarted::Failed(format!("it exited ({status}): {}", said.trim())));
            }
            let up = |port: u16| TcpStream::connect(("127.0.0.1", port)).is_ok();
            if up(self.port) && up(self.seat_port) {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(NotStarted::Failed(format!("not listening within {limit:?}")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The master process id (the only process when wrapped).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Nginx {
    /// SIGTERM, not SIGKILL: the master must live long enough to stop its workers, which would
    /// otherwise outlive the benchmark holding their ports.
    fn drop(&mut self) {
        let term = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        if !term.is_ok_and(|s| s.success()) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
