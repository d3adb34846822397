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
fn other_kinds_unsupported_types_and_foreign_scopes_are_skipped() {
    let text = "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: cfg}\nspec: {}\n---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: redis}\nspec: {type: state.redis, version: v1}\n---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: mem}\nspec: {type: state.in-memory, version: v1}\nscopes: [other]\n---\n";
    assert!(parse(text).unwrap().is_empty());
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
