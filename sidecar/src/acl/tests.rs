//! daprd's own cases (`pkg/acl/acl_test.go`), for the HTTP app protocol.

use super::*;

fn op(name: &str, verbs: &[&str], action: &str) -> OperationSpec {
    OperationSpec {
        name: name.into(),
        http_verbs: verbs.iter().map(|v| v.to_string()).collect(),
        action: action.into(),
    }
}

fn policy(app: &str, default: &str, td: &str, ns: &str, ops: Vec<OperationSpec>) -> AppPolicySpec {
    AppPolicySpec {
        app_id: app.into(),
        default_action: default.into(),
        trust_domain: td.into(),
        namespace: ns.into(),
        operations: ops,
    }
}

/// daprd's `initializeAccessControlList`.
fn daprds_list() -> AccessControlList {
    let spec = AccessControlSpec {
        default_action: DENY.into(),
        trust_domain: "abcd".into(),
        policies: Some(vec![
            policy(
                "app1",
                ALLOW,
                "public",
                "ns1",
                vec![op("/op1", &["POST", "GET"], ALLOW), op("/op2", &["*"], DENY)],
            ),
            policy(
                "app2",
                DENY,
                "domain1",
                "ns2",
                vec![op("/op3/a/*", &["PUT", "GET"], ALLOW), op("/op4", &["POST"], ALLOW)],
            ),
            policy("app3", "", "domain1", "ns1", vec![op("/op5", &["POST"], ALLOW)]),
            policy("app1", ALLOW, "public", "ns4", vec![op("/op6", &["*"], ALLOW)]),
        ]),
    };
    AccessControlList::parse(Some(&spec)).unwrap().unwrap()
}

fn id(td: &str, ns: &str, app: &str) -> SpiffeId {
    SpiffeId { trust_domain: td.into(), namespace: ns.into(), app_id: app.into() }
}

fn allowed(acl: &AccessControlList, caller: Option<SpiffeId>, operation: &str, verb: &str) -> bool {
    acl.check(caller.as_ref(), operation, verb).is_ok()
}

#[test]
fn callers_without_a_policy_or_identity_get_the_global_default() {
    let acl = daprds_list();
    assert!(!allowed(&acl, Some(id("public", "ns1", "appX")), "op1", "POST"));
    assert!(!allowed(&acl, Some(id("private", "ns1", "app1")), "op1", "POST"), "trust domain differs");
    assert!(!allowed(&acl, Some(id("public", "abcd", "app1")), "op1", "POST"), "namespace differs");
    assert!(!allowed(&acl, None, "op1", "POST"), "no identity");
}

#[test]
fn operations_and_verbs_decide_for_a_known_caller() {
    let acl = daprds_list();
    let app1 = || Some(id("public", "ns1", "app1"));
    let app2 = || Some(id("domain1", "ns2", "app2"));
    assert!(allowed(&acl, app1(), "opX", "POST"), "no operation: the app's default");
    assert!(!allowed(&acl, app1(), "Op2", "POST"), "names match case-insensitively over HTTP");
    assert!(!allowed(&acl, app1(), "op2", "PUT"), "* verb");
    assert!(!allowed(&acl, app2(), "op4", "PUT"), "verb not listed: the app's default");
    assert!(allowed(&acl, app2(), "op4", "POST"));
    assert!(allowed(&acl, app2(), "/op4", "POST"), "a leading slash is the same operation");
    assert!(!allowed(&acl, app2(), "op4", ""), "no verb: the app's default");
    assert!(allowed(&acl, app2(), "/op3/a", "PUT"), "/op3/a/* covers /op3/a");
    assert!(allowed(&acl, app2(), "/op3/a/b", "PUT"));
    assert!(!allowed(&acl, app2(), "/op3/b/b", "PUT"));
    assert!(!allowed(&acl, Some(id("domain1", "ns1", "app3")), "op5", "PUT"), "no app default: global");
    assert!(allowed(&acl, Some(id("public", "ns4", "app1")), "op6", "GET"), "same app-id, other namespace");
}

#[test]
fn a_denial_is_worded_as_daprd_words_it() {
    let acl = daprds_list();
    let e = acl.check(Some(&id("public", "ns1", "appX")), "admin", "GET").unwrap_err();
    assert_eq!(
        e.to_string(),
        "access control policy has denied access to id: spiffe://public/ns/ns1/appX operation: admin verb: GET"
    );
    // Without an identity Go prints an empty URL.
    let e = acl.check(None, "x/y", "POST").unwrap_err();
    assert_eq!(e.to_string(), "access control policy has denied access to id:  operation: x/y verb: POST");
}

#[test]
fn empty_specs_and_defaults_parse_as_daprd_parses_them() {
    assert!(AccessControlList::parse(None).unwrap().is_none());
    assert!(AccessControlList::parse(Some(&AccessControlSpec::default())).unwrap().is_none());
    // A trust domain only, with no policies key: deny by default (Go's nil slice).
    let spec = AccessControlSpec { trust_domain: "td".into(), ..Default::default() };
    let acl = AccessControlList::parse(Some(&spec)).unwrap().unwrap();
    assert!(!allowed(&acl, None, "x", "GET"));
    let spec = AccessControlSpec { trust_domain: "td".into(), policies: Some(vec![]), ..Default::default() };
    assert!(allowed(&AccessControlList::parse(Some(&spec)).unwrap().unwrap(), None, "x", "GET"));
    // Global actions are lower-cased; app actions compare ignoring case.
    let spec = AccessControlSpec { default_action: "ALLOW".into(), ..Default::default() };
    assert!(allowed(&AccessControlList::parse(Some(&spec)).unwrap().unwrap(), None, "x", "GET"));
    let spec = AccessControlSpec { default_action: "allow".into(), ..Default::default() };
    assert_eq!(AccessControlList::parse(Some(&spec)).unwrap().unwrap().trust_domain(), "public");
}

#[test]
fn policies_without_trust_domain_namespace_or_app_id_are_refused() {
    let spec = AccessControlSpec {
        default_action: DENY.into(),
        trust_domain: "public".into(),
        policies: Some(vec![
            policy("a", ALLOW, "", "default", vec![]),
            policy("b", ALLOW, "public", "", vec![]),
            policy("c", ALLOW, "", "", vec![]),
        ]),
    };
    let e = AccessControlList::parse(Some(&spec)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid access control spec. missing trustdomain for apps: [a c], missing namespace for apps: [b c], missing app name on at least one of the app policies: false"
    );
}

#[test]
fn an_operation_without_an_action_denies() {
    // daprd's docs say `action` defaults to allow; its code stores "" and "" is not allow.
    let spec = AccessControlSpec {
        default_action: ALLOW.into(),
        trust_domain: "public".into(),
        policies: Some(vec![policy("a", ALLOW, "public", "default", vec![op("/x", &["GET"], "")])]),
    };
    let acl = AccessControlList::parse(Some(&spec)).unwrap().unwrap();
    assert!(!allowed(&acl, Some(id("public", "default", "a")), "x", "GET"));
    assert!(allowed(&acl, Some(id("public", "default", "a")), "y", "GET"));
}
