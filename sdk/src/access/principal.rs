//! Who is asking a service, read from the request's headers under the trust rules of
//! [`super`]: the sidecar-stamped caller first, keel's vouched identity only when keel called.

use actix_web::http::header::{AsHeaderName, HeaderMap, HeaderName};

use super::Scope;
use crate::dapr::headers::DAPR_CALLER_APP_ID;
use crate::protocol::headers::{
    X_KEEL_CALLER, X_KEEL_CLIENT, X_KEEL_ROLES, X_KEEL_SCOPE, X_KEEL_TENANT, X_KEEL_USER,
};
use crate::protocol::KEEL_APP_ID;

/// A person (or a client-credentials holder) keel verified on its public port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// User name, or client id (`sub`).
    pub user: String,
    /// Their tenant.
    pub tenant: String,
    /// Their administration scope, as auth issued it.
    pub scope: Scope,
    /// Their roles in their tenant (what plugins may use for their own decisions).
    pub roles: Vec<String>,
    /// Set for client-credentials tokens: the client (plugin or integrator) id.
    pub client: Option<String>,
}

impl Person {
    /// A person (not a client).
    pub fn new(user: &str, tenant: &str, scope: Scope, roles: Vec<String>) -> Self {
        Self { user: user.to_owned(), tenant: tenant.to_owned(), scope, roles, client: None }
    }

    /// True when they hold `role` in their tenant.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A person or client through keel's public port, as keel verified and vouched.
    Person(Person),
    /// An app (a plugin, a core service) by app-id: through keel's internal flow (keel's
    /// `x-keel-caller`) or straight through its own sidecar (`dapr-caller-app-id`). Keel calling
    /// for itself is `App("keel")`, which holds only keel's own grants.
    App(String),
    /// No sidecar stamped a caller: the app port was reached directly.
    Local,
}

impl Principal {
    /// Reads who is asking from `headers`. A request from keel that carries neither a vouched
    /// person nor a vouched caller is keel itself; a vouched person without a readable scope is
    /// treated as tenant scope (the narrower one).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let get = |name: HeaderName| header(headers, name);
        let Some(app) = get(HeaderName::from_static(DAPR_CALLER_APP_ID)) else {
            return Principal::Local;
        };
        if app != KEEL_APP_ID {
            return Principal::App(app.to_owned());
        }
        if let Some(user) = get(X_KEEL_USER).filter(|u| !u.is_empty()) {
            let roles = get(X_KEEL_ROLES)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect();
            return Principal::Person(Person {
                user: user.to_owned(),
                tenant: get(X_KEEL_TENANT).unwrap_or_default().to_owned(),
                scope: get(X_KEEL_SCOPE).and_then(Scope::parse).unwrap_or(Scope::Tenant),
                roles,
                client: get(X_KEEL_CLIENT).filter(|c| !c.is_empty()).map(str::to_owned),
            });
        }
        match get(X_KEEL_CALLER).filter(|c| !c.is_empty()) {
            Some(caller) => Principal::App(caller.to_owned()),
            None => Principal::App(KEEL_APP_ID.to_owned()),
        }
    }

    /// For log lines and messages: the user, the app, or `local`.
    pub fn name(&self) -> &str {
        match self {
            Principal::Person(p) => &p.user,
            Principal::App(app) => app,
            Principal::Local => "local",
        }
    }
}

fn header(headers: &HeaderMap, name: impl AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}
