//! daprd's `keyPrefix` rule (`pkg/components/state/state_config.go`): how a key an app uses is
//! stored, and how bulk get turns it back.

use super::OpenError;
use crate::components::Component;

/// The separator daprd puts between prefix and key; keys may not contain it.
pub const SEPARATOR: &str = "||";

/// The prefix of one store, resolved for this sidecar from its strategy (`appid` (default),
/// `name`, `namespace`, `none` or a literal); `None` when keys are stored as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPrefix(Option<String>);

/// A key containing `||`: daprd's `DAPR_STATE_ILLEGAL_KEY`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input key/keyPrefix '{0}' can't contain '||'")]
pub struct IllegalKey(pub String);

impl KeyPrefix {
    /// Resolves the component's `keyPrefix` for this app (value lower-cased, as daprd does).
    pub fn from_component(
        c: &Component,
        app_id: &str,
        namespace_env: Option<&str>,
    ) -> Result<Self, OpenError> {
        let strategy = c.meta("keyPrefix").unwrap_or("").to_lowercase();
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let prefix = match strategy.as_str() {
            "" | "appid" => nonempty(app_id),
            "name" => nonempty(&c.name),
            "none" => None,
            "namespace" => match namespace_env.filter(|n| !n.is_empty()) {
                Some(ns) if !app_id.is_empty() => Some(format!("{ns}.{app_id}")),
                _ => nonempty(app_id),
            },
            literal => Some(literal.to_owned()),
        };
        if let Some(p) = &prefix {
            if p.contains(SEPARATOR) {
                return Err(OpenError::Metadata {
                    name: c.name.clone(),
                    file: c.file.display().to_string(),
                    field: "keyPrefix".into(),
                    reason: IllegalKey(p.clone()).to_string(),
                });
            }
        }
        Ok(KeyPrefix(prefix))
    }

    /// The stored key for `key`, refusing keys that contain `||`.
    pub fn stored_key(&self, key: &str) -> Result<String, IllegalKey> {
        if key.contains(SEPARATOR) {
            return Err(IllegalKey(key.to_owned()));
        }
        Ok(match &self.0 {
            Some(p) => format!("{p}{SEPARATOR}{key}"),
            None => key.to_owned(),
        })
    }
}

/// daprd's `GetOriginalStateKey`: split on `||` (at most 3 parts) and take the second.
pub fn original_key(stored: &str) -> &str {
    let mut parts = stored.splitn(3, SEPARATOR);
    let first = parts.next().unwrap_or(stored);
    parts.next().unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::ComponentKind;

    fn component(prefix: Option<&str>) -> Component {
        Component {
            name: "store".into(),
            kind: ComponentKind::StateInMemory,
            type_name: "state.in-memory".into(),
            version: "v1".into(),
            metadata: prefix.map(|p| vec![("KeyPrefix".to_owned(), p.to_owned())]).unwrap_or_default(),
            file: "/x.yaml".into(),
            ignore_errors: false,
        }
    }

    fn stored(prefix: Option<&str>, ns: Option<&str>) -> String {
        KeyPrefix::from_component(&component(prefix), "app", ns).unwrap().stored_key("k").unwrap()
    }

    #[test]
    fn strategies_match_daprd() {
        assert_eq!(stored(None, None), "app||k");
        assert_eq!(stored(Some("AppID"), None), "app||k");
        assert_eq!(stored(Some("name"), None), "store||k");
        assert_eq!(stored(Some("none"), None), "k");
        assert_eq!(stored(Some("namespace"), Some("prod")), "prod.app||k");
        assert_eq!(stored(Some("namespace"), None), "app||k");
        assert_eq!(stored(Some("MyPrefix"), None), "myprefix||k");
    }

    #[test]
    fn keys_and_prefixes_with_the_separator_are_refused() {
        let p = KeyPrefix::from_component(&component(None), "app", None).unwrap();
        assert_eq!(
            p.stored_key("ke||y1").unwrap_err().to_string(),
            "input key/keyPrefix 'ke||y1' can't contain '||'"
        );
        assert!(KeyPrefix::from_component(&component(Some("a||b")), "app", None).is_err());
    }

    #[test]
    fn original_key_takes_the_second_part() {
        assert_eq!(original_key("app||a"), "a");
        assert_eq!(original_key("app||a||b"), "a");
        assert_eq!(original_key("plain"), "plain");
    }
}
