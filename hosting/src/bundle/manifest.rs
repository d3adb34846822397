//! `plugin.yaml`, the seed's shape: `service` (`app_id`, `version`, `name`, ...) and
//! `abilities[{id, name, version, abilityType: web_service, config[{key, value}]}]`. Only what
//! hosting needs is read; every other key (the seed's `fieldType`, `show`, other abilities,
//! `apis`, `modules`, ...) is ignored, never refused.

use serde::Deserialize;
use serde_yaml_ng::Value;

/// The ability type hosting runs.
pub const WEB_SERVICE: &str = "web_service";

/// What a `plugin.yaml` says that hosting uses, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// `service.app_id`.
    pub app_id: String,
    /// `service.version` (semver; a leading `v` tolerated).
    pub version: String,
    /// `service.name` (the app_id when absent).
    pub name: String,
    /// `root_route` of the `web_service` ability.
    pub root_route: String,
    /// `start_file`, relative to `workspace/`.
    pub start_file: String,
    /// `is_open` (default false).
    pub is_open: bool,
    /// `args` (default empty).
    pub args: String,
}

#[derive(Deserialize)]
struct Raw {
    service: Option<RawService>,
    #[serde(default)]
    abilities: Option<Vec<RawAbility>>,
}

#[derive(Deserialize)]
struct RawService {
    app_id: Option<Value>,
    version: Option<Value>,
    name: Option<Value>,
}

#[derive(Deserialize)]
struct RawAbility {
    #[serde(rename = "abilityType")]
    ability_type: Option<String>,
    #[serde(default)]
    config: Option<Vec<RawConfig>>,
}

#[derive(Deserialize)]
struct RawConfig {
    key: String,
    #[serde(default)]
    value: Value,
}

/// Reads and checks `plugin.yaml`; the error names the field (`service.app_id`,
/// `abilities[0].config.root_route`, ...).
pub fn parse(text: &str) -> Result<Manifest, String> {
    let raw: Raw = serde_yaml_ng::from_str(text).map_err(|e| format!("plugin.yaml: {e}"))?;
    let service = raw.service.ok_or("plugin.yaml: field service is missing")?;
    let app_id =
        scalar(service.app_id, "service.app_id")?.ok_or("plugin.yaml: field service.app_id is missing")?;
    check_app_id(&app_id)?;
    let version =
        scalar(service.version, "service.version")?.ok_or("plugin.yaml: field service.version is missing")?;
    keel_sdk::protocol::parse_version("service.version", &version).map_err(|e| {
        format!("plugin.yaml: field service.version {version:?} is not a version: {}", e.reason)
    })?;
    let name = scalar(service.name, "service.name")?.unwrap_or_else(|| app_id.clone());

    let abilities = raw.abilities.unwrap_or_default();
    let web: Vec<(usize, &RawAbility)> = abilities
        .iter()
        .enumerate()
        .filter(|(_, a)| a.ability_type.as_deref() == Some(WEB_SERVICE))
        .collect();
    let (index, ability) = match web.as_slice() {
        [] => return Err("plugin.yaml: field abilities has no ability with abilityType web_service".into()),
        [one] => *one,
        _ => {
            return Err(
                "plugin.yaml: field abilities has more than one web_service ability; one is supported".into(),
            )
        }
    };
    let field = |key: &str| format!("abilities[{index}].config.{key}");
    let config = ability.config.as_deref().unwrap_or_default();
    let get = |key: &str| -> Result<Option<String>, String> {
        match config.iter().find(|c| c.key == key) {
            Some(c) => scalar(Some(c.value.clone()), &field(key)),
            None => Ok(None),
        }
    };
    let root_route =
        get("root_route")?.ok_or_else(|| format!("plugin.yaml: field {} is missing", field("root_route")))?;
    check_root_route(&root_route).map_err(|e| format!("plugin.yaml: field {}: {e}", field("root_route")))?;
    let start_file =
        get("start_file")?.ok_or_else(|| format!("plugin.yaml: field {} is missing", field("start_file")))?;
    check_start_file(&start_file).map_err(|e| format!("plugin.yaml: field {}: {e}", field("start_file")))?;
    let is_open = match get("is_open")?.as_deref() {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(format!("plugin.yaml: field {} is {other:?}; use true or false", field("is_open")))
        }
    };
    let args = get("args")?.unwrap_or_default();
    if args.contains('\0') || args.contains('\n') {
        return Err(format!("plugin.yaml: field {} must be one line of text", field("args")));
    }
    Ok(Manifest { app_id, version, name, root_route, start_file, is_open, args })
}

/// A YAML scalar as text (`1.0.0`, `false` and `10` all arrive as text); `None` when null or absent.
fn scalar(v: Option<Value>, field: &str) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(format!("plugin.yaml: field {field} must be a single value, not a list or a map")),
    }
}

/// `app_id`: used in file names and store keys, so letters, digits, `_`, `-` and `.`, at most 64,
/// starting with a letter or digit (ONES app_ids are mixed-case, e.g. `lvqVzgYh`).
pub fn check_app_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "plugin.yaml: field service.app_id {id:?} is invalid: use 1 to 64 letters, digits, '_', '-' or '.', starting with a letter or digit"
        ))
    }
}

/// `root_route`: `^[a-z0-9_-]{1,63}$`.
pub fn check_root_route(root: &str) -> Result<(), String> {
    let ok = (1..=63).contains(&root.len())
        && root.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!("{root:?} does not match ^[a-z0-9_-]{{1,63}}$"))
    }
}

/// `start_file`: a relative path inside `workspace/`, without `..`.
fn check_start_file(file: &str) -> Result<(), String> {
    let path = std::path::Path::new(file);
    let ok = !file.is_empty()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir));
    if ok {
        Ok(())
    } else {
        Err(format!("{file:?} must be a relative path inside workspace/, without '..'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's ability block, under a service of ours.
    pub(crate) fn seed_yaml(root: &str) -> String {
        format!(
            r#"service:
  app_id: lvqVzgYh
  version: 1.0.0
  name: hello
  language: nodejs
abilities:
  - id: qRUFfcomn
    name: 'web service'
    version: 1.0.0
    abilityType: web_service
    config:
      - key: root_route
        value: {root}
        fieldType: Input
        show: false
      - key: start_file
        value: 'start.sh'
        fieldType: Input
        show: false
      - key: is_open
        value: false
        fieldType: Input
        show: false
      - key: args
        value: 'name'
        fieldType: Input
        show: false
"#
        )
    }

    #[test]
    fn the_seeds_ability_reads_whole() {
        let m = parse(&seed_yaml("file_storage")).unwrap();
        assert_eq!(
            m,
            Manifest {
                app_id: "lvqVzgYh".into(),
                version: "1.0.0".into(),
                name: "hello".into(),
                root_route: "file_storage".into(),
                start_file: "start.sh".into(),
                is_open: false,
                args: "name".into(),
            }
        );
    }

    #[test]
    fn every_refusal_names_its_field() {
        let cases: Vec<(String, &str)> = vec![
            ("service: [".into(), "plugin.yaml"),
            ("abilities: []".into(), "field service is missing"),
            (seed_yaml("x").replace("  app_id: lvqVzgYh\n", ""), "service.app_id"),
            (seed_yaml("x").replace("app_id: lvqVzgYh", "app_id: 'a/b'"), "service.app_id"),
            (seed_yaml("x").replace("version: 1.0.0\n  name", "version: soon\n  name"), "service.version"),
            (seed_yaml("Bad Root"), "abilities[0].config.root_route"),
            (seed_yaml(&"a".repeat(64)), "abilities[0].config.root_route"),
            (seed_yaml("x").replace("'start.sh'", "'../start.sh'"), "abilities[0].config.start_file"),
            (seed_yaml("x").replace("value: false", "value: maybe"), "abilities[0].config.is_open"),
            (seed_yaml("x").replace("web_service", "page"), "abilityType web_service"),
            (seed_yaml("x").replace("service:\n  app_id", "service:\n  version: [1]\n  app_id"), "service"),
        ];
        for (yaml, field) in cases {
            let err = parse(&yaml).unwrap_err();
            assert!(err.contains(field), "{field:?} not in {err:?}");
        }
    }

    #[test]
    fn roots_follow_the_issue_pattern() {
        for ok in ["file_storage", "a", "x-1_2", &"z".repeat(63)] {
            assert!(check_root_route(ok).is_ok(), "{ok}");
        }
        for bad in ["", "A", "a/b", "a.b", "é", &"z".repeat(64)] {
            assert!(check_root_route(bad).is_err(), "{bad}");
        }
    }
}
