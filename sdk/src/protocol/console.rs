//! Console entries (issue 16, TarsWeb's extension model): a plugin's own web UI shown inside the
//! console. A plugin declares them in `/v1/identify` (`console`); a service that is not a Keel
//! plugin registers them with the registry's `PUT /v1/console/entries`. Either way each entry is
//! checked here, against the registrant's *group*: its own id (a plugin's id, a Dapr app-id).
//!
//! - `type` 1: a global entry in the console's top bar; 2: a tab on each plugin's page (its
//!   iframe gets `?treeid=<plugin id>`); 3: a tab on the operations page.
//! - `extern` 0: `path` is under `/plugins/<group>/` and keel reverse-proxies it to the owner,
//!   path kept whole; 1: `path` is an `http(s)://` URL opened in a new window, not proxied.

use serde::{Deserialize, Serialize};

use super::identify::is_relative_endpoint;

/// The prefix of every proxied console path, on keel's public port.
pub const CONSOLE_PREFIX: &str = "/plugins/";
/// The longest `name` or `name_en`, in characters (not bytes: names are often Chinese).
pub const MAX_CONSOLE_NAME_CHARS: usize = 64;
/// The longest `path` (a proxied path or an external URL), in bytes.
pub const MAX_CONSOLE_PATH_LEN: usize = 1024;
/// The most console entries one registrant may hold (identify and `PUT` together).
pub const MAX_CONSOLE_ENTRIES: usize = 16;

/// One console entry, as declared (`/v1/identify`'s `console[i]`, or the body of
/// `PUT /v1/console/entries` without its `obj`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleEntry {
    /// The name shown (any language; TarsWeb's Chinese name).
    pub name: String,
    /// The English name.
    pub name_en: String,
    /// Where it appears: 1 top bar, 2 plugin page tab, 3 operations tab.
    #[serde(rename = "type")]
    pub kind: u8,
    /// `/plugins/<group>/...` (proxied), or an `http(s)://` URL when `extern` is 1.
    pub path: String,
    /// 0: proxied by keel; 1: an external URL, opened in a new window.
    #[serde(rename = "extern", default)]
    pub external: u8,
}

/// What is wrong with one console entry; each message starts with the field to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsoleError {
    /// `name` or `name_en` is empty.
    #[error("{field} is required and must not be empty")]
    Missing { field: &'static str },
    /// `name` or `name_en` is too long.
    #[error("{field} is {chars} characters long; the limit is {max}")]
    NameTooLong { field: &'static str, chars: usize, max: usize },
    /// `type` is not 1, 2 or 3.
    #[error("type {value} is not an entry type: use 1 (a global entry in the top bar), 2 (a tab on each plugin's page) or 3 (a tab on the operations page)")]
    BadType { value: u8 },
    /// `extern` is not 0 or 1.
    #[error("extern {value} is out of range: use 0 (proxied by keel under /plugins/<group>/) or 1 (an external http(s) URL opened in a new window)")]
    BadExtern { value: u8 },
    /// `path` is longer than [`MAX_CONSOLE_PATH_LEN`].
    #[error("path is {len} bytes long; the limit is {max}")]
    PathTooLong { len: usize, max: usize },
    /// A proxied path outside the registrant's group (another plugin's, or no group at all).
    #[error("path {path:?} is outside this registrant's group: a proxied entry's path must start with \"/plugins/{group}/\"")]
    OutsideGroup { path: String, group: String },
    /// A proxied path whose rest is not a plain relative path.
    #[error("path {path:?} must be \"/plugins/<group>/\" followed by a relative path (no empty, '.' or '..' segment, no '?', '#', '\\\\', spaces or control characters)")]
    BadPath { path: String },
    /// An external entry whose path is not an absolute `http(s)://` URL.
    #[error("path {path:?} must be an absolute http:// or https:// URL when extern is 1 (no spaces, quotes or '<', '>')")]
    NotUrl { path: String },
}

impl ConsoleEntry {
    /// Checks the entry for registrant `group` (its plugin id or Dapr app-id): names present and
    /// at most [`MAX_CONSOLE_NAME_CHARS`], `type` 1..=3, `extern` 0..=1, and a path that is
    /// `/plugins/<group>/<relative path>` (extern 0) or an `http(s)://` URL (extern 1).
    pub fn check(&self, group: &str) -> Result<(), ConsoleError> {
        for (field, value) in [("name", &self.name), ("name_en", &self.name_en)] {
            if value.trim().is_empty() {
                return Err(ConsoleError::Missing { field });
            }
            let chars = value.chars().count();
            if chars > MAX_CONSOLE_NAME_CHARS {
                return Err(ConsoleError::NameTooLong { field, chars, max: MAX_CONSOLE_NAME_CHARS });
            }
        }
        if !(1..=3).contains(&self.kind) {
            return Err(ConsoleError::BadType { value: self.kind });
        }
        if self.path.len() > MAX_CONSOLE_PATH_LEN {
            return Err(ConsoleError::PathTooLong { len: self.path.len(), max: MAX_CONSOLE_PATH_LEN });
        }
        match self.external {
            0 => check_proxied(&self.path, group),
            1 => check_url(&self.path),
            value => Err(ConsoleError::BadExtern { value }),
        }
    }

    /// True for entries keel proxies (`extern: 0`).
    pub fn is_proxied(&self) -> bool {
        self.external == 0
    }
}

/// The group a proxied console path names (`/plugins/<group>/...` → `<group>`), if it has one.
pub fn console_group(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(CONSOLE_PREFIX)?;
    let group = rest.split('/').next().unwrap_or_default();
    (!group.is_empty()).then_some(group)
}

fn check_proxied(path: &str, group: &str) -> Result<(), ConsoleError> {
    let outside = || ConsoleError::OutsideGroup { path: path.to_owned(), group: group.to_owned() };
    let rest = path.strip_prefix(CONSOLE_PREFIX).ok_or_else(outside)?;
    let rest = rest.strip_prefix(group).and_then(|r| r.strip_prefix('/')).ok_or_else(outside)?;
    // What follows the group is a relative path, with one trailing '/' tolerated (a directory
    // page such as "/plugins/notes/ui/").
    let inner = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() || is_relative_endpoint(inner) {
        return Ok(());
    }
    Err(ConsoleError::BadPath { path: path.to_owned() })
}

fn check_url(path: &str) -> Result<(), ConsoleError> {
    let lower = path.to_ascii_lowercase();
    let host = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    let has_host = host.is_some_and(|h| !h.is_empty() && !h.starts_with('/'));
    let clean = !path.chars().any(|c| c.is_whitespace() || c.is_control() || "\"'<>\\`".contains(c));
    if has_host && clean {
        Ok(())
    } else {
        Err(ConsoleError::NotUrl { path: path.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: u8, path: &str, external: u8) -> ConsoleEntry {
        ConsoleEntry { name: "笔记".into(), name_en: "Notes".into(), kind, path: path.into(), external }
    }

    #[test]
    fn proxied_paths_stay_in_the_registrants_group() {
        for ok in ["/plugins/notes/", "/plugins/notes/ui", "/plugins/notes/ui/", "/plugins/notes/a/b.html"] {
            assert_eq!(entry(2, ok, 0).check("notes"), Ok(()), "{ok}");
        }
        for (path, part) in [
            ("/plugins/other/ui", "must start with \"/plugins/notes/\""),
            ("/plugins/notes", "must start with \"/plugins/notes/\""),
            ("/plugins/notesx/ui", "must start with \"/plugins/notes/\""),
            ("/apis/notes/ui", "must start with \"/plugins/notes/\""),
            ("/plugins/notes//x", "followed by a relative path"),
            ("/plugins/notes/../auth/x", "followed by a relative path"),
            ("/plugins/notes/%2e%2e/x", "followed by a relative path"),
            ("/plugins/notes/ui?x=1", "followed by a relative path"),
            ("/plugins/notes/a b", "followed by a relative path"),
        ] {
            let err = entry(2, path, 0).check("notes").unwrap_err().to_string();
            assert!(err.contains(part), "{path}: {err}");
        }
    }

    #[test]
    fn external_entries_are_urls() {
        assert!(entry(1, "https://grafana.example.com/d/x?a=1", 1).check("notes").is_ok());
        assert!(entry(1, "HTTP://10.0.0.7:3000/", 1).check("notes").is_ok());
        for bad in [
            "/plugins/notes/ui",
            "javascript:alert(1)",
            "https://",
            "https:///x",
            "https://a b",
            "http://x\"y",
        ] {
            let err = entry(1, bad, 1).check("notes").unwrap_err();
            assert!(matches!(err, ConsoleError::NotUrl { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn names_type_and_extern_are_bounded() {
        let mut e = entry(4, "/plugins/notes/", 0);
        assert!(e.check("notes").unwrap_err().to_string().starts_with("type 4 is not an entry type"));
        e.kind = 3;
        e.external = 2;
        assert!(e.check("notes").unwrap_err().to_string().starts_with("extern 2 is out of range"));
        e.external = 0;
        e.name = " ".into();
        assert_eq!(e.check("notes").unwrap_err().to_string(), "name is required and must not be empty");
        e.name = "名".repeat(64);
        assert!(e.check("notes").is_ok(), "64 characters, 192 bytes");
        e.name_en = "n".repeat(65);
        assert_eq!(
            e.check("notes").unwrap_err().to_string(),
            "name_en is 65 characters long; the limit is 64"
        );
    }

    #[test]
    fn the_group_is_the_first_segment_after_the_prefix() {
        assert_eq!(console_group("/plugins/notes/ui"), Some("notes"));
        assert_eq!(console_group("/plugins/notes"), Some("notes"));
        assert_eq!(console_group("/plugins//x"), None);
        assert_eq!(console_group("https://x/plugins/a/"), None);
    }

    #[test]
    fn the_wire_names_are_tarswebs() {
        let e: ConsoleEntry =
            serde_json::from_str(r#"{"name":"n","name_en":"N","type":2,"path":"/plugins/a/"}"#).unwrap();
        assert_eq!((e.kind, e.external), (2, 0));
        let out = serde_json::to_value(&e).unwrap();
        assert_eq!(out["type"], 2);
        assert_eq!(out["extern"], 0);
    }
}
