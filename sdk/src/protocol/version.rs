//! Versions: semver with a leading `v` tolerated, and lenient partial forms (`1`, `1.0`) where the
//! protocol uses them (`keel_version`, the version range in `main_plugin`).

use semver::{Version, VersionReq};

/// Why a version string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {what}: {reason} (expected something like \"1.2.0\")")]
pub struct VersionError {
    /// What was being parsed ("version", "keel_version", ...).
    pub what: &'static str,
    /// The offending value.
    pub value: String,
    /// Why it failed.
    pub reason: String,
}

fn strip_v(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix(['v', 'V']).unwrap_or(s)
}

/// Parses a version; `v1.2.0` and the partial forms `1` and `1.2` (completed with zeros) are
/// accepted, the rest must be semver.
pub fn parse_version(what: &'static str, value: &str) -> Result<Version, VersionError> {
    let s = strip_v(value);
    let err = |reason: String| VersionError { what, value: value.to_owned(), reason };
    if s.is_empty() {
        return Err(err("it is empty".into()));
    }
    let core_end = s.find(['-', '+']).unwrap_or(s.len());
    let dots = s[..core_end].matches('.').count();
    let completed = match dots {
        0 => format!("{}.0.0{}", &s[..core_end], &s[core_end..]),
        1 => format!("{}.0{}", &s[..core_end], &s[core_end..]),
        _ => s.to_owned(),
    };
    Version::parse(&completed).map_err(|e| err(e.to_string()))
}

/// Parses the version range a plugin was written against: a semver requirement (`^1.2`, `>=1, <3`)
/// where a bare version means "compatible with" (`1.0` ≡ `^1.0`); `*` or empty means any.
pub fn parse_version_req(what: &'static str, value: &str) -> Result<VersionReq, VersionError> {
    let s = value.trim();
    if s.is_empty() {
        return Ok(VersionReq::STAR);
    }
    // A lone `v1.2` is a version, not an operator: strip the v only in that case.
    let s = if s.starts_with(['v', 'V']) { strip_v(s) } else { s };
    VersionReq::parse(s).map_err(|e| VersionError { what, value: value.to_owned(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_v_and_partial_versions_are_tolerated() {
        assert_eq!(parse_version("version", "v1.2.3").unwrap(), Version::new(1, 2, 3));
        assert_eq!(parse_version("version", "1.2").unwrap(), Version::new(1, 2, 0));
        assert_eq!(parse_version("version", "2").unwrap(), Version::new(2, 0, 0));
        assert_eq!(parse_version("version", "1.0.0-rc.1").unwrap().pre.as_str(), "rc.1");
    }

    #[test]
    fn garbage_versions_name_the_field_and_value() {
        let err = parse_version("keel_version", "latest").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("keel_version") && msg.contains("latest"), "{msg}");
        assert!(parse_version("version", "").is_err());
        assert!(parse_version("version", "1.x.3").is_err());
    }

    #[test]
    fn ranges_treat_bare_versions_as_compatible() {
        let req = parse_version_req("main_plugin.version", "1.0").unwrap();
        assert!(req.matches(&Version::new(1, 4, 0)));
        assert!(!req.matches(&Version::new(2, 0, 0)));
        assert!(parse_version_req("v", "v1.2").unwrap().matches(&Version::new(1, 3, 0)));
        assert!(parse_version_req("v", "").unwrap().matches(&Version::new(9, 0, 0)));
        assert!(parse_version_req("v", ">=1, <3").unwrap().matches(&Version::new(2, 9, 0)));
        assert!(parse_version_req("v", "one").is_err());
    }
}
