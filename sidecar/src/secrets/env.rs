//! `secretstores.local.env` (components-contrib `secretstores/local/env`): a secret is the
//! environment variable `<prefix><name>` of the sidecar, returned as `{"<name>": "<value>"}` —
//! an unset variable is the empty string, not an error. `APP_API_TOKEN` and every `DAPR_*`
//! variable (compared upper-cased, prefix included) are never given out: they read as empty and
//! bulk leaves them out. Bulk returns every variable starting with the prefix (case-sensitive, as
//! on Linux), the prefix cut off.
//!
//! The sidecar's environment is the stand-in's own, overlaid with the run file's `env` for that
//! app (see the crate README): the same view the sidecar reads its tokens from.

use super::{Secret, SecretStore};
use crate::components::Component;
use std::collections::BTreeMap;

/// The env store.
pub struct EnvStore {
    prefix: String,
    vars: Vec<(String, String)>,
}

impl EnvStore {
    /// Reads the `prefix` metadata and snapshots `environment`.
    pub fn open(c: &Component, environment: &[(String, String)]) -> Result<Self, String> {
        // Later entries win, as with a process environment built by overlaying.
        let mut vars: BTreeMap<&str, &str> = BTreeMap::new();
        for (k, v) in environment {
            vars.insert(k, v);
        }
        Ok(EnvStore {
            prefix: c.meta("prefix").unwrap_or_default().to_owned(),
            vars: vars.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        })
    }
}

fn is_key_allowed(key: &str) -> bool {
    let key = key.to_uppercase();
    key != "APP_API_TOKEN" && !key.starts_with("DAPR_")
}

impl SecretStore for EnvStore {
    fn get(&self, name: &str, _metadata: &BTreeMap<String, String>) -> Result<Secret, String> {
        let full = format!("{}{name}", self.prefix);
        let value = if is_key_allowed(&full) {
            self.vars.iter().find(|(k, _)| *k == full).map(|(_, v)| v.clone()).unwrap_or_default()
        } else {
            tracing::warn!(name, "Access to env var {name} is forbidden");
            String::new()
        };
        Ok(BTreeMap::from([(name.to_owned(), value)]))
    }

    fn bulk(&self, _metadata: &BTreeMap<String, String>) -> Result<BTreeMap<String, Secret>, String> {
        let p = self.prefix.as_str();
        let mut out = BTreeMap::new();
        for (key, value) in &self.vars {
            if !p.is_empty() && (key.len() <= p.len() || !key.starts_with(p)) {
                continue;
            }
            if !is_key_allowed(key) {
                continue;
            }
            let name = key[p.len()..].to_owned();
            out.insert(name.clone(), BTreeMap::from([(name, value.clone())]));
        }
        Ok(out)
    }

    fn features(&self) -> &'static [&'static str] {
        &[]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::ComponentKind;

    fn store(prefix: Option<&str>, env: &[(&str, &str)]) -> EnvStore {
        let c = Component {
            name: "env".into(),
            kind: ComponentKind::SecretStoreEnv,
            type_name: "secretstores.local.env".into(),
            version: "v1".into(),
            metadata: prefix.map(|p| vec![("prefix".to_owned(), p.to_owned())]).unwrap_or_default(),
            file: "env.yaml".into(),
            ignore_errors: false,
        };
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        EnvStore::open(&c, &env).unwrap()
    }

    fn none() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    #[test]
    fn a_secret_is_the_variable_and_unset_is_empty() {
        let s = store(None, &[("DB_PASSWORD", "pw"), ("DB_PASSWORD", "later")]);
        assert_eq!(
            s.get("DB_PASSWORD", &none()).unwrap(),
            BTreeMap::from([("DB_PASSWORD".into(), "later".into())])
        );
        assert_eq!(s.get("MISSING", &none()).unwrap()["MISSING"], "");
    }

    #[test]
    fn dapr_variables_and_the_app_token_are_never_given_out() {
        let s = store(None, &[("DAPR_API_TOKEN", "t"), ("app_api_token", "a"), ("dapr_x", "y"), ("OK", "1")]);
        assert_eq!(s.get("DAPR_API_TOKEN", &none()).unwrap()["DAPR_API_TOKEN"], "");
        assert_eq!(s.get("app_api_token", &none()).unwrap()["app_api_token"], "");
        let all = s.bulk(&none()).unwrap();
        assert_eq!(all.keys().collect::<Vec<_>>(), vec!["OK"]);
    }

    #[test]
    fn a_prefix_selects_and_is_cut_off() {
        let s = store(Some("KEEL_"), &[("KEEL_A", "1"), ("KEEL_", "x"), ("OTHER", "2"), ("keel_b", "3")]);
        assert_eq!(s.get("A", &none()).unwrap()["A"], "1");
        let all = s.bulk(&none()).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all["A"], BTreeMap::from([("A".into(), "1".into())]));
        // The prefix counts in the forbidden check: DAPR_ as a prefix hides everything.
        let s = store(Some("DAPR_"), &[("DAPR_X", "1")]);
        assert_eq!(s.get("X", &none()).unwrap()["X"], "");
    }
}
