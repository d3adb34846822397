//! Who may do what on auth's management API: the platform's rule (`keel_sdk::access`) applied to
//! the identity of a *verified* access token, in this one module. Every handler asks here; none
//! looks at a role name itself.
//!
//! - **Platform scope** (the super-admin, and users holding a role of the platform tenant that
//!   was granted platform scope explicitly, `"platform": true`): tenants, every tenant's users and
//!   roles, key rotation, client credentials.
//! - **Tenant scope**: a tenant's `admin` manages that tenant's users and roles, nothing else.
//! - **Nobody changes a user whose scope is wider than their own** (an admin of the platform
//!   tenant without platform scope cannot touch the super-admin), nor gives or edits a role
//!   wider than their own scope.
//!
//! The scope a user acts with is the one auth wrote into their token ([`scope_of`] at login), so
//! a role change takes effect with their next token.

use keel_sdk::access::{Denied as Rule, Permission, Policy, Principal, Scope};
use keel_sdk::tokens::{roles, Identity, PLATFORM_TENANT};

use crate::directory::tenant_not_found;
use crate::error::{AuthError, Denied};
use crate::model::{RoleRecord, TenantRecord};

/// The policy auth applies. Only people (from verified tokens) and sidecar-stamped apps reach
/// it, never [`Principal::Local`], so local trust is off.
fn policy() -> Policy {
    Policy { trust_local: false, ..Policy::default() }
}

/// The person behind a verified token; client tokens administer nothing.
pub fn person(identity: &Identity) -> Result<Principal, AuthError> {
    if identity.client_id.is_some() {
        return Err(Denied::ClientToken.into());
    }
    Ok(Principal::Person(identity.person()))
}

/// May `identity` do `what`?
pub fn require(identity: &Identity, what: Permission<'_>) -> Result<(), AuthError> {
    policy().check(&person(identity)?, what).map_err(refused)
}

/// May the app `app` (as its sidecar stamped it) do `what`? Being a core app-id grants nothing
/// by itself: only the grants of [`Policy`] count.
pub fn app_may(app: &str, what: Permission<'_>) -> bool {
    policy().check(&Principal::App(app.to_owned()), what).is_ok()
}

/// The tenant a management request acts on (`asked`, from `?tenant=`, or the caller's own),
/// once `what` (built for that tenant) is allowed. A tenant-scope caller naming another tenant
/// gets the same 404 as for a tenant that does not exist, so tenants cannot be probed.
pub fn target_tenant(
    identity: &Identity,
    asked: Option<&str>,
    what: impl FnOnce(&str) -> Permission<'_>,
) -> Result<String, AuthError> {
    person(identity)?;
    let tenant = asked.unwrap_or(&identity.tenant).to_owned();
    if identity.scope != Scope::Platform && tenant != identity.tenant {
        return Err(tenant_not_found(&tenant));
    }
    require(identity, what(&tenant))?;
    Ok(tenant)
}

/// The scope a user of `tenant` holding `user_roles` has: platform for the super-admin and for
/// holders of a platform role of the platform tenant, tenant for everyone else.
pub fn scope_of(tenant: &TenantRecord, user_roles: &[String]) -> Scope {
    let platform = tenant.id == PLATFORM_TENANT
        && user_roles.iter().any(|r| {
            r == roles::SUPER_ADMIN || tenant.roles.get(r.as_str()).is_some_and(|role| role.platform)
        });
    if platform {
        Scope::Platform
    } else {
        Scope::Tenant
    }
}

/// May `identity` change (edit, delete, reset the password of, change the roles of) the user
/// `target` of `tenant`, who holds `target_roles`? Not when the target's scope is wider.
pub fn may_change_user(
    identity: &Identity,
    tenant: &TenantRecord,
    target: &str,
    target_roles: &[String],
) -> Result<(), AuthError> {
    let target_scope = scope_of(tenant, target_roles);
    policy().check_target(&person(identity)?, target, target_scope).map_err(refused)
}

/// May `identity` give the roles `wanted` to a user of `tenant`? Each must exist there (never
/// `client`, which only client tokens carry), and none may reach wider than the caller's own
/// scope (`super-admin` and platform roles need platform scope).
pub fn may_assign_roles(
    identity: &Identity,
    tenant: &TenantRecord,
    wanted: &[String],
) -> Result<(), AuthError> {
    for role in wanted {
        let exists = match role.as_str() {
            roles::SUPER_ADMIN => tenant.id == PLATFORM_TENANT,
            roles::CLIENT => false,
            other => tenant.roles.contains_key(other),
        };
        if !exists {
            return Err(AuthError::Invalid(format!(
                "role {:?} cannot be given in tenant {:?} (create it first with POST /v1/roles)",
                keel_sdk::service::snippet(role.as_bytes()),
                tenant.id
            )));
        }
        if scope_of(tenant, std::slice::from_ref(role)) > identity.scope {
            return Err(refused(Rule::HigherScope {
                who: identity.sub.clone(),
                target: format!("role {role}"),
                target_scope: Scope::Platform,
            }));
        }
    }
    Ok(())
}

/// May `identity` create, change or delete role `name` of `tenant` (`role`: its record, `None`
/// when it is being created), making it a platform role when `platform`? Platform roles exist
/// only in the platform tenant and only platform scope touches them.
pub fn may_edit_role(
    identity: &Identity,
    tenant: &str,
    name: &str,
    role: Option<&RoleRecord>,
    platform: bool,
) -> Result<(), AuthError> {
    let wide = platform || role.is_some_and(|r| r.platform);
    if platform && tenant != PLATFORM_TENANT {
        return Err(AuthError::Invalid(format!(
            "only roles of tenant {PLATFORM_TENANT:?} can have platform scope; {name:?} is in {tenant:?}"
        )));
    }
    if wide && identity.scope != Scope::Platform {
        return Err(refused(Rule::HigherScope {
            who: identity.sub.clone(),
            target: format!("role {name}"),
            target_scope: Scope::Platform,
        }));
    }
    Ok(())
}

fn refused(rule: Rule) -> AuthError {
    Denied::Rule(rule).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_sdk::tokens::PLATFORM_TENANT;

    fn who(user: &str, tenant: &str, scope: Scope, roles: &[&str]) -> Identity {
        Identity {
            sub: user.into(),
            tenant: tenant.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            client_id: None,
            jti: "j".into(),
            exp: u64::MAX,
            scope,
        }
    }

    fn platform_tenant() -> TenantRecord {
        let mut t = TenantRecord::new(PLATFORM_TENANT, "Platform", 0);
        t.roles.insert("operators".into(), RoleRecord { platform: true, ..RoleRecord::default() });
        t
    }

    #[test]
    fn platform_scope_comes_from_super_admin_or_an_explicit_platform_role_of_the_platform_tenant() {
        let p = platform_tenant();
        assert_eq!(scope_of(&p, &["super-admin".into()]), Scope::Platform);
        assert_eq!(scope_of(&p, &["operators".into()]), Scope::Platform);
        assert_eq!(scope_of(&p, &["admin".into()]), Scope::Tenant, "the platform tenant's admin role");
        let mut acme = TenantRecord::new("acme", "Acme", 0);
        acme.roles.insert("operators".into(), RoleRecord { platform: true, ..RoleRecord::default() });
        assert_eq!(scope_of(&acme, &["operators".into(), "super-admin".into()]), Scope::Tenant);
    }

    #[test]
    fn a_tenant_scope_admin_of_the_platform_tenant_cannot_touch_the_super_admin() {
        let p = platform_tenant();
        let pat = who("pat", PLATFORM_TENANT, Scope::Tenant, &["admin"]);
        assert!(may_change_user(&pat, &p, "admin", &["super-admin".into(), "admin".into()]).is_err());
        assert!(may_change_user(&pat, &p, "op", &["operators".into()]).is_err());
        assert!(may_change_user(&pat, &p, "bob", &["user".into()]).is_ok());
        assert!(may_assign_roles(&pat, &p, &["super-admin".into()]).is_err());
        assert!(may_assign_roles(&pat, &p, &["operators".into()]).is_err());
        assert!(may_assign_roles(&pat, &p, &["admin".into()]).is_ok());
        assert!(may_edit_role(&pat, PLATFORM_TENANT, "ops", None, true).is_err());
        assert!(may_edit_role(&pat, PLATFORM_TENANT, "operators", p.roles.get("operators"), false).is_err());
        let root = who("admin", PLATFORM_TENANT, Scope::Platform, &["super-admin"]);
        assert!(may_change_user(&root, &p, "admin2", &["super-admin".into()]).is_ok());
        assert!(may_edit_role(&root, "acme", "ops", None, true).is_err(), "platform roles only in platform");
    }

    #[test]
    fn tenants_are_reached_by_their_own_admins_and_platform_scope_only() {
        let ann = who("ann", "acme", Scope::Tenant, &["admin"]);
        let t = target_tenant(&ann, None, |tenant| Permission::ManageUsers { tenant }).unwrap();
        assert_eq!(t, "acme");
        let other = target_tenant(&ann, Some("globex"), |tenant| Permission::ManageUsers { tenant });
        assert!(matches!(other, Err(AuthError::NotFound(_))), "same answer as a missing tenant");
        assert!(require(&ann, Permission::ManageTenants).is_err());
        assert!(require(&ann, Permission::RotateKeys).is_err());
        let bob = who("bob", "acme", Scope::Tenant, &["user"]);
        assert!(target_tenant(&bob, None, |tenant| Permission::ManageUsers { tenant }).is_err());
        let op = who("op", PLATFORM_TENANT, Scope::Platform, &["operators"]);
        assert!(target_tenant(&op, Some("globex"), |tenant| Permission::ManageUsers { tenant }).is_ok());
        assert!(require(&op, Permission::ManageTenants).is_ok());
        let mut client = who("echo", PLATFORM_TENANT, Scope::Tenant, &["client"]);
        client.client_id = Some("echo".into());
        assert!(matches!(require(&client, Permission::ManageTenants), Err(AuthError::Forbidden(_))));
    }

    #[test]
    fn only_the_registry_has_the_client_credentials_grant() {
        assert!(app_may("plugins", Permission::SetClientCredentials));
        assert!(!app_may("keel", Permission::SetClientCredentials));
        assert!(!app_may("echo", Permission::SetClientCredentials));
    }
}
