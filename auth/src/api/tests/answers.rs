//! The exact bytes of auth's answers: the CLI and other clients read them, so a change of field
//! name, order or omission is a change of the API and must show up here.

use std::collections::{BTreeMap, BTreeSet};

use keel_sdk::management::auth::{
    CreatedTenant, Me, RoleList, TenantList, TenantView, TokenResponse, UserList,
};
use keel_sdk::protocol::Reply;

use crate::model::{role_view, user_view, RoleRecord, TenantRecord, UserRecord};

fn json<T: serde::Serialize>(body: T) -> String {
    serde_json::to_string(&Reply::ok(body)).unwrap()
}

fn tenant() -> TenantRecord {
    TenantRecord { id: "acme".into(), name: "Acme".into(), created_at: 7, roles: BTreeMap::new() }
}

fn user() -> UserRecord {
    UserRecord {
        username: "ann".into(),
        password_hash: "$argon2id$never-shown".into(),
        roles: vec!["user".into(), "ops".into()],
        disabled: false,
        created_at: 10,
        updated_at: 11,
        generation: 3,
    }
}

#[test]
fn tenant_answers_keep_their_bytes() {
    let view = TenantView::from(&tenant());
    assert_eq!(json(view.clone()), r#"{"ret":0,"msg":"ok","id":"acme","name":"Acme","created_at":7}"#);
    assert_eq!(
        json(TenantList { tenants: vec![view.clone()] }),
        r#"{"ret":0,"msg":"ok","tenants":[{"id":"acme","name":"Acme","created_at":7}]}"#
    );
    assert_eq!(
        json(CreatedTenant { tenant: view.clone(), admin: Some("boss".into()) }),
        r#"{"ret":0,"msg":"ok","id":"acme","name":"Acme","created_at":7,"admin":"boss"}"#
    );
    assert_eq!(
        json(CreatedTenant { tenant: view, admin: None }),
        r#"{"ret":0,"msg":"ok","id":"acme","name":"Acme","created_at":7}"#
    );
}

#[test]
fn user_answers_keep_their_bytes_and_never_the_hash() {
    let view = user_view("acme", &user());
    let one = r#"{"username":"ann","tenant":"acme","roles":["user","ops"],"disabled":false,"created_at":10,"updated_at":11}"#;
    assert_eq!(json(view.clone()), format!(r#"{{"ret":0,"msg":"ok",{}"#, &one[1..]));
    assert_eq!(json(UserList { users: vec![view] }), format!(r#"{{"ret":0,"msg":"ok","users":[{one}]}}"#));
}

#[test]
fn role_answers_keep_their_bytes() {
    let role = RoleRecord {
        desc: "operators".into(),
        plugins: BTreeSet::from(["echo".to_owned(), "greeter".to_owned()]),
        created_at: 5,
        platform: false,
    };
    let view = role_view("acme", "ops", &role);
    let one =
        r#"{"name":"ops","tenant":"acme","desc":"operators","plugins":["echo","greeter"],"built_in":false}"#;
    assert_eq!(json(view.clone()), format!(r#"{{"ret":0,"msg":"ok",{}"#, &one[1..]));
    assert_eq!(json(RoleList { roles: vec![view] }), format!(r#"{{"ret":0,"msg":"ok","roles":[{one}]}}"#));
}

#[test]
fn token_answers_keep_their_bytes() {
    let user = TokenResponse {
        access_token: "eyJ.a.b".into(),
        token_type: "Bearer".into(),
        expires_in: 3600,
        refresh_token: Some("krt_x".into()),
        refresh_expires_in: Some(86400),
    };
    assert_eq!(
        json(user),
        r#"{"ret":0,"msg":"ok","access_token":"eyJ.a.b","token_type":"Bearer","expires_in":3600,"refresh_token":"krt_x","refresh_expires_in":86400}"#
    );
    let client = TokenResponse {
        access_token: "eyJ.c.d".into(),
        token_type: "Bearer".into(),
        expires_in: 60,
        refresh_token: None,
        refresh_expires_in: None,
    };
    assert_eq!(
        json(client),
        r#"{"ret":0,"msg":"ok","access_token":"eyJ.c.d","token_type":"Bearer","expires_in":60}"#
    );
}

#[test]
fn me_answers_keep_their_bytes() {
    let me = Me {
        sub: "ann".into(),
        tenant: "acme".into(),
        roles: vec!["admin".into()],
        client_id: None,
        exp: 99,
    };
    assert_eq!(
        json(me),
        r#"{"ret":0,"msg":"ok","sub":"ann","tenant":"acme","roles":["admin"],"client_id":null,"exp":99}"#
    );
    let client = Me {
        sub: "echo".into(),
        tenant: "platform".into(),
        roles: vec!["client".into()],
        client_id: Some("echo".into()),
        exp: 1,
    };
    assert_eq!(
        json(client),
        r#"{"ret":0,"msg":"ok","sub":"echo","tenant":"platform","roles":["client"],"client_id":"echo","exp":1}"#
    );
}
