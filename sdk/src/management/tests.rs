//! The records read as a client reads them: a newer server's extra fields are ignored, fields a
//! client can do without may be missing, request bodies refuse typos, and secrets stay out of
//! `Debug`.

use serde_json::json;

use super::auth::{CreatedTenant, Me, NewUser, RoleList, TenantList, TokenResponse, UserList};
use super::registry::{ListQuery, Listing, PluginView, Registration, UnregisterQuery};
use crate::protocol::{PluginStatus, Reply};

fn plugin(extra: serde_json::Value) -> PluginView {
    let mut v = json!({"ret": 0, "msg": "ok", "id": "echo", "version": "1.0.0", "status": "ACTIVE",
        "registered_at_ms": 1000, "last_checked_ms": 2000, "last_error": null});
    v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    serde_json::from_value::<Reply<PluginView>>(v).unwrap().body
}

#[test]
fn answers_ignore_fields_a_newer_server_adds() {
    let p = plugin(json!({"hosted": {"root": "/x"}, "console": [1, 2]}));
    assert_eq!((p.id.as_str(), p.status), ("echo", PluginStatus::Active));
    let page: Reply<Listing> = serde_json::from_value(json!({"ret": 0, "msg": "ok", "total": 1, "offset": 0,
        "limit": 500, "plugins": [{"id": "a", "version": "1", "status": "FAILED", "new": 1}], "cursor_v2": "x"}))
    .unwrap();
    assert_eq!(page.body.plugins[0].status, PluginStatus::Failed);
    let users: UserList =
        serde_json::from_value(json!({"users": [{"username": "ann", "tenant": "acme", "mfa": true}]}))
            .unwrap();
    assert_eq!(users.users[0].username, "ann");
    let roles: RoleList =
        serde_json::from_value(json!({"roles": [{"name": "ops", "tenant": "acme", "scope": "tenant"}]}))
            .unwrap();
    assert!(!roles.roles[0].built_in);
    let tenants: TenantList =
        serde_json::from_value(json!({"tenants": [{"id": "acme", "quota": 3}]})).unwrap();
    assert_eq!(tenants.tenants[0].id, "acme");
    let created: CreatedTenant = serde_json::from_value(
        json!({"id": "acme", "name": "Acme", "created_at": 1, "admin": "boss", "x": 1}),
    )
    .unwrap();
    assert_eq!((created.tenant.id.as_str(), created.admin.as_deref()), ("acme", Some("boss")));
    let token: Reply<TokenResponse> = serde_json::from_value(json!({"ret": 0, "msg": "ok",
        "access_token": "a.b.c", "token_type": "Bearer", "expires_in": 60, "scope": "all"}))
    .unwrap();
    assert_eq!(token.body.refresh_token, None);
    let me: Me = serde_json::from_value(
        json!({"sub": "ann", "tenant": "acme", "roles": [], "client_id": null, "exp": 9, "scope": "tenant"}),
    )
    .unwrap();
    assert_eq!(me.sub, "ann");
}

#[test]
fn an_error_is_current_only_when_its_check_is_not_older_than_the_registration() {
    let failing = plugin(json!({"last_error": "connection refused", "consecutive_failures": 1}));
    assert_eq!(failing.current_error(), Some("connection refused"));
    assert_eq!(failing.last_check_ms(), 2000);
    // Health left from before a re-registration: the registration's own check succeeded since.
    let stale = plugin(json!({"last_error": "connection refused", "registered_at_ms": 5000}));
    assert_eq!(stale.current_error(), None);
    assert_eq!(stale.last_check_ms(), 5000);
    assert_eq!(plugin(json!({})).current_error(), None);
}

#[test]
fn queries_write_only_what_they_say() {
    let q = ListQuery { limit: Some(500), offset: Some(0), ..ListQuery::default() };
    assert_eq!(serde_json::to_value(q).unwrap(), json!({"limit": 500, "offset": 0}));
    assert_eq!(serde_json::to_value(UnregisterQuery { force: true }).unwrap(), json!({"force": true}));
}

#[test]
fn request_bodies_refuse_unknown_fields() {
    let typo = serde_json::from_value::<NewUser>(json!({"username": "a", "password": "b", "rolse": []}));
    assert!(typo.err().unwrap().to_string().contains("unknown field `rolse`"));
}

#[test]
fn secrets_and_tokens_stay_out_of_debug() {
    let reg = Registration { id: "echo".into(), secret: Some("s3cret-value".into()) };
    assert!(!format!("{reg:?}").contains("s3cret"), "{reg:?}");
    assert_eq!(serde_json::to_value(&reg).unwrap(), json!({"id": "echo", "secret": "s3cret-value"}));
    let no_secret = Registration { id: "echo".into(), secret: None };
    assert_eq!(serde_json::to_value(no_secret).unwrap(), json!({"id": "echo"}));
    let token = TokenResponse {
        access_token: "eyJhbGciOi.secret-part".into(),
        token_type: "Bearer".into(),
        expires_in: 60,
        refresh_token: Some("krt_secret".into()),
        refresh_expires_in: Some(120),
    };
    let shown = format!("{token:?}");
    assert!(!shown.contains("secret-part") && !shown.contains("krt_"), "{shown}");
}

#[test]
fn console_records_keep_tarswebs_names_and_refuse_typos_in_bodies() {
    use super::console::{ConsoleEntryView, ConsoleListing, ConsoleRegistration, OwnerKind};
    let put: ConsoleRegistration = serde_json::from_value(
        json!({"name": "网关", "name_en": "Gateway", "obj": "gw", "type": 1, "path": "/plugins/gw/"}),
    )
    .unwrap();
    assert_eq!((put.kind, put.external, put.entry().path.as_str()), (1, 0, "/plugins/gw/"));
    let typo = serde_json::from_value::<ConsoleRegistration>(
        json!({"name": "n", "name_en": "N", "obj": "gw", "tpye": 1, "path": "/plugins/gw/"}),
    );
    assert!(typo.unwrap_err().to_string().contains("unknown field `tpye`"));
    let view = ConsoleEntryView {
        name: "网关".into(),
        name_en: "Gateway".into(),
        obj: "gw".into(),
        kind: 1,
        path: "/plugins/gw/".into(),
        external: 0,
        owner: "gw".into(),
        owner_kind: OwnerKind::Service,
        status: "UNKNOWN".into(),
    };
    assert_eq!(
        serde_json::to_string(&view).unwrap(),
        r#"{"name":"网关","name_en":"Gateway","obj":"gw","type":1,"path":"/plugins/gw/","extern":0,"owner":"gw","kind":"service","status":"UNKNOWN"}"#
    );
    let mut newer = serde_json::to_value(&view).unwrap();
    newer["icon"] = json!("x.svg");
    let listing: ConsoleListing = serde_json::from_value(json!({"entries": [newer], "next": 1})).unwrap();
    assert_eq!(listing.entries, vec![view]);
}

#[test]
fn ticket_records_are_the_contracts_shapes() {
    use super::tickets::{Action, CreatedTicket, PermissionQuery, SessionUser, TicketInfo};
    use crate::access::Scope;
    let created = CreatedTicket {
        ticket: "kt_x".into(),
        user: SessionUser {
            username: "ann".into(),
            tenant: "acme".into(),
            roles: vec!["user".into()],
            scope: Scope::Tenant,
        },
        idle_expires_at: 10,
        expires_at: 20,
    };
    assert_eq!(
        serde_json::to_value(&created).unwrap(),
        json!({"ticket": "kt_x", "user": {"username": "ann", "tenant": "acme", "roles": ["user"], "scope": "tenant"},
            "idle_expires_at": 10, "expires_at": 20})
    );
    let info: Reply<TicketInfo> = serde_json::from_value(json!({"ret": 0, "msg": "ok", "username": "ann",
        "tenant": "acme", "roles": [], "scope": "tenant", "audience": "notes", "expires_at": 20, "new": 1}))
    .unwrap();
    assert_eq!(info.body.audience.as_deref(), Some("notes"));
    let q: PermissionQuery =
        serde_json::from_value(json!({"ticket": "kt_x", "target": "notes", "action": "operate"})).unwrap();
    assert_eq!(q.action, Action::Operate);
    assert!(serde_json::from_value::<PermissionQuery>(
        json!({"ticket": "kt_x", "target": "notes", "action": "operate", "tenant": "x"})
    )
    .is_err());
    assert!(serde_json::from_value::<Action>(json!("own")).is_err());
}
