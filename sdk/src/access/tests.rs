use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

use super::*;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    h
}

fn person(tenant: &str, scope: Scope, roles: &[&str]) -> Principal {
    Principal::Person(Person::new("ann", tenant, scope, roles.iter().map(|r| r.to_string()).collect()))
}

#[test]
fn identity_headers_are_believed_only_from_keel() {
    let from_keel = headers(&[
        ("dapr-caller-app-id", "keel"),
        ("x-keel-user", "ann"),
        ("x-keel-tenant", "acme"),
        ("x-keel-roles", "admin, dev"),
        ("x-keel-scope", "tenant"),
    ]);
    let Principal::Person(p) = Principal::from_headers(&from_keel) else { panic!("a person") };
    assert_eq!((p.user.as_str(), p.tenant.as_str(), p.scope), ("ann", "acme", Scope::Tenant));
    assert_eq!(p.roles, ["admin", "dev"]);
    // The same claims from any other app are that app, nothing more.
    let forged =
        headers(&[("dapr-caller-app-id", "echo"), ("x-keel-user", "admin"), ("x-keel-scope", "platform")]);
    assert_eq!(Principal::from_headers(&forged), Principal::App("echo".into()));
    // keel vouching for a plugin, keel itself, and no sidecar at all.
    let via_keel = headers(&[("dapr-caller-app-id", "keel"), ("x-keel-caller", "greeter")]);
    assert_eq!(Principal::from_headers(&via_keel), Principal::App("greeter".into()));
    assert_eq!(
        Principal::from_headers(&headers(&[("dapr-caller-app-id", "keel")])),
        Principal::App("keel".into())
    );
    assert_eq!(Principal::from_headers(&HeaderMap::new()), Principal::Local);
    // A scope keel did not write is the narrower one.
    let odd = headers(&[("dapr-caller-app-id", "keel"), ("x-keel-user", "ann"), ("x-keel-scope", "root")]);
    assert!(matches!(Principal::from_headers(&odd), Principal::Person(p) if p.scope == Scope::Tenant));
}

#[test]
fn platform_permissions_need_platform_scope_whatever_the_role_names() {
    let policy = Policy::default();
    let tenant_admin = person("acme", Scope::Tenant, &["admin", "super-admin"]);
    let platform_admin = person("platform", Scope::Platform, &[]);
    for what in [
        Permission::RegisterPlugins,
        Permission::InstallBundles,
        Permission::RotateKeys,
        Permission::ManageTenants,
    ] {
        let err = policy.check(&tenant_admin, what).unwrap_err();
        assert!(matches!(err, Denied::NeedsPlatformScope { .. }), "{err:?}");
        assert_eq!(err.code(), Code::Forbidden);
        assert!(policy.check(&platform_admin, what).is_ok());
    }
    // An admin of the platform tenant without platform scope is a tenant admin like any other.
    let platform_tenant_admin = person("platform", Scope::Tenant, &["admin"]);
    assert!(policy.check(&platform_tenant_admin, Permission::RegisterPlugins).is_err());
}

#[test]
fn tenant_admins_manage_their_own_tenant_only() {
    let policy = Policy::default();
    let admin = person("acme", Scope::Tenant, &["admin"]);
    let user = person("acme", Scope::Tenant, &["user"]);
    for what in [
        Permission::ManageUsers { tenant: "acme" },
        Permission::ManageRoles { tenant: "acme" },
        Permission::EnablePlugins { tenant: "acme" },
    ] {
        assert!(policy.check(&admin, what).is_ok());
        assert!(matches!(policy.check(&user, what), Err(Denied::NotTenantAdmin { .. })));
    }
    assert!(matches!(
        policy.check(&admin, Permission::ManageUsers { tenant: "globex" }),
        Err(Denied::NotTenantAdmin { .. })
    ));
    assert!(policy
        .check(&person("platform", Scope::Platform, &[]), Permission::ManageUsers { tenant: "globex" })
        .is_ok());
}

#[test]
fn nobody_changes_a_user_of_a_wider_scope() {
    let policy = Policy::default();
    let admin = person("platform", Scope::Tenant, &["admin"]);
    let err = policy.check_target(&admin, "root", Scope::Platform).unwrap_err();
    assert!(err.to_string().contains("\"root\""), "{err}");
    assert!(policy.check_target(&admin, "bob", Scope::Tenant).is_ok());
    assert!(policy.check_target(&person("platform", Scope::Platform, &[]), "root", Scope::Platform).is_ok());
}

#[test]
fn apps_hold_grants_not_privileges_of_their_name() {
    let policy = Policy::default();
    let registry = Principal::App("plugins".into());
    assert!(policy.check(&registry, Permission::PushRoutes).is_ok());
    assert!(policy.check(&registry, Permission::SetClientCredentials).is_ok());
    // A core app-id is no blanket pass: keel itself may read routes, not register plugins.
    let keel = Principal::App("keel".into());
    assert!(policy.check(&keel, Permission::ReadRoutes).is_ok());
    let err = policy.check(&keel, Permission::RegisterPlugins).unwrap_err();
    assert_eq!(err.code(), Code::CallerNotAllowed);
    assert!(err.to_string().contains("register-plugins"), "{err}");
    let mut granted = Policy::default();
    granted.grants.add("deployer", [Grant::RegisterPlugins]);
    assert!(granted.check(&Principal::App("deployer".into()), Permission::RegisterPlugins).is_ok());
    // People never hold internal permissions, and clients administer nothing.
    let platform_admin = person("platform", Scope::Platform, &[]);
    assert!(policy.check(&platform_admin, Permission::PushRoutes).is_err());
    let mut client = Person::new("echo", "platform", Scope::Tenant, vec![]);
    client.client = Some("echo".into());
    assert!(matches!(
        policy.check(&Principal::Person(client), Permission::ManageUsers { tenant: "platform" }),
        Err(Denied::ClientToken { .. })
    ));
}

#[test]
fn requests_through_no_sidecar_are_trusted_only_where_the_policy_says() {
    assert!(Policy::default().check(&Principal::Local, Permission::RegisterPlugins).is_ok());
    let strict = Policy { trust_local: false, ..Policy::default() };
    let err = strict.check(&Principal::Local, Permission::RegisterPlugins).unwrap_err();
    assert_eq!(err.code(), Code::NoCaller);
}
