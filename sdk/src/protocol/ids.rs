//! Plugin ids: a Dapr app-id that is also a DNS label, `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The router's app-id.
pub const KEEL_APP_ID: &str = "keel";
/// The registry's app-id (the `plugins-manager` service).
pub const REGISTRY_APP_ID: &str = "plugins";
/// auth's app-id.
pub const AUTH_APP_ID: &str = "auth";
/// The app-id of `hosting`, the core service that runs plugins' own web services (bundles).
/// Reserved, but not (yet) in [`CORE_APP_IDS`]: that list also decides who keel and the registry
/// trust as a caller, and the registry registers its members at boot (see hosting's docs).
pub const HOSTING_APP_ID: &str = "hosting";
/// The platform's own services: callers keel and the registry always accept.
pub const CORE_APP_IDS: [&str; 3] = [KEEL_APP_ID, REGISTRY_APP_ID, AUTH_APP_ID];

/// Ids the platform keeps for itself: the core services, the addon namespace, and `v1`,
/// because keel's app port serves its own protocol and control API under `/v1/...` (a plugin
/// called `v1` could never be routed to unambiguously).
pub const RESERVED_IDS: [&str; 6] =
    [KEEL_APP_ID, REGISTRY_APP_ID, AUTH_APP_ID, HOSTING_APP_ID, "addons", "v1"];

/// Why a string is not a valid plugin id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Empty string.
    #[error("plugin id is empty")]
    Empty,
    /// Longer than a DNS label.
    #[error("plugin id {id:?} is {len} characters long; the limit is 63")]
    TooLong { id: String, len: usize },
    /// A character outside `a-z 0-9 -`, or a dash at either end.
    #[error("plugin id {id:?} is invalid: use lower-case letters, digits and '-', starting and ending with a letter or digit")]
    Syntax { id: String },
    /// One of [`RESERVED_IDS`].
    #[error("plugin id {id:?} is reserved for the platform")]
    Reserved { id: String },
}

/// A syntactically valid plugin id (it may still be reserved; see [`PluginId::is_reserved`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PluginId(String);

impl PluginId {
    /// Checks the syntax only; core services use reserved ids legitimately.
    pub fn parse(id: &str) -> Result<Self, IdError> {
        if id.is_empty() {
            return Err(IdError::Empty);
        }
        if id.len() > 63 {
            return Err(IdError::TooLong { id: id.to_owned(), len: id.len() });
        }
        let bytes = id.as_bytes();
        let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
        if !bytes.iter().all(allowed) || bytes[0] == b'-' || bytes[bytes.len() - 1] == b'-' {
            return Err(IdError::Syntax { id: id.to_owned() });
        }
        Ok(Self(id.to_owned()))
    }

    /// Checks the syntax and refuses reserved ids: what a third-party plugin may use.
    pub fn parse_unreserved(id: &str) -> Result<Self, IdError> {
        let parsed = Self::parse(id)?;
        if parsed.is_reserved() {
            return Err(IdError::Reserved { id: id.to_owned() });
        }
        Ok(parsed)
    }

    /// True for the ids in [`RESERVED_IDS`].
    pub fn is_reserved(&self) -> bool {
        RESERVED_IDS.contains(&self.0.as_str())
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PluginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PluginId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for PluginId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dns_labels() {
        for id in ["a", "echo", "acme-mailer", "a1", "0-9", &"x".repeat(63)] {
            assert!(PluginId::parse(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn refuses_bad_syntax_with_a_reason() {
        assert_eq!(PluginId::parse(""), Err(IdError::Empty));
        assert!(matches!(PluginId::parse(&"x".repeat(64)), Err(IdError::TooLong { len: 64, .. })));
        for id in ["Echo", "-a", "a-", "a_b", "a.b", "a b", "é"] {
            let err = PluginId::parse(id).unwrap_err();
            assert!(matches!(err, IdError::Syntax { .. }), "{id}: {err}");
            assert!(err.to_string().contains("lower-case"));
        }
    }

    #[test]
    fn reserved_ids_parse_but_are_refused_for_third_parties() {
        for id in RESERVED_IDS {
            assert!(PluginId::parse(id).unwrap().is_reserved());
            let err = PluginId::parse_unreserved(id).unwrap_err();
            assert!(err.to_string().contains("reserved"), "{err}");
        }
        assert!(PluginId::parse_unreserved("echo").is_ok());
    }
}
