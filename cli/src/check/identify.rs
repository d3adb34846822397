//! `GET /v1/identify`: the registry's own validation (`Identify::validate`, the same code), the
//! id against the app-id, the platform version against this keelctl's, and what the registry
//! tolerates silently but an author should know: tKeel's aliases, misspelt fields, a missing
//! `keel_version`, a partial version.

use awc::http::Method;
use keel_sdk::protocol::{
    parse_version, IdError, Identify, IdentifyError, PluginId, Reply, ValidIdentify, KEEL_VERSION,
};
use serde_json::Value;

use super::answer::{self, quote, Checks};
use super::probe::{Answer, Probe};
use super::{ms, Checked, Findings, IDENTIFY_LIMIT};

const CHECKS: Checks = Checks {
    endpoint: "GET /v1/identify",
    setting: "identify_timeout_ms",
    unreachable: "identify.unreachable",
    timeout: "identify.timeout",
    slow: "identify.slow",
    not_json: "identify.not-json",
    content_type: "identify.content-type",
    no_envelope: "identify.no-envelope",
    refused: "identify.refused",
};

/// The fields of identify the platform knows (Keel's names, tKeel's aliases, and the optional
/// extensions of platform.md §9); others are ignored by the registry.
const KNOWN_FIELDS: &[&str] = &[
    "ret",
    "msg",
    "plugin_id",
    "version",
    "keel_version",
    "tkeel_version",
    "addons",
    "addons_points",
    "main_plugin",
    "main_plugins",
    "public_endpoints",
    "timeout_ms",
    "console",
    "dependence",
];

/// Calls identify and judges it; the validated document when registration would accept it.
pub async fn check(
    probe: &Probe,
    app_id: Option<&str>,
    f: &mut Findings,
    checked: &mut Vec<Checked>,
) -> Option<ValidIdentify> {
    match probe.call(Method::GET, "v1/identify", None, IDENTIFY_LIMIT).await {
        Ok(answer) => {
            let valid = judge(app_id, &answer, probe.via_sidecar(), f)?;
            let mut summary = summary(&valid, &answer);
            if app_id.is_none() {
                summary.push_str("; plugin_id not compared with an app-id (give --app-id)");
            }
            checked.push(Checked { area: "identify", summary });
            Some(valid)
        }
        Err(e) => {
            answer::no_answer(&CHECKS, &e, probe.via_sidecar(), f);
            None
        }
    }
}

/// The finding for an identify call without an answer (for the unit tests).
#[cfg(test)]
pub fn no_answer_for_test(e: &super::probe::CallError, f: &mut Findings) {
    answer::no_answer(&CHECKS, e, true, f);
}

/// Judges an identify answer; `app_id` is the id the plugin must report, when known.
pub fn judge(
    app_id: Option<&str>,
    answer: &Answer,
    via_sidecar: bool,
    f: &mut Findings,
) -> Option<ValidIdentify> {
    if answer.status != 200 {
        let fix = match answer.status {
            401 | 403 if via_sidecar => "the sidecar or the app refused the call: export the sidecar's DAPR_API_TOKEN, and check that its access policy lets this sidecar's app call the plugin",
            401 | 403 => "the app wants its app API token: give it with --app-token (or APP_API_TOKEN), as its sidecar would send it",
            404 | 405 => "serve GET /v1/identify (platform.md §2; the Rust kit and the templates of `keelctl plugin new` do)",
            _ => "answer HTTP 200 with the identify document: the registry accepts nothing else",
        };
        f.error(
            "identify.http-status",
            format!("GET /v1/identify answered HTTP {}: {}", answer.status, quote(&answer.body)),
            fix,
        );
        return None;
    }
    let value = answer::protocol_json(&CHECKS, answer, Some(IDENTIFY_LIMIT), f)?;
    let doc = match serde_json::from_value::<Reply<Identify>>(value.clone()) {
        Ok(reply) => reply.body,
        Err(e) => {
            f.error(
                "identify.shape",
                format!("GET /v1/identify does not have identify's shape: {e}"),
                "follow platform.md §2: plugin_id and version are strings, addons is [{\"endpoint\", \"desc\"}], main_plugin is [{\"id\", \"version\", \"endpoints\": [{\"addons\", \"endpoint\"}]}]",
            );
            return None;
        }
    };
    aliases(&value, f);
    misspelt_fields(&value, f);
    let valid = match doc.validate() {
        Ok(valid) => valid,
        Err(e) => {
            f.error(
                "identify.invalid",
                format!("the registry refuses this identify: {e}"),
                format!(
                    "{} (the registry reports the first defect: check again after fixing it)",
                    fix_for(&e)
                ),
            );
            return None;
        }
    };
    values(app_id, &valid, f);
    Some(valid)
}

/// The checks on a valid document's values: reserved id, id mismatch, versions.
fn values(app_id: Option<&str>, valid: &ValidIdentify, f: &mut Findings) {
    let id = valid.id.as_str();
    if let Err(IdError::Reserved { .. }) = PluginId::parse_unreserved(id) {
        f.error(
            "identify.reserved-id",
            format!("plugin_id {id:?} is reserved for the platform"),
            "choose another id: keel, plugins, auth, hosting, addons and v1 belong to the platform",
        );
    }
    match app_id {
        Some(app_id) if app_id != id => f.error(
            "identify.id-mismatch",
            format!("the plugin reports plugin_id {id:?} but runs as app-id {app_id:?}; the registry refuses it"),
            format!("report \"plugin_id\": {app_id:?}, or run it under app-id {id:?} (appID in dapr.yaml, --app-id of dapr run)"),
        ),
        _ => {}
    }
    let doc = &valid.doc;
    if doc.keel_version.trim().is_empty() {
        f.warn(
            "identify.no-keel-version",
            "identify has no keel_version: the registry cannot refuse it on a platform too old for it",
            format!(
                "add \"keel_version\": \"{}\", the platform version the plugin was written for",
                major_minor()
            ),
        );
    }
    if let Ok(platform) = parse_version("keel_version", KEEL_VERSION) {
        if let Err(e) = valid.check_platform(&platform) {
            f.error(
                "identify.keel-too-new",
                format!("{e} (this keelctl is keel {KEEL_VERSION}'s, and a platform of that version refuses it)"),
                "lower keel_version to the oldest platform the plugin works with (major.minor), or check it with a newer platform's keelctl",
            );
        }
    }
    let core = doc.version.trim().trim_start_matches(['v', 'V']);
    let core = &core[..core.find(['-', '+']).unwrap_or(core.len())];
    if core.matches('.').count() < 2 {
        f.warn(
            "identify.version-not-semver",
            format!(
                "version {:?} is not full semver; the platform reads it as {}",
                doc.version, valid.version
            ),
            format!("write \"version\": \"{}\"", valid.version),
        );
    }
}

/// tKeel's names, which the registry accepts but Keel's documents do not use.
fn aliases(value: &Value, f: &mut Findings) {
    let mut used = Vec::new();
    for (alias, name) in
        [("tkeel_version", "keel_version"), ("addons_points", "addons"), ("main_plugins", "main_plugin")]
    {
        if value.get(alias).is_some() {
            used.push(format!("{alias} (use {name})"));
        }
    }
    let points = value.get("addons").or_else(|| value.get("addons_points"));
    if points.and_then(Value::as_array).into_iter().flatten().any(|p| p.get("addons_point").is_some()) {
        used.push("addons[].addons_point (use endpoint)".to_owned());
    }
    let mains = value.get("main_plugin").or_else(|| value.get("main_plugins"));
    let implemented = mains.and_then(Value::as_array).into_iter().flatten();
    if implemented
        .filter_map(|m| m.get("endpoints").and_then(Value::as_array))
        .flatten()
        .any(|e| e.get("addons_point").is_some())
    {
        used.push("main_plugin[].endpoints[].addons_point (use addons)".to_owned());
    }
    if !used.is_empty() {
        f.warn(
            "identify.alias",
            format!("identify uses tKeel's names, accepted as aliases: {}", used.join(", ")),
            "use Keel's names (platform.md §2); the aliases exist so old plugins keep working",
        );
    }
}

/// Top-level fields one or two letters away from a known one: ignored by the registry, so a
/// misspelt `addons` silently offers nothing.
fn misspelt_fields(value: &Value, f: &mut Findings) {
    let Some(object) = value.as_object() else { return };
    let mut misspelt = Vec::new();
    for key in object.keys().filter(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        let normal = key.to_ascii_lowercase().replace('-', "_");
        if let Some(known) = KNOWN_FIELDS.iter().find(|k| normal == **k || distance(&normal, k) <= 2) {
            misspelt.push(format!("{key:?} (did you mean {known:?}?)"));
        }
    }
    if !misspelt.is_empty() {
        f.warn(
            "identify.unknown-field",
            format!("identify has fields the registry ignores: {}", misspelt.join(", ")),
            "spell them as platform.md §2 does",
        );
    }
}

/// Levenshtein distance (short strings only).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// What to do about a validation error.
fn fix_for(e: &IdentifyError) -> String {
    match e {
        IdentifyError::Id { .. } => {
            "use lower-case letters, digits and '-' (a Dapr app-id and DNS label), the same as the app-id it runs under".into()
        }
        IdentifyError::Version { .. } => "write a semver version such as \"1.2.0\"".into(),
        IdentifyError::Missing { field } => format!("fill in {field}"),
        IdentifyError::DuplicatePoint { .. } => "list each point, and each extended plugin, once".into(),
        IdentifyError::BadEndpoint { .. } => "use a relative path such as \"hooks/before-send\"".into(),
        IdentifyError::OutOfRange { max, .. } => format!("use a value from 1 to {max}"),
        IdentifyError::SelfExtension { .. } => "remove that entry: a plugin cannot implement its own points".into(),
        IdentifyError::TooLarge { max, .. } => format!("keel identify under {max} bytes: move long texts to your docs"),
        IdentifyError::TooLong { field, max, .. } => format!("shorten {field} to at most {max} bytes"),
        IdentifyError::TooMany { field, max, .. } => format!("list at most {max} entries in {field}"),
        IdentifyError::SelfDependency { .. } => "remove that entry: a plugin does not depend on itself".into(),
        IdentifyError::Console { .. } => {
            "give the entry a name, name_en, type 1-3, and a path under /plugins/<plugin_id>/ (or extern 1 with an http(s) URL)".into()
        }
        IdentifyError::DuplicateConsolePath { .. } => "list each console path once".into(),
    }
}

/// The platform's version as major.minor.
fn major_minor() -> String {
    parse_version("keel_version", KEEL_VERSION)
        .map(|v| format!("{}.{}", v.major, v.minor))
        .unwrap_or_else(|_| KEEL_VERSION.to_owned())
}

/// `echo 1.0.0, needs keel 1.0; offers decorate-greeting; implements greeter's ... (3 ms)`.
fn summary(valid: &ValidIdentify, answer: &Answer) -> String {
    let doc = &valid.doc;
    let mut s = format!("{} {}", doc.plugin_id, doc.version);
    if !doc.keel_version.is_empty() {
        s.push_str(&format!(", needs keel {}", doc.keel_version));
    }
    if !doc.addons.is_empty() {
        let points: Vec<&str> = doc.addons.iter().map(|a| a.endpoint.as_str()).collect();
        s.push_str(&format!("; offers {}", points.join(", ")));
    }
    for main in &doc.main_plugin {
        let pairs: Vec<String> =
            main.endpoints.iter().map(|e| format!("{} at {}", e.addons, e.endpoint)).collect();
        s.push_str(&format!("; implements {}'s {}", main.id, pairs.join(", ")));
    }
    s.push_str(&format!(" ({} ms)", ms(answer.elapsed)));
    s
}
