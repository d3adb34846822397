//! Dapr `Configuration` files, read as self-hosted daprd reads `--config`
//! (`config.LoadStandaloneConfiguration`): start from daprd's defaults (access control `allow`
//! in trust domain `public`), then for each file in order expand `$VAR` / `${VAR}` from the
//! environment (`os.ExpandEnv`) and lay its YAML over what is there: a key a file sets replaces
//! the value, a key it omits keeps it, a key set to null clears it. The `kind` is not checked,
//! unknown keys are ignored, a value of the wrong type is an error.
//!
//! The stand-in uses three parts of it:
//! - `spec.accessControl` — the service-invocation policies ([`crate::acl`]);
//! - `spec.mtls.enabled` — what makes `dapr run` start daprd with `--enable-mtls` (and so gives
//!   sidecars identities, [`crate::security`]);
//! - `spec.secrets.scopes` — which secrets of which store the app may read ([`SecretsScope`]).
//!
//! Everything else (tracing, metrics, pipelines, name resolution, features, ...) is accepted and
//! not used.

use crate::acl::{AccessControlSpec, AppPolicySpec, OperationSpec};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value};
use std::path::{Path, PathBuf};

/// A `--config` file and whether its absence is an error (the CLI's implicit
/// `~/.dapr/config.yaml` may be missing; a file the user named may not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// The file.
    pub path: PathBuf,
    /// False for the implicit default.
    pub required: bool,
}

/// What the stand-in takes from the Configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    /// `spec.accessControl`; `None` once a file set it to null.
    pub access_control: Option<AccessControlSpec>,
    /// `spec.mtls.enabled`.
    pub mtls_enabled: bool,
    /// `spec.secrets.scopes`, each store once, its lists sorted.
    pub secrets_scopes: Vec<SecretsScope>,
    /// The files that were read, for messages.
    pub files: Vec<PathBuf>,
}

/// One entry of `spec.secrets.scopes` (daprd's `config.SecretsScope`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretsScope {
    /// `storeName`.
    #[serde(default)]
    pub store_name: String,
    /// `defaultAccess`: `allow` (the default) or `deny`.
    #[serde(default)]
    pub default_access: String,
    /// `allowedSecrets`: when not empty, only these.
    #[serde(default)]
    pub allowed_secrets: Vec<String>,
    /// `deniedSecrets`.
    #[serde(default)]
    pub denied_secrets: Vec<String>,
}

/// A Configuration daprd would refuse: it names the file and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigurationError {
    /// The file cannot be read.
    #[error("configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not YAML, or a value of the wrong type.
    #[error("configuration file {path}: {field}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where in the file, e.g. `spec.accessControl.policies`.
        field: String,
        /// The YAML error.
        message: String,
    },
    /// A value daprd's checks refuse (repeated secret store, bad `defaultAccess`).
    #[error("configuration {files}: {reason}")]
    Invalid {
        /// The files, comma-separated.
        files: String,
        /// daprd's message.
        reason: String,
    },
}

// === impl Configuration ===

impl Default for Configuration {
    /// daprd's `LoadDefaultConfiguration` (the parts the stand-in uses).
    fn default() -> Self {
        Configuration {
            access_control: Some(AccessControlSpec {
                default_action: crate::acl::ALLOW.to_owned(),
                trust_domain: crate::acl::DEFAULT_TRUST_DOMAIN.to_owned(),
                policies: None,
            }),
            mtls_enabled: false,
            secrets_scopes: Vec::new(),
            files: Vec::new(),
        }
    }
}

impl Configuration {
    /// Loads `files` in order over the defaults; `lookup` is the sidecar's environment.
    pub fn load(
        files: &[ConfigFile],
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Configuration, ConfigurationError> {
        let mut conf = Configuration::default();
        for file in files {
            let text = match std::fs::read_to_string(&file.path) {
                Ok(t) => t,
                Err(e) if !file.required && e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(ConfigurationError::Read { path: file.path.clone(), source }),
            };
            conf.apply(&file.path, &crate::golang::env::expand(&text, &lookup))?;
            conf.files.push(file.path.clone());
        }
        conf.validate()?;
        Ok(conf)
    }

    /// Lays one file's text over `self`.
    pub fn apply(&mut self, path: &Path, text: &str) -> Result<(), ConfigurationError> {
        let parse_err = |field: &str, message: String| ConfigurationError::Parse {
            path: path.to_owned(),
            field: field.to_owned(),
            message,
        };
        let doc: Value = serde_yaml_ng::from_str(text).map_err(|e| parse_err("(document)", e.to_string()))?;
        let Some(spec) = doc.get("spec") else { return Ok(()) };
        let Some(spec) = mapping(spec, "spec").map_err(|m| parse_err("spec", m))? else {
            return Ok(());
        };
        let field = Field { path };

        if let Some(ac) = spec.get("accessControl") {
            match mapping(ac, "spec.accessControl").map_err(|m| parse_err("spec.accessControl", m))? {
                None => self.access_control = None,
                Some(ac) => {
                    let current = self.access_control.get_or_insert_with(AccessControlSpec::default);
                    let at = "spec.accessControl";
                    if let Some(v) = field.take::<String>(ac, at, "defaultAction")? {
                        current.default_action = v;
                    }
                    if let Some(v) = field.take::<String>(ac, at, "trustDomain")? {
                        current.trust_domain = v;
                    }
                    if let Some(v) = ac.get("policies") {
                        current.policies = if v.is_null() {
                            None
                        } else {
                            let raw: Vec<RawPolicy> = field.parse(v, "spec.accessControl.policies")?;
                            Some(raw.into_iter().map(RawPolicy::into_spec).collect())
                        };
                    }
                }
            }
        }
        if let Some(mtls) = spec.get("mtls") {
            match mapping(mtls, "spec.mtls").map_err(|m| parse_err("spec.mtls", m))? {
                None => self.mtls_enabled = false,
                Some(m) => {
                    if let Some(v) = field.take::<bool>(m, "spec.mtls", "enabled")? {
                        self.mtls_enabled = v;
                    }
                }
            }
        }
        if let Some(secrets) = spec.get("secrets") {
            match mapping(secrets, "spec.secrets").map_err(|m| parse_err("spec.secrets", m))? {
                None => self.secrets_scopes.clear(),
                Some(s) => {
                    if let Some(v) = field.take::<Vec<SecretsScope>>(s, "spec.secrets", "scopes")? {
                        self.secrets_scopes = v;
                    }
                }
            }
        }
        Ok(())
    }

    /// daprd's `sortAndValidateSecretsConfiguration`: each store once, `defaultAccess` allow or
    /// deny, the lists sorted (they are searched by bisection).
    fn validate(&mut self) -> Result<(), ConfigurationError> {
        let invalid = |reason: String| ConfigurationError::Invalid {
            files: self.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "),
            reason,
        };
        let mut seen = std::collections::HashSet::new();
        for scope in &self.secrets_scopes {
            if !seen.insert(scope.store_name.clone()) {
                return Err(invalid(format!(
                    "{} storeName is repeated in secrets configuration",
                    scope.store_name
                )));
            }
            let access = &scope.default_access;
            if !access.is_empty()
                && !access.eq_ignore_ascii_case("allow")
                && !access.eq_ignore_ascii_case("deny")
            {
                return Err(invalid(format!("defaultAccess {access} can be either allow or deny")));
            }
        }
        for scope in &mut self.secrets_scopes {
            scope.allowed_secrets.sort();
            scope.denied_secrets.sort();
        }
        Ok(())
    }

    /// The scope for secret store `store`, if the Configuration has one.
    pub fn secrets_scope(&self, store: &str) -> Option<&SecretsScope> {
        self.secrets_scopes.iter().find(|s| s.store_name == store)
    }
}

// === impl SecretsScope ===

impl SecretsScope {
    /// daprd's `IsSecretAllowed`: a non-empty allow list decides alone; otherwise a denied key is
    /// denied, and the rest follows `defaultAccess` (allow unless it says deny).
    pub fn is_secret_allowed(&self, key: &str) -> bool {
        if !self.allowed_secrets.is_empty() {
            return self.allowed_secrets.binary_search_by(|s| s.as_str().cmp(key)).is_ok();
        }
        if self.denied_secrets.binary_search_by(|s| s.as_str().cmp(key)).is_ok() {
            return false;
        }
        !self.default_access.eq_ignore_ascii_case("deny")
    }
}

/// `policies[i]` as written (yaml tags of daprd's `AppPolicySpec`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPolicy {
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    default_action: Option<String>,
    #[serde(default)]
    trust_domain: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    operations: Option<Vec<RawOperation>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOperation {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    http_verb: Option<Vec<String>>,
    #[serde(default)]
    action: Option<String>,
}

impl RawPolicy {
    fn into_spec(self) -> AppPolicySpec {
        AppPolicySpec {
            app_id: self.app_id.unwrap_or_default(),
            default_action: self.default_action.unwrap_or_default(),
            trust_domain: self.trust_domain.unwrap_or_default(),
            namespace: self.namespace.unwrap_or_default(),
            operations: self
                .operations
                .unwrap_or_default()
                .into_iter()
                .map(|o| OperationSpec {
                    name: o.name.unwrap_or_default(),
                    http_verbs: o.http_verb.unwrap_or_default(),
                    action: o.action.unwrap_or_default(),
                })
                .collect(),
        }
    }
}

/// A mapping, `None` for null, an error message for anything else.
fn mapping<'a>(v: &'a Value, at: &str) -> Result<Option<&'a Mapping>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Mapping(m) => Ok(Some(m)),
        other => Err(format!("{at} must be a mapping, not {}", kind(other))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Typed reads of one file's keys, with errors naming the file and the key.
struct Field<'a> {
    path: &'a Path,
}

impl Field<'_> {
    /// `map[key]`: `None` when absent, the type's zero value when null (as Go's decoder leaves
    /// it), else the decoded value.
    fn take<T: DeserializeOwned + Default>(
        &self,
        map: &Mapping,
        at: &str,
        key: &str,
    ) -> Result<Option<T>, ConfigurationError> {
        match map.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(T::default())),
            Some(v) => self.parse(v, &format!("{at}.{key}")).map(Some),
        }
    }

    fn parse<T: DeserializeOwned>(&self, v: &Value, at: &str) -> Result<T, ConfigurationError> {
        serde_yaml_ng::from_value(v.clone()).map_err(|e| ConfigurationError::Parse {
            path: self.path.to_owned(),
            field: at.to_owned(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests;
