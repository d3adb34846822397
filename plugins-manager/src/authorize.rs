//! Who may change the registry: the registry's authorization rules, in one place, applying the
//! platform's model (`keel_sdk::access`, `platform.md` §10). Reading is open to every caller keel
//! lets through; every change is decided here, on the *verified* scope and tenant keel vouches
//! for or on the grants of the calling app, never on a role name or on being a core app-id:
//!
//! | what | people (through keel's public port) | apps (grants) |
//! |---|---|---|
//! | register, unregister plugins — and so implement a point of keel or of a core service | platform scope | `register-plugins` |
//! | enable, disable plugins for tenant `t` | platform scope, or the admin of `t` | `enable-plugins` |
//! | read plugins, routes, a tenant's plugins | everyone keel lets through | every app |
//!
//! Who is asking is [`Principal::from_headers`]: `dapr-caller-app-id` as the caller's sidecar
//! stamped it, and keel's `x-keel-*` identity only when keel is that caller. keel calling for
//! itself (someone used keel's own sidecar) is the app `keel`, which holds no grant here. A
//! request that came through no sidecar reached the app port directly, which production prevents
//! with `APP_API_TOKEN` (checked by the plugin kit first); it is trusted as on a developer's
//! machine ([`Policy::trust_local`]).
//!
//! The checks are extractors, so a mutating handler cannot run without its check: a handler
//! takes a [`Caller`] and asks [`Caller::may`] for the permission it needs.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use keel_sdk::access::{Permission, Policy, Principal};

use crate::error::RegistryError;
use crate::registry::Registry;

/// Who is asking, with the registry's policy to decide by.
#[derive(Debug)]
pub struct Caller {
    /// As read from the request's trusted headers.
    pub principal: Principal,
    policy: Policy,
}

impl Caller {
    /// `Ok` when the caller holds `what`; the refusal says what was missing.
    pub fn may(&self, what: Permission<'_>) -> Result<(), RegistryError> {
        self.policy.check(&self.principal, what).map_err(|denied| {
            tracing::info!(caller = self.principal.name(), %denied, "Registry change refused");
            RegistryError::Denied(denied)
        })
    }
}

impl Caller {
    /// `Ok` when the caller may register or remove console entries of `owner`: the app `owner`
    /// itself (through its sidecar or keel's internal flow), or whoever holds
    /// [`Permission::ConsoleEntriesOf`] (platform scope, the grant `register-plugins`).
    pub fn may_act_for(&self, owner: &str) -> Result<(), RegistryError> {
        match &self.principal {
            Principal::App(app) if app == owner => Ok(()),
            _ => self.may(Permission::ConsoleEntriesOf { owner }),
        }
    }
}

impl FromRequest for Caller {
    type Error = RegistryError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let policy = req
            .app_data::<web::Data<Registry>>()
            .map(|reg| reg.state.policy.clone())
            .ok_or_else(|| RegistryError::Internal("no registry in the app".into()));
        ready(policy.map(|policy| Caller { principal: Principal::from_headers(req.headers()), policy }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use keel_sdk::access::Grant;

    fn caller(headers: &[(&str, &str)], policy: &Policy) -> Caller {
        let mut req = TestRequest::post();
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        Caller { principal: Principal::from_headers(req.to_http_request().headers()), policy: policy.clone() }
    }

    fn person(tenant: &str, scope: &str, roles: &str) -> Vec<(&'static str, String)> {
        vec![
            ("dapr-caller-app-id", "keel".to_owned()),
            ("x-keel-user", "ann".to_owned()),
            ("x-keel-tenant", tenant.to_owned()),
            ("x-keel-scope", scope.to_owned()),
            ("x-keel-roles", roles.to_owned()),
        ]
    }

    fn may(headers: &[(&str, String)], what: Permission<'_>) -> Result<(), RegistryError> {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        caller(&h, &Policy::default()).may(what)
    }

    #[test]
    fn registering_needs_platform_scope_whatever_the_role_names() {
        assert!(may(&person("platform", "platform", "super-admin"), Permission::RegisterPlugins).is_ok());
        for (tenant, roles) in [("acme", "admin"), ("platform", "admin"), ("acme", "super-admin,admin")] {
            let err = may(&person(tenant, "tenant", roles), Permission::RegisterPlugins).unwrap_err();
            assert!(err.to_string().contains("needs platform scope"), "{err}");
        }
        assert!(may(&[], Permission::RegisterPlugins).is_ok(), "direct to the app port, as in development");
    }

    #[test]
    fn a_tenant_admin_enables_plugins_for_their_own_tenant_only() {
        let boss = person("acme", "tenant", "admin");
        assert!(may(&boss, Permission::EnablePlugins { tenant: "acme" }).is_ok());
        let err = may(&boss, Permission::EnablePlugins { tenant: "other" }).unwrap_err();
        assert!(err.to_string().contains("not its admin"), "{err}");
        let user = person("acme", "tenant", "user");
        assert!(may(&user, Permission::EnablePlugins { tenant: "acme" }).is_err());
        let root = person("platform", "platform", "");
        assert!(may(&root, Permission::EnablePlugins { tenant: "acme" }).is_ok());
    }

    #[test]
    fn apps_are_decided_by_their_grants_not_their_app_id() {
        let via_keel =
            |app: &str| vec![("dapr-caller-app-id", "keel".to_owned()), ("x-keel-caller", app.to_owned())];
        for app in ["keel", "auth", "plugins", "echo"] {
            let err = may(&via_keel(app), Permission::RegisterPlugins).unwrap_err();
            assert!(err.to_string().contains("needs the grant register-plugins"), "{app}: {err}");
        }
        // keel's own sidecar, with whatever identity headers: keel itself, no grant.
        let forged = [("dapr-caller-app-id", "keel".to_owned())];
        assert!(may(&forged, Permission::RegisterPlugins).is_err());
        let mut policy = Policy::default();
        policy.grants.add("ops", [Grant::RegisterPlugins]);
        let ops = caller(&[("dapr-caller-app-id", "keel"), ("x-keel-caller", "ops")], &policy);
        assert!(ops.may(Permission::RegisterPlugins).is_ok());
        assert!(ops.may(Permission::EnablePlugins { tenant: "acme" }).is_err());
    }

    #[test]
    fn an_app_registers_console_entries_for_itself_and_admins_for_anyone() {
        let svc = caller(&[("dapr-caller-app-id", "svc")], &Policy::default());
        assert!(svc.may_act_for("svc").is_ok());
        let err = svc.may_act_for("notes").unwrap_err().to_string();
        assert!(err.contains("for \"notes\" (an app does so for itself only)"), "{err}");
        assert!(may(&person("platform", "platform", ""), Permission::ConsoleEntriesOf { owner: "x" }).is_ok());
        let err =
            may(&person("acme", "tenant", "admin"), Permission::ConsoleEntriesOf { owner: "x" }).unwrap_err();
        assert!(err.to_string().contains("needs platform scope"), "{err}");
    }
}
