//! Who may do what with hosting, on the platform's one rule (`keel_sdk::access`, `platform.md`
//! §10): installing, upgrading, uninstalling, restarting and reading a service's output need
//! [`Permission::InstallBundles`] (platform scope, or an app granted it); listings need nothing.
//!
//! Reaching a service through the app port (`/plugin_service/<root>/...`) needs a login unless
//! the bundle says `is_open`: keel forwards a public-port request without a token as keel itself
//! (no vouched person), and that is what [`may_open`] refuses for a closed service. A plugin
//! calling through keel's internal flow (a vouched caller) and a person keel verified pass.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, FromRequest, HttpRequest};
use keel_sdk::access::{Permission, Policy, Principal};
use keel_sdk::protocol::KEEL_APP_ID;

use crate::error::HostingError;
use crate::host::Route;

/// Proof that the caller may manage hosted services: a handler taking it cannot run without the
/// check.
#[derive(Debug)]
pub struct PlatformScope;

impl FromRequest for PlatformScope {
    type Error = HostingError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(platform_scope(req).map(|()| PlatformScope))
    }
}

/// The management rule (see the module doc).
pub fn platform_scope(req: &HttpRequest) -> Result<(), HostingError> {
    let who = Principal::from_headers(req.headers());
    Policy::default().check(&who, Permission::InstallBundles)?;
    Ok(())
}

/// Whether the request may reach the service at `root` (see the module doc).
pub fn may_open(req: &HttpRequest, root: &str, route: &Route) -> Result<(), HostingError> {
    if route.is_open {
        return Ok(());
    }
    match Principal::from_headers(req.headers()) {
        Principal::App(app) if app == KEEL_APP_ID => Err(HostingError::LoginRequired(root.to_owned())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceStatus;
    use actix_web::test::TestRequest;

    fn request(headers: &[(&str, &str)]) -> HttpRequest {
        let mut req = TestRequest::post();
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        req.to_http_request()
    }

    fn with(headers: &[(&str, &str)]) -> Result<(), HostingError> {
        platform_scope(&request(headers))
    }

    #[test]
    fn platform_scope_through_keel_and_local_development_pass() {
        assert!(with(&[]).is_ok(), "straight to the app port");
        let admin = [
            ("dapr-caller-app-id", "keel"),
            ("x-keel-user", "root"),
            ("x-keel-tenant", "platform"),
            ("x-keel-scope", "platform"),
        ];
        assert!(with(&admin).is_ok());
    }

    #[test]
    fn everyone_else_is_refused_and_told_why() {
        let cases: [&[(&str, &str)]; 5] = [
            // A role name decides nothing: the verified scope does.
            &[
                ("dapr-caller-app-id", "keel"),
                ("x-keel-user", "ann"),
                ("x-keel-tenant", "platform"),
                ("x-keel-roles", "super-admin"),
            ],
            &[
                ("dapr-caller-app-id", "keel"),
                ("x-keel-user", "ann"),
                ("x-keel-tenant", "acme"),
                ("x-keel-scope", "tenant"),
                ("x-keel-roles", "admin"),
            ],
            &[("dapr-caller-app-id", "keel"), ("x-keel-caller", "echo")],
            &[("dapr-caller-app-id", "plugins")],
            // Identity headers only keel may vouch for are not believed from anyone else.
            &[("dapr-caller-app-id", "echo"), ("x-keel-user", "root"), ("x-keel-scope", "platform")],
        ];
        for headers in cases {
            let err = with(headers).unwrap_err();
            assert!(matches!(err, HostingError::Forbidden(_)), "{headers:?}");
        }
        let err = with(&[("dapr-caller-app-id", "echo")]).unwrap_err();
        assert!(err.to_string().contains("\"echo\""), "{err}");
    }

    #[test]
    fn a_closed_service_needs_someone_keel_vouches_for() {
        let closed =
            Route { app_id: "a".into(), status: ServiceStatus::Running, port: Some(1), is_open: false };
        let open = Route { is_open: true, ..closed.clone() };
        let anonymous = request(&[("dapr-caller-app-id", "keel")]);
        assert!(matches!(may_open(&anonymous, "r", &closed), Err(HostingError::LoginRequired(_))));
        assert!(may_open(&anonymous, "r", &open).is_ok());
        let person =
            request(&[("dapr-caller-app-id", "keel"), ("x-keel-user", "ann"), ("x-keel-tenant", "acme")]);
        assert!(may_open(&person, "r", &closed).is_ok());
        let plugin = request(&[("dapr-caller-app-id", "keel"), ("x-keel-caller", "echo")]);
        assert!(may_open(&plugin, "r", &closed).is_ok());
        assert!(may_open(&request(&[]), "r", &closed).is_ok(), "local development");
    }
}
