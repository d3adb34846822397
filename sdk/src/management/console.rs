//! The registry's console-entries API (issue 16; app-id `plugins`): what the console lists, and
//! the TarsWeb-shaped upsert for services that are not Keel plugins.
//!
//! | method and path | accepts | answers |
//! |---|---|---|
//! | `PUT /v1/console/entries` | [`ConsoleRegistration`] | `200` [`ConsoleEntryView`] |
//! | `DELETE /v1/console/entries?path=` | [`ConsoleDeleteQuery`] | `200` [`ConsoleEntryView`], as it was |
//! | `GET /v1/console/entries[?type=1\|2\|3]` | [`ConsoleListQuery`] | [`ConsoleListing`] |
//!
//! A Keel plugin declares its entries in `/v1/identify` instead (`console`,
//! [`crate::protocol::ConsoleEntry`]); they come and go with its registration.

use serde::{Deserialize, Serialize};

use crate::protocol::ConsoleEntry;

/// The body of `PUT /v1/console/entries`, TarsWeb's `registerPlugin(name, name_en, obj, type,
/// path)` plus `extern`: an idempotent upsert keyed by `path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleRegistration {
    /// The name shown.
    pub name: String,
    /// The English name.
    pub name_en: String,
    /// The registrant: its Dapr app-id, which must be the calling app's unless a platform admin
    /// registers for it; the `<group>` of `/plugins/<group>/`.
    pub obj: String,
    /// 1 top bar, 2 plugin page tab, 3 operations tab.
    #[serde(rename = "type")]
    pub kind: u8,
    /// `/plugins/<obj>/...`, or an `http(s)://` URL when `extern` is 1.
    pub path: String,
    /// 0 proxied by keel (default), 1 external URL.
    #[serde(rename = "extern", default)]
    pub external: u8,
}

impl ConsoleRegistration {
    /// The entry it registers (without the registrant).
    pub fn entry(&self) -> ConsoleEntry {
        ConsoleEntry {
            name: self.name.clone(),
            name_en: self.name_en.clone(),
            kind: self.kind,
            path: self.path.clone(),
            external: self.external,
        }
    }
}

/// What kind of registrant owns an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerKind {
    /// A registered Keel plugin (its status is the registry's).
    Plugin,
    /// Anything else: a Dapr app that registered through `PUT`, a pushed service.
    Service,
}

/// One console entry as listed: the entry, who owns it and how that owner is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleEntryView {
    /// The name shown.
    pub name: String,
    /// The English name.
    pub name_en: String,
    /// The registrant's id (TarsWeb's `obj`); the same as `owner`.
    pub obj: String,
    /// 1 top bar, 2 plugin page tab, 3 operations tab.
    #[serde(rename = "type")]
    pub kind: u8,
    /// Its path or URL.
    pub path: String,
    /// 0 proxied by keel, 1 external URL.
    #[serde(rename = "extern")]
    pub external: u8,
    /// Who owns it: a plugin id or an app-id.
    pub owner: String,
    /// A registered Keel plugin or another service.
    #[serde(rename = "kind")]
    pub owner_kind: OwnerKind,
    /// The owner's status (`ACTIVE`, `UNREACHABLE`, ...); `UNKNOWN` for a Dapr app the
    /// registry does not poll.
    pub status: String,
}

/// The answer of `GET /v1/console/entries`, by ascending path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleListing {
    /// The entries.
    #[serde(default)]
    pub entries: Vec<ConsoleEntryView>,
}

/// The query of `GET /v1/console/entries`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleListQuery {
    /// Only entries of this type (1, 2 or 3).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<u8>,
}

/// The query of `DELETE /v1/console/entries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleDeleteQuery {
    /// The entry's path, exactly as registered.
    pub path: String,
}

/// The status shown for an owner whose health the registry does not know.
pub const UNKNOWN_STATUS: &str = "UNKNOWN";
