//! nginx as the reference reverse proxy, configured as its documentation recommends for
//! proxying HTTP/1.1 upstreams: keepalive connections to the upstream, HTTP/1.1 with the
//! Connection header cleared, no request buffering, access log off.

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running nginx; stopped on drop.
pub struct Nginx {
    child: Child,
    /// Its listening port.
    pub port: u16,
}

impl Nginx {
    /// Starts nginx on `port` proxying everything to `127.0.0.1:upstream_port`, with its files
    /// in `dir`. Fails with a clear message when nginx is not installed.
    pub fn start(dir: &Path, port: u16, upstream_port: u16) -> Result<Self, String> {
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
    upstream plugin {{
        server 127.0.0.1:{upstream_port};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://plugin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_request_buffering off;
            proxy_buffering off;
        }}
    }}
}}
"#,
            dir = dir.display()
        );
        std::fs::write(&conf, text).map_err(|e| format!("write {}: {e}", conf.display()))?;
        let child = Command::new("nginx")
            .args(["-e", "stderr", "-c"])
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("start nginx (install it with `apt-get install nginx`): {e}"))?;
        Ok(Self { child, port })
    }

    /// The master process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
