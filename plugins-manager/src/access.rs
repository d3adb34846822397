//! Who may change the registry. Reading is open to every caller keel lets through; registering
//! and unregistering is for admins and the platform's own services. As an extractor, so a
//! mutating handler cannot run without the check (`Manager` in its arguments).
//!
//! Identity comes from headers only when they can be trusted:
//! - `dapr-caller-app-id` is stamped by the caller's sidecar and cannot be forged by an app;
//! - `x-keel-roles` (external flow) and `x-keel-caller` (internal flow) are trusted only when keel
//!   is that caller, since keel drops whatever a client sent before setting them.
//!
//! A request without `dapr-caller-app-id` did not come through a sidecar: it reached the app port
//! directly, which a deployment prevents with `APP_API_TOKEN` (checked by the plugin kit first),
//! so it is allowed, as on a developer's machine.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, FromRequest, HttpRequest};
use keel_sdk::dapr::headers::DAPR_CALLER_APP_ID;
use keel_sdk::protocol::{CORE_APP_IDS, KEEL_APP_ID};

use crate::error::RegistryError;

/// The role that may register and unregister plugins through keel's public port.
pub const ADMIN_ROLE: &str = "admin";

/// Proof that the caller may change the registry.
#[derive(Debug)]
pub struct Manager;

impl FromRequest for Manager {
    type Error = RegistryError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(check(req))
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn check(req: &HttpRequest) -> Result<Manager, RegistryError> {
    let Some(app) = header(req, DAPR_CALLER_APP_ID) else { return Ok(Manager) };
    if app != KEEL_APP_ID {
        return if CORE_APP_IDS.contains(&app) {
            Ok(Manager)
        } else {
            Err(RegistryError::AppNotAllowed { app: app.to_owned() })
        };
    }
    if let Some(roles) = header(req, "x-keel-roles") {
        return if roles.split(',').any(|r| r.trim() == ADMIN_ROLE) {
            Ok(Manager)
        } else {
            Err(RegistryError::NotAdmin)
        };
    }
    match header(req, "x-keel-caller") {
        Some(caller) if !CORE_APP_IDS.contains(&caller) => {
            Err(RegistryError::PluginNotAllowed { plugin: caller.to_owned() })
        }
        // A core service through keel, or keel itself.
        _ => Ok(Manager),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn with(headers: &[(&str, &str)]) -> Result<Manager, RegistryError> {
        let mut req = TestRequest::post();
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        check(&req.to_http_request())
    }

    #[test]
    fn admins_and_core_services_may_change_the_registry() {
        assert!(with(&[]).is_ok(), "direct to the app port");
        assert!(with(&[("dapr-caller-app-id", "keel"), ("x-keel-roles", "dev, admin")]).is_ok());
        assert!(with(&[("dapr-caller-app-id", "keel"), ("x-keel-caller", "auth")]).is_ok());
        assert!(with(&[("dapr-caller-app-id", "plugins")]).is_ok());
    }

    #[test]
    fn others_are_refused_and_told_why() {
        let err = with(&[("dapr-caller-app-id", "keel"), ("x-keel-roles", "user")]).unwrap_err();
        assert!(err.to_string().contains("admin role"), "{err}");
        let err = with(&[("dapr-caller-app-id", "keel"), ("x-keel-caller", "echo")]).unwrap_err();
        assert!(err.to_string().contains("\"echo\""), "{err}");
        // Headers only keel may set are not believed from anyone else.
        let err = with(&[("dapr-caller-app-id", "echo"), ("x-keel-roles", "admin")]).unwrap_err();
        assert!(err.to_string().contains("go through keel"), "{err}");
    }
}
