//! Two scopes of administration in auth, end to end (issue 13 §1): an admin of the `platform`
//! tenant who is not of platform scope manages that tenant's ordinary users, but cannot reset,
//! change, demote or delete the super-admin (the observed take-over), cannot make themselves or
//! anyone platform scope, and cannot manage tenants or rotate keys; a role of the platform tenant
//! granted platform scope explicitly by the super-admin gives its holders exactly that.

mod auth_support;

use auth_support::*;
use keel_e2e::Platform;
use serde_json::json;

/// The observed case and its variants: every change of the super-admin by a tenant-scope admin
/// of the platform tenant is refused, and the super-admin's password still works afterwards.
#[actix_rt::test]
async fn an_admin_of_the_platform_tenant_without_platform_scope_cannot_take_over_the_super_admin() {
    let mut p = Platform::new();
    start(&mut p, auth_app(&[]), &["cli"]).await;
    let root = token(&p, "cli", "admin", ADMIN_PW, None).await;
    let pat = json!({"username": "pat", "password": "pat-password", "roles": ["admin"]});
    assert_eq!(call(&p, "cli", "POST", "v1/users", Body::Json(pat), Some(&root)).await.0, 201);
    let pat = token(&p, "cli", "pat", "pat-password", None).await;
    assert_eq!(claims(&pat)["scope"], "tenant", "the platform tenant's admin role is tenant scope");

    let attacks = [
        ("PATCH", "v1/users/admin", Some(json!({"password": "stolen-password"}))),
        ("PATCH", "v1/users/admin", Some(json!({"roles": ["user"]}))),
        ("PATCH", "v1/users/admin", Some(json!({"disabled": true}))),
        ("DELETE", "v1/users/admin", None),
    ];
    for (method, path, body) in attacks {
        let body = body.map(Body::Json).unwrap_or(Body::None);
        let (status, res) = call(&p, "cli", method, path, body, Some(&pat)).await;
        assert_eq!(status, 403, "{method} {path}: {res}");
        assert_eq!(res["code"], "ERR_FORBIDDEN", "{res}");
        assert!(res["msg"].as_str().unwrap().contains("wider"), "{res}");
    }
    assert_eq!(login(&p, "cli", "admin", "stolen-password", None).await.0, 400);
    let again = token(&p, "cli", "admin", ADMIN_PW, None).await;
    assert_eq!(claims(&again)["scope"], "platform");
    let (_, me) = call(&p, "cli", "GET", "v1/users/admin", Body::None, Some(&root)).await;
    assert_eq!(me["roles"], json!(["super-admin", "admin"]), "{me}");
    assert_eq!(me["disabled"], false);

    // Nor can pat climb: no super-admin role, for themselves or a new user.
    let (status, res) = call(
        &p,
        "cli",
        "PATCH",
        "v1/users/pat",
        Body::Json(json!({"roles": ["admin", "super-admin"]})),
        Some(&pat),
    )
    .await;
    assert_eq!(status, 403, "{res}");
    let mole = json!({"username": "mole", "password": "mole-password", "roles": ["super-admin"]});
    assert_eq!(call(&p, "cli", "POST", "v1/users", Body::Json(mole), Some(&pat)).await.0, 403);

    // Platform permissions are refused to tenant scope.
    let acme = json!({"id": "acme"});
    let (status, res) = call(&p, "cli", "POST", "v1/tenants", Body::Json(acme), Some(&pat)).await;
    assert_eq!((status, res["code"].as_str()), (403, Some("ERR_FORBIDDEN")), "{res}");
    assert!(res["msg"].as_str().unwrap().contains("platform scope"), "{res}");
    assert_eq!(call(&p, "cli", "POST", "v1/oauth/keys/rotate", Body::None, Some(&pat)).await.0, 403);
    let (status, _) = call(&p, "cli", "GET", "v1/users?tenant=acme", Body::None, Some(&pat)).await;
    assert_eq!(status, 404, "another tenant is not even visible");

    // What pat may do: manage the platform tenant's ordinary users.
    let bob = json!({"username": "bob", "password": "bob-password"});
    assert_eq!(call(&p, "cli", "POST", "v1/users", Body::Json(bob), Some(&pat)).await.0, 201);
    let reset = Body::Json(json!({"password": "bob-new-password"}));
    assert_eq!(call(&p, "cli", "PATCH", "v1/users/bob", reset, Some(&pat)).await.0, 200);
    token(&p, "cli", "bob", "bob-new-password", None).await;
    assert_eq!(call(&p, "cli", "DELETE", "v1/users/bob", Body::None, Some(&pat)).await.0, 200);
}

/// Platform scope granted explicitly: only the super-admin makes a platform role (only in the
/// platform tenant); its holder then manages tenants and rotates keys, and a tenant-scope admin
/// can neither give it, edit it nor touch its holders.
#[actix_rt::test]
async fn a_role_granted_platform_scope_explicitly_gives_platform_scope_and_only_platform_scope_grants_it() {
    let mut p = Platform::new();
    start(&mut p, auth_app(&[]), &["cli"]).await;
    let root = token(&p, "cli", "admin", ADMIN_PW, None).await;
    let pat = json!({"username": "pat", "password": "pat-password", "roles": ["admin"]});
    assert_eq!(call(&p, "cli", "POST", "v1/users", Body::Json(pat), Some(&root)).await.0, 201);
    let pat = token(&p, "cli", "pat", "pat-password", None).await;

    let ops = json!({"name": "operators", "platform": true, "desc": "run the platform"});
    let (status, res) = call(&p, "cli", "POST", "v1/roles", Body::Json(ops.clone()), Some(&pat)).await;
    assert_eq!(status, 403, "a tenant-scope admin makes no platform role: {res}");
    let (status, res) = call(&p, "cli", "POST", "v1/roles", Body::Json(ops), Some(&root)).await;
    assert_eq!(status, 201, "{res}");
    assert_eq!(res["platform"], true, "{res}");
    let t = json!({"id": "acme", "admin": {"username": "boss", "password": "acme-boss-pw"}});
    assert_eq!(call(&p, "cli", "POST", "v1/tenants", Body::Json(t), Some(&root)).await.0, 201);
    let elsewhere = json!({"name": "operators", "platform": true});
    let (status, res) =
        call(&p, "cli", "POST", "v1/roles?tenant=acme", Body::Json(elsewhere), Some(&root)).await;
    assert_eq!(status, 400, "platform roles live in the platform tenant only: {res}");

    let op = json!({"username": "olga", "password": "olga-password", "roles": ["operators"]});
    let (status, res) = call(&p, "cli", "POST", "v1/users", Body::Json(op.clone()), Some(&pat)).await;
    assert_eq!(status, 403, "pat cannot hand out platform scope: {res}");
    assert_eq!(call(&p, "cli", "POST", "v1/users", Body::Json(op), Some(&root)).await.0, 201);
    let demote = Body::Json(json!({"plugins": ["*"]}));
    assert_eq!(call(&p, "cli", "PATCH", "v1/roles/operators", demote, Some(&pat)).await.0, 403);
    assert_eq!(call(&p, "cli", "DELETE", "v1/roles/operators", Body::None, Some(&pat)).await.0, 403);
    let reset = Body::Json(json!({"password": "stolen-password"}));
    assert_eq!(call(&p, "cli", "PATCH", "v1/users/olga", reset, Some(&pat)).await.0, 403);

    let olga = token(&p, "cli", "olga", "olga-password", None).await;
    assert_eq!(claims(&olga)["scope"], "platform");
    let globex = json!({"id": "globex"});
    assert_eq!(call(&p, "cli", "POST", "v1/tenants", Body::Json(globex), Some(&olga)).await.0, 201);
    let (status, res) = call(&p, "cli", "GET", "v1/users?tenant=acme", Body::None, Some(&olga)).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(call(&p, "cli", "POST", "v1/oauth/keys/rotate", Body::None, Some(&olga)).await.0, 200);

    // The tenant's own admin manages its users and roles, nothing of the platform.
    let boss = token(&p, "cli", "boss", "acme-boss-pw", Some("acme")).await;
    let ann = json!({"username": "ann", "password": "ann-password"});
    assert_eq!(call(&p, "cli", "POST", "v1/users", Body::Json(ann), Some(&boss)).await.0, 201);
    let role = json!({"name": "viewers", "plugins": ["echo"]});
    assert_eq!(call(&p, "cli", "POST", "v1/roles", Body::Json(role), Some(&boss)).await.0, 201);
    assert_eq!(call(&p, "cli", "DELETE", "v1/tenants/globex", Body::None, Some(&boss)).await.0, 403);
    assert_eq!(call(&p, "cli", "POST", "v1/oauth/keys/rotate", Body::None, Some(&boss)).await.0, 403);
}
