//! The per-request context (pingora's `CTX`): what one request through keel was — which flow,
//! what its path named, what the route table resolved it to, who called. The request path's
//! phases fill it in as they learn each fact (`forward.rs`); at the end it travels on the
//! response to the logging phase ([`crate::access_log`]), which reads it once for the access line
//! and the metrics. Which refusal, if any, is the catalogue's `Refused` on the same response,
//! wherever it was made (the handler, an extractor, the app token middleware).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use actix_web::HttpResponse;

use super::errors::RouteError;
use super::routes::Resolved;
use super::target::{Destination, ADDONS};
use keel_sdk::tokens::Identity;

/// Which of keel's flows a request took (`platform.md` §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// A plugin or core service through its sidecar and keel's, on keel's app port.
    Internal,
    /// A client outside the mesh, on keel's public port.
    External,
}

/// Who called, as far as keel knows.
#[derive(Debug, Clone, Default)]
pub enum Caller {
    /// Not established (yet): the request was refused before.
    #[default]
    Unknown,
    /// A plugin or core service, by the app-id its sidecar stamped (internal flow).
    App(String),
    /// A client whose token keel verified (external flow).
    User(Arc<Identity>),
    /// A client on an endpoint its plugin declared public: no token asked.
    Anonymous,
}

/// One request's context.
#[derive(Debug)]
pub struct Ctx {
    /// The flow.
    pub flow: Flow,
    /// When the handler started (the time limit's clock for the answer).
    pub started: Instant,
    /// The target as far as it is known: what the path named, then the plugin the table
    /// resolved it to (the implementer, for an addon point).
    pub plugin: String,
    /// The endpoint on it (the point's name, before an addon point resolved).
    pub endpoint: String,
    /// Whether `plugin` is in the route table: only then does it get its own metrics series, so
    /// callers cannot grow the label set with made-up ids.
    pub registered: bool,
    /// Who called.
    pub caller: Caller,
    /// The client's address (external flow): the peer, or what trusted proxies recorded.
    pub client: Option<IpAddr>,
}

// === impl Ctx ===

impl Ctx {
    /// A request of `flow` starting now, nothing known yet.
    pub fn new(flow: Flow) -> Self {
        Self {
            flow,
            started: Instant::now(),
            plugin: String::new(),
            endpoint: String::new(),
            registered: false,
            caller: Caller::Unknown,
            client: None,
        }
    }

    /// What the path named, before the table was consulted.
    pub fn named(&mut self, dest: Destination<'_>) {
        let (plugin, endpoint) = match dest {
            Destination::Plugin(t) => (t.plugin, t.endpoint),
            Destination::Addon { point } => (ADDONS, point),
        };
        plugin.clone_into(&mut self.plugin);
        endpoint.clone_into(&mut self.endpoint);
    }

    /// What the table said: the real target, registered.
    pub fn resolved(&mut self, route: &Resolved) {
        self.plugin.clone_from(&route.plugin);
        self.endpoint.clone_from(&route.endpoint);
        self.registered = true;
    }

    /// The plugin's own metrics series, when it has one.
    pub fn series(&self) -> Option<&str> {
        self.registered.then_some(self.plugin.as_str())
    }

    /// The caller as the access log names it: app-id, user, or nothing.
    pub fn caller_name(&self) -> &str {
        match &self.caller {
            Caller::App(id) => id,
            Caller::User(who) => &who.sub,
            Caller::Unknown | Caller::Anonymous => "",
        }
    }

    /// The end of the handler: the answer (or the refusal's response), carrying this context to
    /// the logging phase.
    pub fn finish(mut self, answer: Result<HttpResponse, RouteError>) -> HttpResponse {
        let mut res = match answer {
            Ok(res) => res,
            Err(e) => {
                // A registered plugin that is not ACTIVE keeps its own series: its 503s matter.
                if let RouteError::NotActive { plugin, .. } = &e {
                    self.plugin.clone_from(plugin);
                    self.registered = true;
                }
                // `from_error` keeps the typed error on the response; the catalogue left its
                // `Refused` in the extensions.
                HttpResponse::from_error(e)
            }
        };
        res.extensions_mut().insert(self);
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Endpoint;
    use keel_sdk::protocol::errors::{Code, Refused};
    use keel_sdk::protocol::PluginStatus;
    use std::time::Duration;

    #[test]
    fn the_context_follows_the_target_from_the_path_to_the_table() {
        let mut ctx = Ctx::new(Flow::Internal);
        ctx.named(Destination::Addon { point: "decorate" });
        assert_eq!((ctx.plugin.as_str(), ctx.endpoint.as_str(), ctx.series()), ("addons", "decorate", None));
        ctx.named(Destination::Plugin(Endpoint { plugin: "echo", endpoint: "x" }));
        let route = Resolved { plugin: "emoji".into(), endpoint: "hooks/d".into(), timeout: Duration::ZERO };
        ctx.resolved(&route);
        assert_eq!((ctx.endpoint.as_str(), ctx.series()), ("hooks/d", Some("emoji")));
        ctx.caller = Caller::App("greeter".into());
        assert_eq!(ctx.caller_name(), "greeter");
    }

    #[test]
    fn a_refusal_travels_with_the_context() {
        let ctx = Ctx::new(Flow::External);
        let res = ctx.finish(Err(RouteError::NotActive {
            plugin: "echo".into(),
            status: PluginStatus::Failed,
            retry_after: Duration::from_secs(1),
        }));
        assert_eq!(res.status().as_u16(), 503);
        let ext = res.extensions();
        assert_eq!(ext.get::<Ctx>().unwrap().series(), Some("echo"));
        assert_eq!(ext.get::<Refused>().unwrap().code, Code::PluginNotActive);
    }
}
