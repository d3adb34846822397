//! `GET /v1/identify`: who a plugin is, the addon points it offers and the points of other plugins
//! it implements. Validation here is what registration relies on; its messages go straight back to
//! the plugin's author, so each names the field and says what to fix.

use std::collections::HashSet;

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use super::console::{ConsoleEntry, ConsoleError, MAX_CONSOLE_ENTRIES};
use super::ids::{IdError, PluginId};
use super::version::{parse_version, parse_version_req, VersionError};

/// The identify document (without the envelope; see [`super::Reply`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Identify {
    /// The plugin's id; must equal the app-id it is reached under.
    pub plugin_id: String,
    /// The plugin's own version (semver, leading `v` tolerated).
    pub version: String,
    /// The platform version the plugin needs (major.minor compared). Alias: `tkeel_version`.
    #[serde(default, alias = "tkeel_version", skip_serializing_if = "String::is_empty")]
    pub keel_version: String,
    /// Extension points this plugin offers. Alias: `addons_points`.
    #[serde(default, alias = "addons_points", skip_serializing_if = "Vec::is_empty")]
    pub addons: Vec<AddonPoint>,
    /// Points of other plugins this plugin implements. Alias: `main_plugins`.
    #[serde(default, alias = "main_plugins", skip_serializing_if = "Vec::is_empty")]
    pub main_plugin: Vec<MainPlugin>,
    /// Endpoints reachable from keel's public port without a token (e.g. a login form).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_endpoints: Vec<String>,
    /// How long keel waits for this plugin's answers, in ms, when keel's default does not suit
    /// it (a report generator, say); the registry copies it into the route table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Plugins this plugin needs (tKeel's `dependence`): enabling it for a tenant enables them
    /// too (`platform.md` §9).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependence: Vec<Dependency>,
    /// Entries of the plugin's own web UI in the console (issue 16): each under
    /// `/plugins/<plugin_id>/` (proxied by keel) or an external URL ([`ConsoleEntry`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub console: Vec<ConsoleEntry>,
}

/// One plugin another needs, with the version range it was written against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// The needed plugin's id.
    pub id: String,
    /// The version range it must be in (`*` or empty: any).
    #[serde(default)]
    pub version: String,
}

/// The largest `timeout_ms` a plugin may ask for: one hour.
pub const MAX_TIMEOUT_MS: u64 = 3_600_000;

/// The largest identify document the registry reads (bytes, envelope included): a plugin's
/// declaration is a few hundred bytes; anything near this is a mistake or an attack on the store,
/// which keeps the document with the plugin's record.
pub const MAX_IDENTIFY_BYTES: usize = 64 * 1024;
/// The longest free text (`addons[i].desc`), in bytes.
pub const MAX_DESC_LEN: usize = 1024;
/// The longest name, path or version field (points, endpoints, version ranges), in bytes.
pub const MAX_FIELD_LEN: usize = 256;
/// The most entries in one list (`addons`, `main_plugin`, its `endpoints`, `public_endpoints`,
/// `dependence`).
pub const MAX_ENTRIES: usize = 100;

/// One extension point offered by a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddonPoint {
    /// The point's name. Alias: `addons_point`.
    #[serde(alias = "addons_point")]
    pub endpoint: String,
    /// What the point is for and what implementers receive.
    #[serde(default)]
    pub desc: String,
}

/// The points of one extended plugin that this plugin implements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MainPlugin {
    /// The extended plugin's id.
    pub id: String,
    /// The version range of the extended plugin this implementation was written against.
    #[serde(default)]
    pub version: String,
    /// (point, implementing endpoint) pairs.
    #[serde(default)]
    pub endpoints: Vec<PointImpl>,
}

/// One implemented point: the extended plugin's point name and this plugin's endpoint for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointImpl {
    /// The point's name, as the extended plugin declared it. Alias: `addons_point`.
    #[serde(alias = "addons_point")]
    pub addons: String,
    /// The path on this plugin that implements it (relative, e.g. `hooks/before-notify`; a
    /// leading `/` is dropped at validation).
    pub endpoint: String,
}

/// What is wrong with an identify document; each message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifyError {
    /// `plugin_id` (or a `main_plugin[i].id`) is not a valid id.
    #[error("{field}: {source}")]
    Id {
        field: String,
        #[source]
        source: IdError,
    },
    /// `version`, `keel_version` or `main_plugin[i].version` does not parse.
    #[error("{field}: {source}")]
    Version {
        field: String,
        #[source]
        source: VersionError,
    },
    /// A required field is empty.
    #[error("{field} is required and must not be empty")]
    Missing { field: String },
    /// The same point offered twice, or implemented twice for the same plugin.
    #[error("{field}: point {name:?} is listed more than once")]
    DuplicatePoint { field: String, name: String },
    /// An endpoint that is not a relative path.
    #[error("{field}: endpoint {endpoint:?} must be a relative path like \"hooks/before-send\" (no leading '/', no '..', '?', '#', scheme or spaces)")]
    BadEndpoint { field: String, endpoint: String },
    /// A number outside its bounds.
    #[error("{field}: {value} is out of range; use 1 to {max}")]
    OutOfRange { field: String, value: u64, max: u64 },
    /// A plugin listing itself in `main_plugin`.
    #[error("main_plugin[{index}].id: a plugin cannot implement its own points")]
    SelfExtension { index: usize },
    /// The whole document is larger than [`MAX_IDENTIFY_BYTES`].
    #[error("the identify document is {size} bytes; the limit is {max} bytes")]
    TooLarge { size: usize, max: usize },
    /// A field longer than its limit.
    #[error("{field} is {len} bytes long; the limit is {max}")]
    TooLong { field: String, len: usize, max: usize },
    /// A list with more entries than [`MAX_ENTRIES`].
    #[error("{field} has {count} entries; the limit is {max}")]
    TooMany { field: String, count: usize, max: usize },
    /// A plugin listing itself in `dependence`.
    #[error("dependence[{index}].id: a plugin cannot depend on itself")]
    SelfDependency { index: usize },
    /// A console entry that does not validate (`field` is `console[i]`).
    #[error("{field}.{source}")]
    Console {
        field: String,
        #[source]
        source: ConsoleError,
    },
    /// The same console path declared twice.
    #[error("{field}: path {path:?} is listed more than once")]
    DuplicateConsolePath { field: String, path: String },
}

/// Refuses an identify answer of `size` bytes over [`MAX_IDENTIFY_BYTES`], before it is parsed.
pub fn check_document_size(size: usize) -> Result<(), IdentifyError> {
    if size > MAX_IDENTIFY_BYTES {
        return Err(IdentifyError::TooLarge { size, max: MAX_IDENTIFY_BYTES });
    }
    Ok(())
}

/// A validated identify document with its versions parsed.
#[derive(Debug, Clone)]
pub struct ValidIdentify {
    /// The document as received, its endpoints normalised to the relative form.
    pub doc: Identify,
    /// The plugin's id.
    pub id: PluginId,
    /// The plugin's version.
    pub version: Version,
    /// The platform version it needs, if it said.
    pub keel_version: Option<Version>,
    /// Each `main_plugin` entry's version range, in order.
    pub main_plugin_reqs: Vec<VersionReq>,
    /// Each `dependence` entry's version range, in order.
    pub dependence_reqs: Vec<VersionReq>,
}

/// The platform is older than what the plugin needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "plugin needs keel {needed} but this platform is {platform}; upgrade keel or use an older plugin version"
)]
pub struct PlatformTooOld {
    /// What the plugin asked for.
    pub needed: Version,
    /// What the platform is.
    pub platform: Version,
}

impl ValidIdentify {
    /// Compares `keel_version` with the platform's version on major.minor.
    pub fn check_platform(&self, platform: &Version) -> Result<(), PlatformTooOld> {
        match &self.keel_version {
            Some(needed) if (needed.major, needed.minor) > (platform.major, platform.minor) => {
                Err(PlatformTooOld { needed: needed.clone(), platform: platform.clone() })
            }
            _ => Ok(()),
        }
    }
}

/// Checks that `endpoint` is a relative path a sidecar can invoke: no leading `/`, no scheme, no
/// query or fragment, no empty, `.` or `..` segment, and none that decodes to one (`%2e%2e`,
/// `.%2E`, ...) or hides a separator or control byte (`%2f`, `%5c`, `%00`): the router and the
/// sidecar decode paths, so an encoded form must be judged as what it becomes.
pub fn is_relative_endpoint(endpoint: &str) -> bool {
    !endpoint.is_empty()
        && !endpoint.starts_with('/')
        && !endpoint.contains("://")
        && !endpoint.chars().any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#' || c == '\\')
        && endpoint.split('/').all(is_plain_segment)
}

/// One path segment that is neither empty, `.` nor `..`, before or after percent-decoding, and
/// whose decoded bytes are no separator or control byte. A `%` not followed by two hex digits is
/// refused too (it cannot be decoded the same way by everyone).
fn is_plain_segment(seg: &str) -> bool {
    if seg.is_empty() || seg == "." || seg == ".." {
        return false;
    }
    let bytes = seg.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else { return false };
            if byte == b'/'
                || byte == b'\\'
                || byte == b'%'
                || byte.is_ascii_control()
                || byte == b'?'
                || byte == b'#'
            {
                return false;
            }
            decoded.push(byte);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    decoded != b"." && decoded != b".."
}

impl Identify {
    /// Validates the document, in this order, reporting the first defect: the sizes of its
    /// fields and lists, its id, its versions, the points it offers, the points of other plugins
    /// it implements, its public endpoints, its time limit, its dependencies, its console entries.
    ///
    /// Endpoints written as absolute paths (`"/before-send-callback"`, the design document's
    /// form) are first normalised to the relative form the platform stores (`"before-send-callback"`).
    pub fn validate(mut self) -> Result<ValidIdentify, IdentifyError> {
        self.normalise();
        self.check_sizes()?;
        let id = self.valid_id()?;
        let (version, keel_version) = self.valid_versions()?;
        self.check_points()?;
        let main_plugin_reqs = self.valid_implementations(&id)?;
        self.check_public_endpoints()?;
        self.check_timeout()?;
        let dependence_reqs = self.valid_dependence(&id)?;
        self.check_console(&id)?;
        Ok(ValidIdentify { doc: self, id, version, keel_version, main_plugin_reqs, dependence_reqs })
    }

    /// One leading `/` dropped from implementing endpoints and public endpoints: a plugin's
    /// endpoints are paths on the plugin, written either way (`//x` stays, and is refused).
    fn normalise(&mut self) {
        let relative = |e: &mut String| {
            if e.starts_with('/') && !e.starts_with("//") {
                e.remove(0);
            }
        };
        for main in &mut self.main_plugin {
            main.endpoints.iter_mut().for_each(|imp| relative(&mut imp.endpoint));
        }
        self.public_endpoints.iter_mut().for_each(relative);
    }

    /// Sizes: every list within [`MAX_ENTRIES`], the description within [`MAX_DESC_LEN`], every
    /// other field within [`MAX_FIELD_LEN`] (ids are bounded by their own syntax).
    fn check_sizes(&self) -> Result<(), IdentifyError> {
        let count = |field: &str, count: usize| match count > MAX_ENTRIES {
            true => Err(IdentifyError::TooMany { field: field.to_owned(), count, max: MAX_ENTRIES }),
            false => Ok(()),
        };
        let len = |field: String, value: &str, max: usize| match value.len() > max {
            true => Err(IdentifyError::TooLong { field, len: value.len(), max }),
            false => Ok(()),
        };
        len("plugin_id".into(), &self.plugin_id, MAX_FIELD_LEN)?;
        len("version".into(), &self.version, MAX_FIELD_LEN)?;
        len("keel_version".into(), &self.keel_version, MAX_FIELD_LEN)?;
        count("addons", self.addons.len())?;
        for (i, a) in self.addons.iter().enumerate() {
            len(format!("addons[{i}].endpoint"), &a.endpoint, MAX_FIELD_LEN)?;
            len(format!("addons[{i}].desc"), &a.desc, MAX_DESC_LEN)?;
        }
        count("main_plugin", self.main_plugin.len())?;
        for (i, m) in self.main_plugin.iter().enumerate() {
            len(format!("main_plugin[{i}].id"), &m.id, MAX_FIELD_LEN)?;
            len(format!("main_plugin[{i}].version"), &m.version, MAX_FIELD_LEN)?;
            count(&format!("main_plugin[{i}].endpoints"), m.endpoints.len())?;
            for (j, e) in m.endpoints.iter().enumerate() {
                len(format!("main_plugin[{i}].endpoints[{j}].addons"), &e.addons, MAX_FIELD_LEN)?;
                len(format!("main_plugin[{i}].endpoints[{j}].endpoint"), &e.endpoint, MAX_FIELD_LEN)?;
            }
        }
        count("public_endpoints", self.public_endpoints.len())?;
        for (i, e) in self.public_endpoints.iter().enumerate() {
            len(format!("public_endpoints[{i}]"), e, MAX_FIELD_LEN)?;
        }
        count("dependence", self.dependence.len())?;
        for (i, d) in self.dependence.iter().enumerate() {
            len(format!("dependence[{i}].id"), &d.id, MAX_FIELD_LEN)?;
            len(format!("dependence[{i}].version"), &d.version, MAX_FIELD_LEN)?;
        }
        if self.console.len() > MAX_CONSOLE_ENTRIES {
            let count = self.console.len();
            return Err(IdentifyError::TooMany { field: "console".into(), count, max: MAX_CONSOLE_ENTRIES });
        }
        Ok(())
    }

    /// Ids: `plugin_id` is present and a valid plugin id.
    fn valid_id(&self) -> Result<PluginId, IdentifyError> {
        if self.plugin_id.is_empty() {
            return Err(IdentifyError::Missing { field: "plugin_id".into() });
        }
        PluginId::parse(&self.plugin_id)
            .map_err(|source| IdentifyError::Id { field: "plugin_id".into(), source })
    }

    /// Versions: `version` is present and parses, and so does `keel_version` when given.
    fn valid_versions(&self) -> Result<(Version, Option<Version>), IdentifyError> {
        if self.version.trim().is_empty() {
            return Err(IdentifyError::Missing { field: "version".into() });
        }
        let version = parse_version("version", &self.version)
            .map_err(|source| IdentifyError::Version { field: "version".into(), source })?;
        let keel_version = match self.keel_version.trim() {
            "" => None,
            v => Some(
                parse_version("keel_version", v)
                    .map_err(|source| IdentifyError::Version { field: "keel_version".into(), source })?,
            ),
        };
        Ok((version, keel_version))
    }

    /// Points offered: each `addons[i].endpoint` is a point name, none listed twice.
    fn check_points(&self) -> Result<(), IdentifyError> {
        let mut seen = HashSet::new();
        for (i, point) in self.addons.iter().enumerate() {
            let field = format!("addons[{i}].endpoint");
            check_point_name(&field, &point.endpoint)?;
            if !seen.insert(point.endpoint.as_str()) {
                return Err(IdentifyError::DuplicatePoint { field, name: point.endpoint.clone() });
            }
        }
        Ok(())
    }

    /// Implementations: each `main_plugin` entry (see [`MainPlugin::valid_entry`]), no extended
    /// plugin listed twice. Returns each entry's version range, in order.
    fn valid_implementations(&self, own_id: &PluginId) -> Result<Vec<VersionReq>, IdentifyError> {
        let mut reqs = Vec::with_capacity(self.main_plugin.len());
        let mut extended = HashSet::new();
        for (i, main) in self.main_plugin.iter().enumerate() {
            reqs.push(main.valid_entry(i, own_id, &mut extended)?);
        }
        Ok(reqs)
    }

    /// Public endpoints: each is a relative path.
    fn check_public_endpoints(&self) -> Result<(), IdentifyError> {
        for (i, endpoint) in self.public_endpoints.iter().enumerate() {
            if !is_relative_endpoint(endpoint) {
                return Err(IdentifyError::BadEndpoint {
                    field: format!("public_endpoints[{i}]"),
                    endpoint: endpoint.clone(),
                });
            }
        }
        Ok(())
    }

    /// Dependencies: each `dependence` entry names a valid id other than the plugin's own, once,
    /// with a version range that parses (returned, in order).
    fn valid_dependence(&self, own_id: &PluginId) -> Result<Vec<VersionReq>, IdentifyError> {
        let mut seen = HashSet::new();
        let mut reqs = Vec::with_capacity(self.dependence.len());
        for (i, dep) in self.dependence.iter().enumerate() {
            let field = format!("dependence[{i}].id");
            let dep_id = PluginId::parse(&dep.id)
                .map_err(|source| IdentifyError::Id { field: field.clone(), source })?;
            if dep_id == *own_id {
                return Err(IdentifyError::SelfDependency { index: i });
            }
            if !seen.insert(dep.id.as_str()) {
                return Err(IdentifyError::DuplicatePoint { field, name: dep.id.clone() });
            }
            reqs.push(parse_version_req("dependence version", &dep.version).map_err(|source| {
                IdentifyError::Version { field: format!("dependence[{i}].version"), source }
            })?);
        }
        Ok(reqs)
    }

    /// Console entries: each valid for the plugin's own group (`/plugins/<plugin_id>/`), no path
    /// twice.
    fn check_console(&self, own_id: &PluginId) -> Result<(), IdentifyError> {
        let mut seen = HashSet::new();
        for (i, entry) in self.console.iter().enumerate() {
            let field = format!("console[{i}]");
            entry
                .check(own_id.as_str())
                .map_err(|source| IdentifyError::Console { field: field.clone(), source })?;
            if !seen.insert(entry.path.as_str()) {
                return Err(IdentifyError::DuplicateConsolePath {
                    field: format!("{field}.path"),
                    path: entry.path.clone(),
                });
            }
        }
        Ok(())
    }

    /// Time limit: `timeout_ms`, when given, is 1 to [`MAX_TIMEOUT_MS`].
    fn check_timeout(&self) -> Result<(), IdentifyError> {
        match self.timeout_ms.filter(|ms| *ms == 0 || *ms > MAX_TIMEOUT_MS) {
            Some(ms) => {
                Err(IdentifyError::OutOfRange { field: "timeout_ms".into(), value: ms, max: MAX_TIMEOUT_MS })
            }
            None => Ok(()),
        }
    }
}

impl MainPlugin {
    /// Entry `index` of `main_plugin`: a valid id other than the plugin's own and not already in
    /// `extended`, a version range that parses (returned), and at least one implemented point.
    fn valid_entry<'a>(
        &'a self,
        index: usize,
        own_id: &PluginId,
        extended: &mut HashSet<&'a str>,
    ) -> Result<VersionReq, IdentifyError> {
        let field = format!("main_plugin[{index}].id");
        let main_id =
            PluginId::parse(&self.id).map_err(|source| IdentifyError::Id { field: field.clone(), source })?;
        if main_id == *own_id {
            return Err(IdentifyError::SelfExtension { index });
        }
        if !extended.insert(self.id.as_str()) {
            return Err(IdentifyError::DuplicatePoint { field, name: self.id.clone() });
        }
        let req = parse_version_req("main_plugin version", &self.version).map_err(|source| {
            IdentifyError::Version { field: format!("main_plugin[{index}].version"), source }
        })?;
        if self.endpoints.is_empty() {
            return Err(IdentifyError::Missing { field: format!("main_plugin[{index}].endpoints") });
        }
        let mut points = HashSet::new();
        for (j, imp) in self.endpoints.iter().enumerate() {
            imp.check(&format!("main_plugin[{index}].endpoints[{j}]"), &mut points)?;
        }
        Ok(req)
    }
}

impl PointImpl {
    /// One implemented point, at `field`: a point name not already in `points`, and an endpoint
    /// that is a relative path.
    fn check<'a>(&'a self, field: &str, points: &mut HashSet<&'a str>) -> Result<(), IdentifyError> {
        let pfield = format!("{field}.addons");
        check_point_name(&pfield, &self.addons)?;
        if !points.insert(self.addons.as_str()) {
            return Err(IdentifyError::DuplicatePoint { field: pfield, name: self.addons.clone() });
        }
        let efield = format!("{field}.endpoint");
        if self.endpoint.is_empty() {
            return Err(IdentifyError::Missing { field: efield });
        }
        if !is_relative_endpoint(&self.endpoint) {
            return Err(IdentifyError::BadEndpoint { field: efield, endpoint: self.endpoint.clone() });
        }
        Ok(())
    }
}

/// A point name is used as one path segment (`addons/<point>`): it must be a non-empty single
/// relative segment.
fn check_point_name(field: &str, name: &str) -> Result<(), IdentifyError> {
    if name.is_empty() {
        return Err(IdentifyError::Missing { field: field.to_owned() });
    }
    if !is_relative_endpoint(name) || name.contains('/') {
        return Err(IdentifyError::BadEndpoint { field: field.to_owned(), endpoint: name.to_owned() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Reply;
    use serde_json::json;

    fn spec_example() -> serde_json::Value {
        json!({
            "ret": 0, "msg": "ok",
            "plugin_id": "acme-mailer", "version": "1.2.0", "keel_version": "1.0",
            "addons": [{"endpoint": "before-send-callback", "desc": "called before a mail is sent"}],
            "main_plugin": [{"id": "acme-notify", "version": "1.0",
                "endpoints": [{"addons": "before-notify", "endpoint": "hooks/before-notify"}]}],
            "console_entries": [{"ignored": true}]
        })
    }

    #[test]
    fn the_spec_example_parses_and_validates() {
        let reply: Reply<Identify> = serde_json::from_value(spec_example()).unwrap();
        let valid = reply.body.validate().unwrap();
        assert_eq!(valid.id.as_str(), "acme-mailer");
        assert_eq!(valid.keel_version, Some(Version::new(1, 0, 0)));
        assert!(valid.main_plugin_reqs[0].matches(&Version::new(1, 3, 0)));
    }

    #[test]
    fn tkeel_aliases_are_accepted_on_input_and_keel_names_used_on_output() {
        let doc: Identify = serde_json::from_value(json!({
            "plugin_id": "old", "version": "v0.3.0", "tkeel_version": "0.2",
            "addons_points": [{"addons_point": "p1", "desc": "d"}],
            "main_plugins": [{"id": "main", "version": "0.1",
                "endpoints": [{"addons_point": "x", "endpoint": "cb/x"}]}]
        }))
        .unwrap();
        assert_eq!(doc.keel_version, "0.2");
        assert_eq!(doc.addons[0].endpoint, "p1");
        assert_eq!(doc.main_plugin[0].endpoints[0].addons, "x");
        let out = serde_json::to_value(&doc).unwrap();
        assert!(out.get("keel_version").is_some() && out.get("tkeel_version").is_none());
        assert!(out["main_plugin"][0]["endpoints"][0].get("addons").is_some());
        doc.validate().unwrap();
    }

    fn with(mutate: impl FnOnce(&mut serde_json::Value)) -> Result<ValidIdentify, IdentifyError> {
        let mut v = spec_example();
        mutate(&mut v);
        serde_json::from_value::<Identify>(v).unwrap().validate()
    }

    #[test]
    fn each_defect_is_reported_with_its_field() {
        type Mutation = Box<dyn FnOnce(&mut serde_json::Value)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|v| v["plugin_id"] = json!("")), "plugin_id is required"),
            (Box::new(|v| v["plugin_id"] = json!("Bad_Id")), "plugin_id:"),
            (Box::new(|v| v["version"] = json!("")), "version is required"),
            (Box::new(|v| v["version"] = json!("one")), "version:"),
            (Box::new(|v| v["keel_version"] = json!("x.y")), "keel_version:"),
            (
                Box::new(|v| v["addons"] = json!([{"endpoint": "a"}, {"endpoint": "a"}])),
                "addons[1].endpoint: point \"a\" is listed more than once",
            ),
            (Box::new(|v| v["addons"] = json!([{"endpoint": ""}])), "addons[0].endpoint is required"),
            (Box::new(|v| v["addons"] = json!([{"endpoint": "a/b"}])), "addons[0].endpoint: endpoint"),
            (
                Box::new(|v| v["main_plugin"][0]["endpoints"][0]["endpoint"] = json!("")),
                "main_plugin[0].endpoints[0].endpoint is required",
            ),
            (
                Box::new(|v| v["main_plugin"][0]["endpoints"][0]["endpoint"] = json!("//abs")),
                "must be a relative path",
            ),
            (
                Box::new(|v| v["main_plugin"][0]["endpoints"][0]["endpoint"] = json!("a/../b")),
                "must be a relative path",
            ),
            (
                Box::new(|v| v["main_plugin"][0]["endpoints"] = json!([])),
                "main_plugin[0].endpoints is required",
            ),
            (Box::new(|v| v["main_plugin"][0]["id"] = json!("acme-mailer")), "cannot implement its own"),
            (Box::new(|v| v["main_plugin"][0]["version"] = json!("!!")), "main_plugin[0].version"),
            (Box::new(|v| v["public_endpoints"] = json!(["http://x"])), "public_endpoints[0]"),
            (Box::new(|v| v["timeout_ms"] = json!(0)), "timeout_ms: 0 is out of range"),
            (Box::new(|v| v["timeout_ms"] = json!(3_600_001)), "use 1 to 3600000"),
            (Box::new(|v| v["dependence"] = json!([{"id": "Bad_Id"}])), "dependence[0].id:"),
            (Box::new(|v| v["dependence"] = json!([{"id": "acme-mailer"}])), "cannot depend on itself"),
            (
                Box::new(|v| v["dependence"] = json!([{"id": "a"}, {"id": "a"}])),
                "dependence[1].id: point \"a\" is listed more than once",
            ),
            (Box::new(|v| v["dependence"] = json!([{"id": "a", "version": "!!"}])), "dependence[0].version"),
            (
                Box::new(|v| v["console"] = json!([{"name": "n", "name_en": "N", "type": 2, "path": "/plugins/other/x"}])),
                "console[0].path \"/plugins/other/x\" is outside this registrant's group: a proxied entry's path must start with \"/plugins/acme-mailer/\"",
            ),
            (
                Box::new(|v| v["console"] = json!([{"name": "", "name_en": "N", "type": 2, "path": "/plugins/acme-mailer/"}])),
                "console[0].name is required",
            ),
            (
                Box::new(|v| v["console"] = json!([{"name": "n", "name_en": "N", "type": 9, "path": "/plugins/acme-mailer/"}])),
                "console[0].type 9 is not an entry type",
            ),
            (
                Box::new(|v| {
                    let e = json!({"name": "n", "name_en": "N", "type": 2, "path": "/plugins/acme-mailer/ui"});
                    v["console"] = json!([e, e]);
                }),
                "console[1].path: path \"/plugins/acme-mailer/ui\" is listed more than once",
            ),
        ];
        for (mutate, expected) in cases {
            let err = with(mutate).unwrap_err().to_string();
            assert!(err.contains(expected), "expected {expected:?} in {err:?}");
        }
    }

    #[test]
    fn the_first_defect_in_step_order_is_the_one_reported() {
        let first = |mutate: fn(&mut serde_json::Value)| with(mutate).unwrap_err().to_string();
        // ids before versions before points before implementations before endpoints and limits.
        let err = first(|v| {
            v["plugin_id"] = json!("");
            v["version"] = json!("one");
        });
        assert!(err.starts_with("plugin_id"), "{err}");
        let err = first(|v| {
            v["version"] = json!("one");
            v["addons"] = json!([{"endpoint": ""}]);
        });
        assert!(err.starts_with("version"), "{err}");
        let err = first(|v| {
            v["addons"] = json!([{"endpoint": ""}]);
            v["main_plugin"][0]["endpoints"] = json!([]);
        });
        assert!(err.starts_with("addons[0]"), "{err}");
        let err = first(|v| {
            v["main_plugin"][0]["endpoints"] = json!([]);
            v["public_endpoints"] = json!(["//abs"]);
            v["timeout_ms"] = json!(0);
        });
        assert!(err.starts_with("main_plugin[0].endpoints"), "{err}");
        let err = first(|v| {
            v["public_endpoints"] = json!(["//abs"]);
            v["timeout_ms"] = json!(0);
        });
        assert!(err.starts_with("public_endpoints[0]"), "{err}");
        // Within one main_plugin entry: its id, then its version range, then its points.
        let err = first(|v| {
            v["main_plugin"][0]["id"] = json!("acme-mailer");
            v["main_plugin"][0]["version"] = json!("!!");
        });
        assert!(err.contains("cannot implement its own"), "{err}");
        let err = first(|v| {
            v["main_plugin"][0]["version"] = json!("!!");
            v["main_plugin"][0]["endpoints"][0]["endpoint"] = json!("");
        });
        assert!(err.starts_with("main_plugin[0].version"), "{err}");
    }

    #[test]
    fn console_entries_are_optional_and_kept_as_declared() {
        assert!(with(|_| {}).unwrap().doc.console.is_empty());
        let v = with(|v| {
            v["console"] = json!([
                {"name": "邮件", "name_en": "Mail", "type": 2, "path": "/plugins/acme-mailer/tab"},
                {"name": "Docs", "name_en": "Docs", "type": 1, "path": "https://docs.example.com/", "extern": 1}
            ])
        })
        .unwrap();
        assert_eq!(v.doc.console.len(), 2);
        assert_eq!((v.doc.console[1].kind, v.doc.console[1].external), (1, 1));
        let many: Vec<_> = (0..17)
            .map(|i| json!({"name": "n", "name_en": "N", "type": 2, "path": format!("/plugins/acme-mailer/{i}")}))
            .collect();
        let err = with(|v| v["console"] = json!(many)).unwrap_err().to_string();
        assert_eq!(err, "console has 17 entries; the limit is 16");
    }

    #[test]
    fn platform_version_is_compared_on_major_minor() {
        let v = with(|v| v["keel_version"] = json!("1.3")).unwrap();
        assert!(v.check_platform(&Version::new(1, 3, 0)).is_ok());
        assert!(v.check_platform(&Version::new(2, 0, 0)).is_ok());
        let err = v.check_platform(&Version::new(1, 2, 9)).unwrap_err().to_string();
        assert!(err.contains("needs keel 1.3.0") && err.contains("1.2.9"), "{err}");
        assert!(with(|v| v["keel_version"] = json!(""))
            .unwrap()
            .check_platform(&Version::new(0, 1, 0))
            .is_ok());
    }

    #[test]
    fn relative_endpoints() {
        for ok in ["a", "hooks/before", "v1/x-y_z.json", "a%20b", "%2e%2e%2e", "caf%C3%A9", "..."] {
            assert!(is_relative_endpoint(ok), "{ok}");
        }
        for bad in ["", "/a", "a//b", "a/", "./a", "a/..", "http://x", "a?b", "a#b", "a b", "a\\b"] {
            assert!(!is_relative_endpoint(bad), "{bad}");
        }
        // Encoded dot segments, separators and control bytes are what they decode to.
        for bad in [
            "%2e%2e",
            "a/%2e%2e/b",
            ".%2E",
            "%2E.",
            "%2e",
            "a/%2E%2e",
            "a%2fb",
            "a%2F..",
            "a%5cb",
            "a%00b",
            "a%0d%0a",
            "a%3fb",
            "a%23b",
            "a%25b",
            "a%",
            "a%2",
            "a%zz",
        ] {
            assert!(!is_relative_endpoint(bad), "{bad}");
        }
    }

    #[test]
    fn sizes_are_capped_naming_the_field() {
        let err = with(|v| v["addons"][0]["desc"] = json!("x".repeat(MAX_DESC_LEN + 1))).unwrap_err();
        assert_eq!(err.to_string(), "addons[0].desc is 1025 bytes long; the limit is 1024");
        let err = with(|v| v["main_plugin"][0]["endpoints"][0]["endpoint"] = json!("e".repeat(300)))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("main_plugin[0].endpoints[0].endpoint is 300 bytes"), "{err}");
        let many: Vec<_> = (0..101).map(|i| json!({"endpoint": format!("p{i}")})).collect();
        let err = with(|v| v["addons"] = json!(many)).unwrap_err().to_string();
        assert_eq!(err, "addons has 101 entries; the limit is 100");
        assert!(with(|v| v["addons"][0]["desc"] = json!("x".repeat(MAX_DESC_LEN))).is_ok());
        assert!(check_document_size(MAX_IDENTIFY_BYTES).is_ok());
        let err = check_document_size(3 << 20).unwrap_err().to_string();
        assert_eq!(err, "the identify document is 3145728 bytes; the limit is 65536 bytes");
    }

    #[test]
    fn absolute_endpoints_are_normalised_to_the_relative_form() {
        let v = with(|v| {
            v["main_plugin"][0]["endpoints"][0]["endpoint"] = json!("/before-send-callback");
            v["public_endpoints"] = json!(["/login"]);
        })
        .unwrap();
        assert_eq!(v.doc.main_plugin[0].endpoints[0].endpoint, "before-send-callback");
        assert_eq!(v.doc.public_endpoints, ["login"]);
        let err = with(|v| v["main_plugin"][0]["endpoints"][0]["endpoint"] = json!("//x")).unwrap_err();
        assert!(err.to_string().contains("must be a relative path"), "{err}");
        let err = with(|v| v["main_plugin"][0]["endpoints"][0]["endpoint"] = json!("/%2e%2e/x")).unwrap_err();
        assert!(err.to_string().contains("main_plugin[0].endpoints[0].endpoint"), "{err}");
    }
}
