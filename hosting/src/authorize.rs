//! Who may change what hosting runs: one function, [`platform_scope`], so that it can be
//! swapped for the platform's shared scope model (issue 13) without touching a handler.
//!
//! Until then platform scope is:
//! - a request through keel (`dapr-caller-app-id: keel`, stamped by the caller's sidecar, which
//!   an app cannot forge) whose identity keel vouches for says tenant `platform` and role
//!   `super-admin` (`x-keel-tenant`, `x-keel-roles`; keel drops any such header a client sent);
//! - or a request that reached the app port with no sidecar caller at all: a developer's machine
//!   (as the registry allows; a deployment sets `APP_API_TOKEN`, so only the sidecar gets in).
//!
//! Everything else, other apps and core services included, is refused with 403. Installing,
//! upgrading, uninstalling, restarting and reading a service's output need it; listings do not.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, FromRequest, HttpRequest};
use keel_sdk::dapr::headers::DAPR_CALLER_APP_ID;
use keel_sdk::protocol::headers::{X_KEEL_ROLES, X_KEEL_TENANT};
use keel_sdk::protocol::KEEL_APP_ID;
use keel_sdk::tokens::{roles, PLATFORM_TENANT};

use crate::error::HostingError;

/// Proof that the caller has platform scope: a handler taking it cannot run without the check.
#[derive(Debug)]
pub struct PlatformScope;

impl FromRequest for PlatformScope {
    type Error = HostingError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(platform_scope(req).map(|()| PlatformScope))
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The one rule (see the module doc).
pub fn platform_scope(req: &HttpRequest) -> Result<(), HostingError> {
    let Some(app) = header(req, DAPR_CALLER_APP_ID) else { return Ok(()) };
    if app != KEEL_APP_ID {
        return Err(HostingError::Forbidden(format!(
            "app {app:?} may not manage hosted services; go through keel as the platform's super-admin"
        )));
    }
    let tenant = header(req, X_KEEL_TENANT.as_str());
    let super_admin = header(req, X_KEEL_ROLES.as_str())
        .is_some_and(|r| r.split(',').any(|r| r.trim() == roles::SUPER_ADMIN));
    if tenant == Some(PLATFORM_TENANT) && super_admin {
        Ok(())
    } else {
        Err(HostingError::Forbidden(
            "managing hosted services needs platform scope: the super-admin of tenant \"platform\"".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn with(headers: &[(&str, &str)]) -> Result<(), HostingError> {
        let mut req = TestRequest::post();
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        platform_scope(&req.to_http_request())
    }

    #[test]
    fn the_platform_super_admin_through_keel_and_local_development_pass() {
        assert!(with(&[]).is_ok(), "straight to the app port");
        let admin = [
            ("dapr-caller-app-id", "keel"),
            ("x-keel-tenant", "platform"),
            ("x-keel-roles", "super-admin, admin"),
        ];
        assert!(with(&admin).is_ok());
    }

    #[test]
    fn everyone_else_is_refused_and_told_why() {
        let cases: [&[(&str, &str)]; 5] = [
            &[("dapr-caller-app-id", "keel"), ("x-keel-tenant", "acme"), ("x-keel-roles", "super-admin")],
            &[("dapr-caller-app-id", "keel"), ("x-keel-tenant", "platform"), ("x-keel-roles", "admin")],
            &[("dapr-caller-app-id", "keel"), ("x-keel-caller", "echo")],
            &[("dapr-caller-app-id", "plugins")],
            // Identity headers only keel may vouch for are not believed from anyone else.
            &[("dapr-caller-app-id", "echo"), ("x-keel-tenant", "platform"), ("x-keel-roles", "super-admin")],
        ];
        for headers in cases {
            let err = with(headers).unwrap_err();
            assert!(matches!(err, HostingError::Forbidden(_)), "{headers:?}");
        }
        let err = with(&[("dapr-caller-app-id", "echo")]).unwrap_err();
        assert!(err.to_string().contains("\"echo\""), "{err}");
    }
}
