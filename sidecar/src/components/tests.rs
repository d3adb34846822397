use super::*;

fn parse(text: &str) -> Result<Vec<Component>, ComponentError> {
    parse_file(Path::new("/r/c.yaml"), text, "app1")
}

#[test]
fn reads_a_state_component_with_metadata_and_scopes() {
    let c = parse(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: store\nspec:\n  type: state.sqlite\n  version: v1\n  metadata:\n  - name: connectionString\n    value: data.db\n  - name: timeout\n    value: 5\nscopes: [app1]\n",
    )
    .unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].kind, ComponentKind::StateSqlite);
    assert_eq!(c[0].meta("CONNECTIONSTRING"), Some("data.db"));
    assert_eq!(c[0].meta("timeout"), Some("5"));
}

#[test]
fn other_kinds_and_foreign_scopes_are_skipped() {
    let text = "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: cfg}\nspec: {}\n---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: pubsub}\nspec: {type: pubsub.redis, version: v1}\nscopes: [other]\n---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: mem}\nspec: {type: state.in-memory, version: v1}\nscopes: [other]\n---\n";
    assert!(parse(text).unwrap().is_empty());
}

#[test]
fn the_production_stores_are_components_the_sidecar_runs() {
    let c = parse("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: r}\nspec: {type: state.redis, version: v1}\n---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: p}\nspec: {type: state.postgresql}\n---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: q}\nspec: {type: state.postgres, version: v1}\n").unwrap();
    let kinds: Vec<_> = c.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [ComponentKind::StateRedis, ComponentKind::StatePostgres, ComponentKind::StatePostgres]
    );
    assert_eq!(c[1].version, "v1", "daprd's default version of state.postgresql");
}

#[test]
fn the_local_secret_stores_are_components_but_not_state_stores() {
    let c = parse("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: e}\nspec: {type: secretstores.local.env, version: v1}\n---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: f}\nspec: {type: secretstores.local.file}\n").unwrap();
    let kinds: Vec<_> = c.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, [ComponentKind::SecretStoreEnv, ComponentKind::SecretStoreFile]);
    assert!(kinds.iter().all(|k| !k.is_state_store()));
    assert!(ComponentKind::StateRedis.is_state_store());
    let err = parse("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: {type: secretstores.local.file, version: v2}\n").unwrap_err();
    assert!(
        err.to_string().contains("field spec.version: \"v2\" of secretstores.local.file is not supported"),
        "{err}"
    );
}

#[test]
fn unsupported_types_and_versions_stop_the_sidecar_with_file_and_field() {
    let err = parse("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: {type: pubsub.redis, version: v1}\n").unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("component file /r/c.yaml: field spec.type: \"pubsub.redis\" is not supported"),
        "{text}"
    );
    let err = parse("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: {type: state.postgresql, version: v2}\n").unwrap_err();
    assert!(
        err.to_string().contains("field spec.version: \"v2\" of state.postgresql is not supported"),
        "{err}"
    );
}

#[test]
fn ignore_errors_skips_what_the_sidecar_cannot_run() {
    let c = parse("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: {type: bindings.cron, version: v1, ignoreErrors: true}\n").unwrap();
    assert!(c.is_empty());
    let c = parse("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: {type: state.redis, ignoreErrors: true}\n").unwrap();
    assert!(c[0].ignore_errors);
}

#[test]
fn a_component_without_type_names_the_field() {
    let err =
        parse("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: {version: v1}\n")
            .unwrap_err();
    assert!(err.to_string().contains("spec.type"), "{err}");
    assert!(err.to_string().contains("/r/c.yaml"), "{err}");
}

#[test]
fn malformed_yaml_names_the_file() {
    let err = parse("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: [\n").unwrap_err();
    assert!(err.to_string().starts_with("component file /r/c.yaml:"), "{err}");
}

#[test]
fn a_missing_name_is_an_error() {
    let err =
        parse("apiVersion: dapr.io/v1alpha1\nkind: Component\nspec: {type: state.in-memory}\n").unwrap_err();
    assert!(err.to_string().contains("metadata.name"), "{err}");
}

#[test]
fn sqlite3_is_an_alias_of_sqlite_and_keeps_its_type_name() {
    let c = parse(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: s}\nspec: {type: state.sqlite3}\n",
    )
    .unwrap();
    assert_eq!(c[0].kind, ComponentKind::StateSqlite);
    assert_eq!(c[0].type_name, "state.sqlite3");
    assert_eq!(c[0].version, "v1");
}
