//! nginx as the reference reverse proxy, configured as its documentation recommends for
//! proxying HTTP/1.1 upstreams: keepalive connections to the upstream, HTTP/1.1 with the
//! Connection header cleared, no request buffering, access log off.
//!
//! Two servers: one proxying straight to the plugin (nginx at its best, with no sidecar on the
//! way), and one in keel's seat, proxying to the plugin through keel's sidecar's invoke API, so
//! its requests cross the same sidecars keel's do and only the router differs.

use std::path::Path;
use std::process::{Child, Command, Stdio};

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
    /// files in `dir`. Fails with a clear message when nginx is not installed.
    pub fn start(dir: &Path, port: u16, seat_port: u16, up: &Upstreams) -> Result<Self, String> {
        let conf = dir.join("nginx.conf");
        let text = format!(
            r#"worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 0;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_request_buffering off;
    proxy_buffering off;
    upstream plugin {{
        server 127.0.0.1:{plugin_port};
        keepalive 64;
    }}
    upstream sidecar {{
        server 127.0.0.1:{sidecar_port};
        keepalive 64;
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
            plugin_port = up.plugin_port,
            sidecar_port = up.sidecar_port,
            app_id = up.app_id,
        );
        std::fs::write(&conf, text).map_err(|e| format!("write {}: {e}", conf.display()))?;
        let child = Command::new("nginx")
            .args(["-e", "stderr", "-c"])
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("start nginx (install it with `apt-get install nginx`): {e}"))?;
        Ok(Self { child, port, seat_port })
    }

    /// The master process id.
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
