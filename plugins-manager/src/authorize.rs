//! Who may change the registry: the registry's authorization rules, in one place. Reading is
//! open to every caller keel lets through; registering and unregistering is for admins and the
//! platform's own services. As an extractor, so a mutating handler cannot run without the check
//! ([`MayChangeRegistry`] in its arguments).
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

use actix_web::http::header::AsHeaderName;
use actix_web::{dev::Payload, FromRequest, HttpRequest};
use keel_sdk::dapr::headers::DAPR_CALLER_APP_ID;
use keel_sdk::protocol::headers::{X_KEEL_CALLER, X_KEEL_ROLES};
use keel_sdk::protocol::{CORE_APP_IDS, KEEL_APP_ID};

use crate::error::RegistryError;

/// The role that may register and unregister plugins through keel's public port.
pub const ADMIN_ROLE: &str = "admin";

/// Proof that the caller may change the registry (register and unregister plugins).
#[derive(Debug)]
pub struct MayChangeRegistry;

impl FromRequest for MayChangeRegistry {
    type Error = RegistryError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authorize(req))
    }
}

fn header(req: &HttpRequest, name: impl AsHeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The rules, in order: the app the sidecar says called; when that is keel, the roles it vouches
/// for (external flow), else the plugin it says called (internal flow).
fn authorize(req: &HttpRequest) -> Result<MayChangeRegistry, RegistryError> {
    let Some(app) = header(req, DAPR_CALLER_APP_ID) else { return Ok(MayChangeRegistry) };
    if app != KEEL_APP_ID {
        return if CORE_APP_IDS.contains(&app) {
            Ok(MayChangeRegistry)
        } else {
            Err(RegistryError::AppNotAllowed { app: app.to_owned() })
        };
    }
    if let Some(roles) = header(req, X_KEEL_ROLES) {
        return if roles.split(',').any(|r| r.trim() == ADMIN_ROLE) {
            Ok(MayChangeRegistry)
        } else {
            Err(RegistryError::NotAdmin)
        };
    }
    match header(req, X_KEEL_CALLER) {
        Some(caller) if !CORE_APP_IDS.contains(&caller) => {
            Err(RegistryError::PluginNotAllowed { plugin: caller.to_owned() })
        }
        // A core service through keel, or keel itself.
        _ => Ok(MayChangeRegistry),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderName;
    use actix_web::test::TestRequest;

    const CALLER_APP: HeaderName = HeaderName::from_static(DAPR_CALLER_APP_ID);

    fn with(headers: &[(HeaderName, &str)]) -> Result<MayChangeRegistry, RegistryError> {
        let mut req = TestRequest::post();
        for (k, v) in headers {
            req = req.insert_header((k.clone(), *v));
        }
        authorize(&req.to_http_request())
    }

    #[test]
    fn admins_and_core_services_may_change_the_registry() {
        assert!(with(&[]).is_ok(), "direct to the app port");
        assert!(with(&[(CALLER_APP, "keel"), (X_KEEL_ROLES, "dev, admin")]).is_ok());
        assert!(with(&[(CALLER_APP, "keel"), (X_KEEL_CALLER, "auth")]).is_ok());
        assert!(with(&[(CALLER_APP, "plugins")]).is_ok());
    }

    #[test]
    fn others_are_refused_and_told_why() {
        let err = with(&[(CALLER_APP, "keel"), (X_KEEL_ROLES, "user")]).unwrap_err();
        assert!(matches!(err, RegistryError::NotAdmin), "{err:?}");
        assert!(err.to_string().contains("admin role"), "{err}");
        let err = with(&[(CALLER_APP, "keel"), (X_KEEL_CALLER, "echo")]).unwrap_err();
        assert!(matches!(&err, RegistryError::PluginNotAllowed { plugin } if plugin == "echo"), "{err:?}");
        assert!(err.to_string().contains("\"echo\""), "{err}");
        // Headers only keel may set are not believed from anyone else.
        let err = with(&[(CALLER_APP, "echo"), (X_KEEL_ROLES, "admin")]).unwrap_err();
        assert!(matches!(&err, RegistryError::AppNotAllowed { app } if app == "echo"), "{err:?}");
        assert!(err.to_string().contains("go through keel"), "{err}");
    }
}
