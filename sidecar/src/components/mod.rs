//! Loads Dapr `Component` resources from the resources folders, the way daprd's disk loader
//! does: every `*.yaml` / `*.yml` file, every YAML document in it, only `kind: Component`.
//!
//! Other kinds (Configuration, Resiliency, Subscription, ...) are skipped quietly; `HTTPEndpoint`
//! resources are loaded by [`endpoints`].
//! As daprd, a component this sidecar cannot run — a type or version it does not implement, a
//! malformed field — is an error that names the file and the field: the run stops before anything
//! is started, unless the component says `spec.ignoreErrors: true` (then it is skipped with a
//! warning, as daprd skips a component whose init fails).

pub mod endpoints;

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The API version daprd's loader accepts for components.
pub const API_VERSION: &str = "dapr.io/v1alpha1";

/// A component the stand-in will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// `metadata.name`: the store name in `/v1.0/state/{name}` or `/v1.0/secrets/{name}`.
    pub name: String,
    /// Which implementation backs it.
    pub kind: ComponentKind,
    /// `spec.type` as written (`state.sqlite3` stays `state.sqlite3` in `/v1.0/metadata`).
    pub type_name: String,
    /// `spec.version` (`v1` when empty, as daprd defaults it).
    pub version: String,
    /// `spec.metadata` as `(name, value)` pairs, values rendered as strings.
    pub metadata: Vec<(String, String)>,
    /// The file it came from, for error messages.
    pub file: PathBuf,
    /// `spec.ignoreErrors`: a store that fails to open is skipped instead of stopping the sidecar.
    pub ignore_errors: bool,
}

/// The component types the stand-in implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentKind {
    /// `state.in-memory`.
    StateInMemory,
    /// `state.sqlite` / `state.sqlite3`.
    StateSqlite,
    /// `state.redis` (v1).
    StateRedis,
    /// `state.postgresql` / `state.postgres`, v1 (daprd's default version).
    StatePostgres,
    /// `secretstores.local.env` (see `crate::secrets`); not a state store.
    SecretStoreEnv,
    /// `secretstores.local.file`; not a state store.
    SecretStoreFile,
}

/// A resources folder and whether its absence is an error. The CLI's implicit default
/// (`~/.dapr/components`) may be missing; a folder the user named may not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcesPath {
    /// The folder.
    pub path: PathBuf,
    /// False for the implicit default folder.
    pub required: bool,
}

/// Why the components could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    /// A resources folder the user named does not exist or cannot be listed.
    #[error("resources path {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("component file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid YAML, or a field has the wrong type.
    #[error("component file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The YAML error, with its location.
        message: String,
    },
    /// A Component misses a required field or has an invalid value.
    #[error("component file {path}: field {field}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field path, e.g. `spec.type`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The loading task failed (the runtime is shutting down).
    #[error("loading components: {0}")]
    Task(String),
    /// Two components share a name.
    #[error("component {name:?} is defined twice: in {first} and in {second}")]
    Duplicate {
        /// The name.
        name: String,
        /// Where it was first defined.
        first: PathBuf,
        /// Where it was defined again.
        second: PathBuf,
    },
}

/// Loads the components visible to `app_id` from `paths`, in order.
pub fn load(paths: &[ResourcesPath], app_id: &str) -> Result<Vec<Component>, ComponentError> {
    let mut out: Vec<Component> = Vec::new();
    for rp in paths {
        for file in yaml_files(rp)? {
            let text = std::fs::read_to_string(&file)
                .map_err(|source| ComponentError::Read { path: file.clone(), source })?;
            for component in parse_file(&file, &text, app_id)? {
                if let Some(first) = out.iter().find(|c| c.name == component.name) {
                    return Err(ComponentError::Duplicate {
                        name: component.name,
                        first: first.file.clone(),
                        second: file.clone(),
                    });
                }
                out.push(component);
            }
        }
    }
    Ok(out)
}

/// The YAML files of one folder, sorted for a stable load order.
pub(crate) fn yaml_files(rp: &ResourcesPath) -> Result<Vec<PathBuf>, ComponentError> {
    let entries = match std::fs::read_dir(&rp.path) {
        Ok(e) => e,
        Err(e) if !rp.required && e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(ComponentError::Folder { path: rp.path.clone(), source }),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    Ok(files)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawComponent {
    api_version: Option<String>,
    metadata: Option<RawObjectMeta>,
    spec: Option<RawSpec>,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Deserialize)]
struct RawObjectMeta {
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawSpec {
    #[serde(rename = "type")]
    type_name: Option<String>,
    version: Option<String>,
    #[serde(default)]
    metadata: Vec<RawMetadataItem>,
    #[serde(default, rename = "ignoreErrors")]
    ignore_errors: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetadataItem {
    name: Option<String>,
    value: Option<serde_yaml_ng::Value>,
    secret_key_ref: Option<serde_yaml_ng::Value>,
}

/// Parses every document of one file; public for the unit tests and for run-file validation.
pub fn parse_file(path: &Path, text: &str, app_id: &str) -> Result<Vec<Component>, ComponentError> {
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let value = serde_yaml_ng::Value::deserialize(doc)
            .map_err(|e| ComponentError::Parse { path: path.to_owned(), message: e.to_string() })?;
        if value.is_null() {
            continue; // an empty document, e.g. after a trailing `---`
        }
        let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        if kind != "Component" {
            tracing::debug!(file = %path.display(), kind, "Skipping resource that is not a Component");
            continue;
        }
        let raw: RawComponent = serde_yaml_ng::from_value(value)
            .map_err(|e| ComponentError::Parse { path: path.to_owned(), message: e.to_string() })?;
        if let Some(c) = validate(path, raw, app_id)? {
            out.push(c);
        }
    }
    Ok(out)
}

fn validate(path: &Path, raw: RawComponent, app_id: &str) -> Result<Option<Component>, ComponentError> {
    let invalid = |field: &str, reason: &str| ComponentError::Invalid {
        path: path.to_owned(),
        field: field.to_owned(),
        reason: reason.to_owned(),
    };
    match raw.api_version.as_deref() {
        Some(API_VERSION) => {}
        Some(other) => return Err(invalid("apiVersion", &format!("{other:?} is not {API_VERSION:?}"))),
        None => return Err(invalid("apiVersion", "missing")),
    }
    let name = raw.metadata.and_then(|m| m.name).unwrap_or_default();
    if name.trim().is_empty() {
        return Err(invalid("metadata.name", "missing"));
    }
    let spec = raw.spec.ok_or_else(|| invalid("spec", "missing"))?;
    let type_name = spec.type_name.unwrap_or_default();
    if type_name.trim().is_empty() {
        return Err(invalid("spec.type", "missing"));
    }
    let mut metadata = Vec::with_capacity(spec.metadata.len());
    for (i, item) in spec.metadata.into_iter().enumerate() {
        let item_name = item.name.filter(|n| !n.is_empty());
        let Some(item_name) = item_name else {
            return Err(invalid(&format!("spec.metadata[{i}].name"), "missing"));
        };
        if item.secret_key_ref.is_some() {
            return Err(invalid(
                &format!("spec.metadata[{i}].secretKeyRef"),
                "secret references are not supported by the local sidecar; use a value",
            ));
        }
        let value = match item.value {
            None | Some(serde_yaml_ng::Value::Null) => String::new(),
            Some(serde_yaml_ng::Value::String(s)) => s,
            Some(serde_yaml_ng::Value::Bool(b)) => b.to_string(),
            Some(serde_yaml_ng::Value::Number(n)) => n.to_string(),
            Some(_) => {
                return Err(invalid(
                    &format!("spec.metadata[{i}].value"),
                    "must be a string, number or boolean",
                ))
            }
        };
        metadata.push((item_name, value));
    }
    if !raw.scopes.is_empty() && !raw.scopes.iter().any(|s| s == app_id) {
        tracing::debug!(component = %name, app_id, "Component is not scoped to this app");
        return Ok(None);
    }
    let version = spec.version.filter(|v| !v.is_empty()).unwrap_or_else(|| "v1".to_owned());
    let kind = match kind_of(&type_name, &version) {
        Ok(kind) => kind,
        Err((field, reason)) if spec.ignore_errors => {
            tracing::warn!(
                component = %name,
                file = %path.display(),
                "Skipping component (ignoreErrors): field {field}: {reason}"
            );
            return Ok(None);
        }
        Err((field, reason)) => return Err(invalid(field, &reason)),
    };
    Ok(Some(Component {
        name,
        kind,
        type_name,
        version,
        metadata,
        file: path.to_owned(),
        ignore_errors: spec.ignore_errors,
    }))
}

/// The implementation for `spec.type` at `spec.version`, or the field at fault and why.
fn kind_of(type_name: &str, version: &str) -> Result<ComponentKind, (&'static str, String)> {
    let (kind, versions): (ComponentKind, &[&str]) = match type_name {
        "state.in-memory" => (ComponentKind::StateInMemory, &["v1"]),
        "state.sqlite" | "state.sqlite3" => (ComponentKind::StateSqlite, &["v1"]),
        "state.redis" => (ComponentKind::StateRedis, &["v1"]),
        // daprd also has v2 (a different table layout); v1 is its default.
        "state.postgresql" | "state.postgres" => (ComponentKind::StatePostgres, &["v1"]),
        "secretstores.local.env" => (ComponentKind::SecretStoreEnv, &["v1"]),
        "secretstores.local.file" => (ComponentKind::SecretStoreFile, &["v1"]),
        other => {
            return Err((
                "spec.type",
                format!(
                    "{other:?} is not supported by the local sidecar (it runs state.in-memory, \
                     state.sqlite, state.redis, state.postgresql, secretstores.local.env and \
                     secretstores.local.file); set spec.ignoreErrors: true to skip it"
                ),
            ))
        }
    };
    if !versions.contains(&version) {
        return Err((
            "spec.version",
            format!("{version:?} of {type_name} is not supported by the local sidecar; use v1"),
        ));
    }
    Ok(kind)
}

impl ComponentKind {
    /// True for the state stores (`crate::state` opens them), false for the secret stores
    /// (`crate::secrets` does).
    pub fn is_state_store(self) -> bool {
        match self {
            ComponentKind::StateInMemory
            | ComponentKind::StateSqlite
            | ComponentKind::StateRedis
            | ComponentKind::StatePostgres => true,
            ComponentKind::SecretStoreEnv | ComponentKind::SecretStoreFile => false,
        }
    }
}

impl Component {
    /// A metadata value by name; names compare case-insensitively, as daprd's decoding does.
    pub fn meta(&self, name: &str) -> Option<&str> {
        self.metadata.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests;
