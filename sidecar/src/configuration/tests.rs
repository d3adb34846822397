use super::*;

fn file(dir: &Path, name: &str, text: &str) -> ConfigFile {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    ConfigFile { path, required: true }
}

fn no_env(_: &str) -> Option<String> {
    None
}

const PLUGIN: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: plugin
spec:
  tracing:
    samplingRate: "1"
  mtls:
    enabled: true
  accessControl:
    defaultAction: deny
    trustDomain: public
    policies:
    - appId: keel
      defaultAction: allow
      trustDomain: public
      namespace: default
    - appId: plugins
      defaultAction: deny
      trustDomain: public
      namespace: default
      operations:
      - name: /v1/*
        httpVerb: ["GET", "POST"]
        action: allow
  secrets:
    scopes:
    - storeName: vault
      defaultAccess: deny
      allowedSecrets: ["b", "a"]
"#;

#[test]
fn without_files_daprds_defaults_apply() {
    let c = Configuration::load(&[], no_env).unwrap();
    let ac = c.access_control.unwrap();
    assert_eq!((ac.default_action.as_str(), ac.trust_domain.as_str()), ("allow", "public"));
    assert!(!c.mtls_enabled);
}

#[test]
fn a_file_gives_policies_mtls_and_secret_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let c = Configuration::load(&[file(dir.path(), "c.yaml", PLUGIN)], no_env).unwrap();
    assert!(c.mtls_enabled);
    let ac = c.access_control.clone().unwrap();
    assert_eq!(ac.default_action, "deny");
    let policies = ac.policies.unwrap();
    assert_eq!(policies.len(), 2);
    assert_eq!(policies[1].operations[0].http_verbs, vec!["GET", "POST"]);
    let scope = c.secrets_scope("vault").unwrap();
    assert_eq!(scope.allowed_secrets, vec!["a", "b"], "sorted");
    assert!(scope.is_secret_allowed("a") && !scope.is_secret_allowed("c"));
}

#[test]
fn later_files_lay_over_earlier_ones_key_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let first = file(dir.path(), "1.yaml", PLUGIN);
    let second = file(dir.path(), "2.yaml", "spec:\n  accessControl:\n    trustDomain: other\n");
    let c = Configuration::load(&[first, second], no_env).unwrap();
    let ac = c.access_control.unwrap();
    assert_eq!((ac.default_action.as_str(), ac.trust_domain.as_str()), ("deny", "other"));
    assert_eq!(ac.policies.unwrap().len(), 2, "kept");
    // A policy list without a global default keeps daprd's default `allow`.
    let only = file(dir.path(), "3.yaml", "spec:\n  accessControl:\n    policies: []\n");
    let ac = Configuration::load(&[only], no_env).unwrap().access_control.unwrap();
    assert_eq!(ac.default_action, "allow");
    let cleared = file(dir.path(), "4.yaml", "spec:\n  accessControl: ~\n");
    assert!(Configuration::load(&[cleared], no_env).unwrap().access_control.is_none());
}

#[test]
fn environment_variables_are_expanded_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let f = file(
        dir.path(),
        "c.yaml",
        "spec:\n  accessControl:\n    trustDomain: ${TD}\n    defaultAction: $ACTION\n",
    );
    let env = |k: &str| match k {
        "TD" => Some("example.org".to_owned()),
        _ => None,
    };
    let ac = Configuration::load(&[f], env).unwrap().access_control.unwrap();
    assert_eq!((ac.trust_domain.as_str(), ac.default_action.as_str()), ("example.org", ""));
}

#[test]
fn wrong_types_missing_files_and_bad_scopes_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let bad = file(dir.path(), "bad.yaml", "spec:\n  accessControl:\n    policies:\n    - appId: a\n      operations:\n      - name: /x\n        httpVerb: GET\n");
    let e = Configuration::load(&[bad], no_env).unwrap_err().to_string();
    assert!(e.contains("bad.yaml") && e.contains("spec.accessControl.policies"), "{e}");
    let missing = ConfigFile { path: dir.path().join("nope.yaml"), required: true };
    assert!(Configuration::load(&[missing], no_env).unwrap_err().to_string().contains("nope.yaml"));
    let optional = ConfigFile { path: dir.path().join("nope.yaml"), required: false };
    assert!(Configuration::load(&[optional], no_env).is_ok());
    let twice = file(
        dir.path(),
        "twice.yaml",
        "spec:\n  secrets:\n    scopes:\n    - storeName: s\n    - storeName: s\n",
    );
    let e = Configuration::load(&[twice], no_env).unwrap_err().to_string();
    assert!(e.contains("s storeName is repeated in secrets configuration"), "{e}");
    let access = file(
        dir.path(),
        "access.yaml",
        "spec:\n  secrets:\n    scopes:\n    - storeName: s\n      defaultAccess: maybe\n",
    );
    let e = Configuration::load(&[access], no_env).unwrap_err().to_string();
    assert!(e.contains("defaultAccess maybe can be either allow or deny"), "{e}");
}

#[test]
fn secret_scopes_decide_as_daprd_decides() {
    let scope = |default: &str, allowed: &[&str], denied: &[&str]| SecretsScope {
        store_name: "s".into(),
        default_access: default.into(),
        allowed_secrets: allowed.iter().map(|s| s.to_string()).collect(),
        denied_secrets: denied.iter().map(|s| s.to_string()).collect(),
    };
    assert!(scope("", &[], &[]).is_secret_allowed("x"));
    assert!(!scope("deny", &[], &[]).is_secret_allowed("x"));
    assert!(!scope("allow", &[], &["x"]).is_secret_allowed("x"));
    assert!(scope("deny", &["x"], &[]).is_secret_allowed("x"));
    assert!(!scope("allow", &["y"], &[]).is_secret_allowed("x"), "an allow list decides alone");
}
