//! The secrets building block: the secret stores declared in the resources folders, read as
//! components-contrib's local stores read them. Every store answers a secret as a map (one
//! entry for single-valued stores) and all of them at once for the bulk API.
//!
//! - `secretstores.local.env` ([`env`]): the sidecar's environment variables.
//! - `secretstores.local.file` ([`file`]): a JSON file, flattened or multi-valued.
//!
//! Stores are opened (and files read) once, before the sidecar serves, as daprd initialises its
//! components; a store that cannot be opened stops the start (unless it says
//! `spec.ignoreErrors: true`: then it is skipped with a warning, as daprd skips it).

pub mod env;
pub mod file;

use crate::components::{Component, ComponentKind};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One secret: its key/value pairs.
pub type Secret = BTreeMap<String, String>;

/// A secret store. Local stores never block (everything is read at start).
pub trait SecretStore: Send + Sync {
    /// The secret `name` (`metadata` are the request's `metadata.*` parameters). The error
    /// text goes after daprd's `failed getting secret with key <k> from secret store <s>: `.
    fn get(&self, name: &str, metadata: &BTreeMap<String, String>) -> Result<Secret, String>;
    /// Every secret, by name.
    fn bulk(&self, metadata: &BTreeMap<String, String>) -> Result<BTreeMap<String, Secret>, String>;
    /// `Features()`, as `/v1.0/metadata` lists them.
    fn features(&self) -> &'static [&'static str];
}

/// A configured secret store.
pub struct Store {
    /// `metadata.name`.
    pub name: String,
    /// `spec.type`.
    pub type_name: String,
    /// `spec.version`.
    pub version: String,
    /// The implementation.
    pub backend: Arc<dyn SecretStore>,
}

/// A secret store that cannot be initialised (daprd's component init failure).
#[derive(Debug, thiserror::Error)]
#[error("error initializing component {name} ({type_name}/{version}) from {file}: {reason}")]
pub struct OpenError {
    /// The component.
    pub name: String,
    /// Its type.
    pub type_name: String,
    /// Its version.
    pub version: String,
    /// Its file.
    pub file: String,
    /// components-contrib's `Init` error.
    pub reason: String,
}

/// The secret stores of one sidecar, by name.
#[derive(Default)]
pub struct SecretStores {
    by_name: BTreeMap<String, Store>,
}

// === impl SecretStores ===

impl SecretStores {
    /// Opens every secret store among `components` (state stores are skipped: `crate::state`
    /// opens them); `environment` is the sidecar's (what `secretstores.local.env` reads).
    /// Blocking: files are read.
    pub fn open(components: &[Component], environment: &[(String, String)]) -> Result<Self, OpenError> {
        let mut by_name = BTreeMap::new();
        for c in components {
            let opened: Result<Arc<dyn SecretStore>, String> = match c.kind {
                ComponentKind::SecretStoreEnv => {
                    env::EnvStore::open(c, environment).map(|s| Arc::new(s) as _)
                }
                ComponentKind::SecretStoreFile => file::FileStore::open(c).map(|s| Arc::new(s) as _),
                ComponentKind::StateInMemory
                | ComponentKind::StateSqlite
                | ComponentKind::StateRedis
                | ComponentKind::StatePostgres => continue,
            };
            let backend = match opened {
                Ok(b) => b,
                Err(reason) if c.ignore_errors => {
                    tracing::warn!(component = %c.name, error = %reason, "Skipping secret store (ignoreErrors)");
                    continue;
                }
                Err(reason) => {
                    return Err(OpenError {
                        name: c.name.clone(),
                        type_name: c.type_name.clone(),
                        version: c.version.clone(),
                        file: c.file.display().to_string(),
                        reason,
                    })
                }
            };
            by_name.insert(
                c.name.clone(),
                Store {
                    name: c.name.clone(),
                    type_name: c.type_name.clone(),
                    version: c.version.clone(),
                    backend,
                },
            );
        }
        Ok(SecretStores { by_name })
    }

    /// The store called `name`.
    pub fn get(&self, name: &str) -> Option<&Store> {
        self.by_name.get(name)
    }

    /// True when no secret store is configured (daprd's 500 `ERR_SECRET_STORES_NOT_CONFIGURED`).
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Every store, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Store> {
        self.by_name.values()
    }
}

impl FromIterator<Store> for SecretStores {
    fn from_iter<I: IntoIterator<Item = Store>>(stores: I) -> Self {
        SecretStores { by_name: stores.into_iter().map(|s| (s.name.clone(), s)).collect() }
    }
}

/// Go's `strconv.ParseBool`, with an empty value false (how components-contrib's weakly typed
/// metadata decoding reads a boolean).
pub fn parse_bool(name: &str, v: &str) -> Result<bool, String> {
    match v {
        "" | "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        other => Err(format!(
            "1 error(s) decoding:\n\n* cannot parse '{name}' as bool: strconv.ParseBool: parsing {}: invalid syntax",
            crate::golang::quote::quote(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(name: &str, kind: ComponentKind, ignore_errors: bool) -> Component {
        let type_name = match kind {
            ComponentKind::SecretStoreEnv => "secretstores.local.env",
            ComponentKind::SecretStoreFile => "secretstores.local.file",
            _ => "state.in-memory",
        };
        Component {
            name: name.into(),
            kind,
            type_name: type_name.into(),
            version: "v1".into(),
            // A file store without `secretsFile` cannot start.
            metadata: vec![],
            file: format!("{name}.yaml").into(),
            ignore_errors,
        }
    }

    #[test]
    fn state_stores_are_not_secret_stores() {
        let comps = [
            component("env", ComponentKind::SecretStoreEnv, false),
            component("state", ComponentKind::StateInMemory, false),
        ];
        let stores = SecretStores::open(&comps, &[]).unwrap();
        assert_eq!(stores.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["env"]);
    }

    #[test]
    fn a_store_that_cannot_start_stops_the_sidecar_unless_it_ignores_errors() {
        let err = SecretStores::open(&[component("broken", ComponentKind::SecretStoreFile, false)], &[])
            .err()
            .unwrap();
        assert!(err.to_string().contains("broken.yaml"), "{err}");
        let comps = [
            component("broken", ComponentKind::SecretStoreFile, true),
            component("env", ComponentKind::SecretStoreEnv, false),
        ];
        let stores = SecretStores::open(&comps, &[]).unwrap();
        assert!(stores.get("broken").is_none());
        assert!(stores.get("env").is_some());
    }
}
