//! `secretstores.local.file` (components-contrib `secretstores/local/file`): secrets from a JSON
//! file, read once when the store is opened.
//!
//! Metadata: `secretsFile` (required; a relative path is relative to the sidecar's working
//! directory), `nestedSeparator` (default `:`), `multiValued` (default false).
//!
//! - Single-valued (the default): nested objects and arrays are flattened into one secret per
//!   leaf, keys joined by the separator (`{"db":{"users":["a"]}}` → `db:users:0`); each secret
//!   reads as `{"<name>": "<value>"}`.
//! - Multi-valued: each top-level string is a secret `{"<name>": "<value>"}`, each top-level
//!   object a secret whose pairs are that object flattened; other top-level values are skipped.
//!
//! Leaves are rendered with Go's `%s`: strings as they are, anything else as Go's "bad verb" text
//! (`5432` → `%!s(float64=5432)`, see [`crate::golang::fmt`]).
//!
//! A flattened key that occurs twice (`{"a:b":"1","a":{"b":"2"}}`) makes components-contrib stop
//! flattening at a point that depends on Go's random map order; the stand-in refuses such a
//! file instead, naming the key.

use super::{parse_bool, Secret, SecretStore};
use crate::components::Component;
use crate::golang::fmt::sprint_s;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What one name holds.
enum Entry {
    Single(String),
    Multi(Secret),
}

/// The file store.
pub struct FileStore {
    secrets: BTreeMap<String, Entry>,
    multi_valued: bool,
}

impl FileStore {
    /// Reads the metadata and the file (components-contrib's `Init`).
    pub fn open(c: &Component) -> Result<Self, String> {
        let path = c
            .meta("secretsFile")
            .filter(|p| !p.is_empty())
            .ok_or("missing local secrets file in metadata")?;
        let separator = c.meta("nestedSeparator").filter(|s| !s.is_empty()).unwrap_or(":").to_owned();
        let multi_valued = parse_bool("multiValued", c.meta("multiValued").unwrap_or(""))?;
        let text = std::fs::read(path).map_err(|e| format!("open {path}: {}", go_io_error(&e)))?;
        let top: Map<String, Value> = match serde_json::from_slice::<Value>(&text) {
            Ok(Value::Object(m)) => m,
            Ok(other) => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    json_kind(&other)
                ))
            }
            Err(e) => return Err(format!("{path}: {e}")),
        };
        let mut secrets = BTreeMap::new();
        if multi_valued {
            for (k, v) in &top {
                match v {
                    Value::String(s) => {
                        secrets.insert(k.clone(), Entry::Single(s.clone()));
                    }
                    Value::Object(o) => {
                        let mut flat = BTreeMap::new();
                        flatten_object(o, &mut Vec::new(), &separator, &mut flat)?;
                        secrets.insert(k.clone(), Entry::Multi(flat));
                    }
                    _ => {}
                }
            }
        } else {
            let mut flat = BTreeMap::new();
            flatten_object(&top, &mut Vec::new(), &separator, &mut flat)?;
            secrets = flat.into_iter().map(|(k, v)| (k, Entry::Single(v))).collect();
        }
        Ok(FileStore { secrets, multi_valued })
    }

    fn render(name: &str, entry: &Entry) -> Secret {
        match entry {
            Entry::Single(v) => BTreeMap::from([(name.to_owned(), v.clone())]),
            Entry::Multi(m) => m.clone(),
        }
    }
}

/// Flattens `o` under `context` (the keys so far) into `out`.
fn flatten_object(
    o: &Map<String, Value>,
    context: &mut Vec<String>,
    sep: &str,
    out: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    for (k, v) in o {
        context.push(k.clone());
        flatten(v, context, sep, out)?;
        context.pop();
    }
    Ok(())
}

fn flatten(
    v: &Value,
    context: &mut Vec<String>,
    sep: &str,
    out: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    match v {
        Value::Object(o) => flatten_object(o, context, sep, out),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                context.push(i.to_string());
                flatten(item, context, sep, out)?;
                context.pop();
            }
            Ok(())
        }
        leaf => {
            let key = context.join(sep);
            if out.insert(key.clone(), sprint_s(leaf)).is_some() {
                return Err(format!("duplicate key {key:?}: two entries flatten to the same secret name"));
            }
            Ok(())
        }
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null | Value::Object(_) => "object",
    }
}

/// Go's wording of the common `os.Open` failures.
fn go_io_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

impl SecretStore for FileStore {
    fn get(&self, name: &str, _metadata: &BTreeMap<String, String>) -> Result<Secret, String> {
        let entry = self.secrets.get(name).ok_or_else(|| format!("secret {name} not found"))?;
        Ok(Self::render(name, entry))
    }

    fn bulk(&self, _metadata: &BTreeMap<String, String>) -> Result<BTreeMap<String, Secret>, String> {
        Ok(self.secrets.iter().map(|(k, e)| (k.clone(), Self::render(k, e))).collect())
    }

    fn features(&self) -> &'static [&'static str] {
        if self.multi_valued {
            &["MULTIPLE_KEY_VALUES_PER_SECRET"]
        } else {
            &[]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::ComponentKind;

    const FILE: &str =
        r#"{"db":{"user":"keel","port":5432,"hosts":["a","b"]},"token":"t","on":true,"none":null}"#;

    fn store(meta: &[(&str, &str)], text: &str) -> Result<FileStore, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        std::fs::write(&path, text).unwrap();
        let mut metadata: Vec<(String, String)> = vec![("secretsFile".into(), path.display().to_string())];
        metadata.extend(meta.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let c = Component {
            name: "file".into(),
            kind: ComponentKind::SecretStoreFile,
            type_name: "secretstores.local.file".into(),
            version: "v1".into(),
            metadata,
            file: "file.yaml".into(),
            ignore_errors: false,
        };
        FileStore::open(&c)
    }

    fn none() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    #[test]
    fn nested_values_flatten_into_one_secret_per_leaf() {
        let s = store(&[], FILE).unwrap();
        assert_eq!(s.get("db:user", &none()).unwrap(), BTreeMap::from([("db:user".into(), "keel".into())]));
        assert_eq!(s.get("db:port", &none()).unwrap()["db:port"], "%!s(float64=5432)");
        assert_eq!(s.get("db:hosts:1", &none()).unwrap()["db:hosts:1"], "b");
        assert_eq!(s.get("on", &none()).unwrap()["on"], "%!s(bool=true)");
        assert_eq!(s.get("none", &none()).unwrap()["none"], "%!s(<nil>)");
        assert_eq!(s.get("db", &none()).unwrap_err(), "secret db not found");
        assert_eq!(s.bulk(&none()).unwrap().len(), 7);
        assert!(s.features().is_empty());
        let s = store(&[("nestedSeparator", ".")], FILE).unwrap();
        assert_eq!(s.get("db.user", &none()).unwrap()["db.user"], "keel");
    }

    #[test]
    fn multi_valued_secrets_are_the_top_level_objects() {
        let s = store(&[("multiValued", "true")], FILE).unwrap();
        let db = s.get("db", &none()).unwrap();
        assert_eq!(db["user"], "keel");
        assert_eq!(db["hosts:0"], "a");
        assert_eq!(s.get("token", &none()).unwrap(), BTreeMap::from([("token".into(), "t".into())]));
        assert!(s.get("on", &none()).is_err(), "non-string scalars are skipped");
        assert_eq!(s.features(), &["MULTIPLE_KEY_VALUES_PER_SECRET"]);
    }

    #[test]
    fn bad_metadata_and_files_fail_the_start() {
        let c = Component {
            name: "file".into(),
            kind: ComponentKind::SecretStoreFile,
            type_name: "secretstores.local.file".into(),
            version: "v1".into(),
            metadata: vec![],
            file: "f.yaml".into(),
            ignore_errors: false,
        };
        assert_eq!(FileStore::open(&c).err().unwrap(), "missing local secrets file in metadata");
        assert!(store(&[("multiValued", "yes")], FILE).err().unwrap().contains("strconv.ParseBool"));
        assert!(store(&[], "[1]").err().unwrap().contains("cannot unmarshal array"));
        assert!(store(&[], "{").is_err());
        let e = store(&[], r#"{"a:b":"1","a":{"b":"2"}}"#).err().unwrap();
        assert!(e.contains("duplicate key \"a:b\""), "{e}");
    }
}
