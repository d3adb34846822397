//! Helpers shared by the `console_*` session and browser tests: a platform with auth, keel, the
//! registry, `echo` and `notes-ui` registered, a tenant with a plain user, and console logins
//! through keel's public port with their cookies.

#![allow(dead_code)]

#[path = "../registry_support/mod.rs"]
mod registry_support;

use std::time::Duration;

use keel_e2e::build::workspace_root;
use keel_e2e::{client, eventually, AppSpec, Platform};
pub use registry_support::*;
use serde_json::{json, Value};

/// The super-admin's password (auth's bootstrap).
pub const ADMIN_PW: &str = "bootstrap-password-1";
/// The plain user of tenant `acme`.
pub const PLAIN: (&str, &str, &str) = ("pat", "plain-user-pw-1", "acme");

/// A platform ready for the console: auth, keel (`keel_env` added), the registry, `echo` and
/// `notes-ui` registered and ACTIVE, tenant `acme` with the plain user. Returns the super-admin's
/// bearer token.
pub async fn console_platform(p: &mut Platform, keel_env: &[(&str, &str)]) -> String {
    // Every sidecar runs with the stock Configurations (config/), access control included, as
    // `dapr.yaml` runs them: notes-ui reaches auth's ticket checks and nothing else of it.
    let config = |name: &str| workspace_root().join("config").join(name).display().to_string();
    let (core, plugin) = (config("core.yaml"), config("plugin.yaml"));
    p.start(auth().sidecar_args(&["--config", &core])).await;
    let mut keel = AppSpec::keel()
        .env("KEEL_ROUTES_REFRESH_MS", "300")
        .sidecar_args(&["--config", &config("keel.yaml")]);
    for (k, v) in keel_env {
        keel = keel.env(k, *v);
    }
    p.start(keel).await;
    p.start(registry(REGISTRY, &[]).sidecar_args(&["--config", &core])).await;
    wait_registered(p, REGISTRY, REGISTRY).await;
    wait_registered(p, REGISTRY, "keel").await;
    wait_registered(p, REGISTRY, "auth").await;
    p.start(AppSpec::bin("echo", "echo").sidecar_args(&["--config", &plugin])).await;
    p.start(AppSpec::bin("notes-ui", "notes-ui").sidecar_args(&["--config", &plugin])).await;
    let p: &Platform = p;
    let root = eventually("keel accepts auth's tokens", Duration::from_secs(30), || async {
        let t = login(p, "admin", ADMIN_PW, None).await;
        (public_call(p, "GET", "/apis/plugins/v1/plugins", &t, None).await.0 == 200).then_some(t)
    })
    .await;
    for id in ["echo", "notes-ui"] {
        let (status, body) =
            public_call(p, "POST", "/apis/plugins/v1/plugins", &root, Some(json!({"id": id}))).await;
        assert_eq!(status, 201, "{id}: {body}");
    }
    let (user, pw, tenant) = PLAIN;
    let body = json!({"id": tenant, "admin": {"username": "boss", "password": "tenant-admin-pw"}});
    assert_eq!(public_call(p, "POST", "/apis/auth/v1/tenants", &root, Some(body)).await.0, 201);
    let boss = login(p, "boss", "tenant-admin-pw", Some(tenant)).await;
    let (status, body) =
        public_call(p, "POST", "/apis/auth/v1/users", &boss, Some(json!({"username": user, "password": pw})))
            .await;
    assert_eq!(status, 201, "{body}");
    // keel routes /plugins/notes-ui/ once its table has the entries.
    eventually("keel routes /plugins/notes-ui/", Duration::from_secs(30), || async {
        let (status, _) = public_call(p, "GET", "/plugins/notes-ui/api/me", &root, None).await;
        (status != 404).then_some(())
    })
    .await;
    root
}

/// `http://host:port` of keel's public port, as a browser's `Origin`.
pub fn origin(p: &Platform) -> String {
    public_base(p)
}

/// What a console request answered: status, `Set-Cookie` values, body.
pub struct Answer {
    pub status: u16,
    pub set_cookies: Vec<String>,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// The `Set-Cookie` value for cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies.iter().find(|c| c.starts_with(&format!("{name}="))).map(String::as_str)
    }

    /// The value cookie `name` was set to.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        let c = self.cookie(name)?;
        Some(c.split(';').next()?.split_once('=')?.1.to_owned())
    }
}

/// A request on keel's public port as a browser would send it: `headers` (the cookie, origin,
/// CSRF token as the test chooses) and an optional JSON body.
pub async fn browser(
    p: &Platform,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<Value>,
) -> Answer {
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client().request(method, format!("{}{path}", public_base(p)));
    for (k, v) in headers {
        req = req.insert_header((*k, v.as_str()));
    }
    let mut res = match body {
        Some(b) => req.send_json(&b).await,
        None => req.send().await,
    }
    .expect("public port");
    let set_cookies =
        res.headers().get_all("set-cookie").filter_map(|v| v.to_str().ok()).map(str::to_owned).collect();
    let bytes = res.body().limit(1 << 20).await.unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Answer {
        status: res.status().as_u16(),
        set_cookies,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text,
    }
}

/// A console session: its two cookies.
pub struct Session {
    pub ticket: String,
    pub csrf: String,
}

impl Session {
    /// The `Cookie` header a browser sends with both.
    pub fn cookie(&self) -> String {
        format!("keel_session={}; keel_csrf={}", self.ticket, self.csrf)
    }

    /// Headers for a state-changing request with the whole defence.
    pub fn unsafe_headers(&self, p: &Platform) -> Vec<(&'static str, String)> {
        vec![("cookie", self.cookie()), ("origin", origin(p)), ("x-keel-csrf", self.csrf.clone())]
    }
}

/// `POST /console/api/login`; panics unless 200.
pub async fn console_login(p: &Platform, user: &str, pw: &str, tenant: Option<&str>) -> (Session, Answer) {
    let mut body = json!({"username": user, "password": pw});
    if let Some(t) = tenant {
        body["tenant"] = json!(t);
    }
    let a = browser(p, "POST", "/console/api/login", &[("origin", origin(p))], Some(body)).await;
    assert_eq!(a.status, 200, "login of {user}: {}", a.text);
    let ticket = a.cookie_value("keel_session").expect("keel_session set");
    let csrf = a.cookie_value("keel_csrf").expect("keel_csrf set");
    (Session { ticket, csrf }, a)
}
