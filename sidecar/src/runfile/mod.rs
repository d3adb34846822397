//! The multi-app run file (`dapr run -f`), parsed with the dapr CLI's rules
//! (`pkg/runfileconfig`): `version: 1` required; `common` applies where an app leaves a key
//! unset; `appDirPath` is required and relative to the file; other per-app paths are relative to
//! `appDirPath`; resources come from `apps[i].resourcesPaths`, else `<appDirPath>/.dapr/resources`,
//! else `common.resourcesPaths`, else `~/.dapr/components`; the Configuration from
//! `apps[i].configFilePath`, else `<appDirPath>/.dapr/config.yaml`, else `common.configFilePath`,
//! else `~/.dapr/config.yaml`; env is app > common > inherited.
//! Unknown keys are tolerated, as the CLI's YAML decoding tolerates them.
//!
//! Every error names the file, the key (`apps[1].appPort`) and the value.

use crate::components::ResourcesPath;
use crate::config::{self, AppCommand, AppHealthConfig, AppPlan, SidecarConfig};
use crate::configuration::ConfigFile;
use crate::quantity;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Component as PathPart, Path, PathBuf};
use std::time::Duration;

/// The file name looked for when `-f` names a folder.
pub const DEFAULT_FILE: &str = "dapr.yaml";

/// A run file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RunFileError {
    /// The file cannot be read.
    #[error("run file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not valid YAML, or a key of the wrong type.
    #[error("run file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The YAML error, with the key and position.
        message: String,
    },
    /// A key is missing or has a value the CLI (or the stand-in) refuses.
    #[error("run file {path}: {field}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key, e.g. `apps[0].appDirPath`.
        field: String,
        /// What is wrong, quoting the value.
        reason: String,
    },
}

/// A YAML scalar that the CLI reads into a string field (`maxBodySize: 4Mi` or `4194304`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Str(s) => s.clone(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawRunFile {
    version: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    common: Option<RawApp>,
    #[serde(default)]
    apps: Option<Vec<RawApp>>,
}

/// One app (also used for `common`, whose app-only keys the CLI ignores).
#[derive(Debug, Default, Clone, Deserialize)]
struct RawApp {
    #[serde(rename = "appID")]
    app_id: Option<String>,
    #[serde(rename = "appDirPath")]
    app_dir_path: Option<String>,
    #[serde(rename = "appPort")]
    app_port: Option<i64>,
    #[serde(default)]
    command: Option<Vec<String>>,
    #[serde(default)]
    env: Option<BTreeMap<String, Scalar>>,
    #[serde(rename = "resourcesPath")]
    resources_path: Option<String>,
    #[serde(rename = "resourcesPaths")]
    resources_paths: Option<Vec<String>>,
    #[serde(rename = "configFilePath")]
    config_file_path: Option<String>,
    #[serde(rename = "appProtocol")]
    app_protocol: Option<String>,
    #[serde(rename = "appChannelAddress")]
    app_channel_address: Option<String>,
    #[serde(rename = "daprHTTPPort")]
    dapr_http_port: Option<i64>,
    #[serde(rename = "daprGRPCPort")]
    dapr_grpc_port: Option<i64>,
    #[serde(rename = "metricsPort")]
    metrics_port: Option<i64>,
    #[serde(rename = "enableAppHealthCheck")]
    enable_app_health_check: Option<bool>,
    #[serde(rename = "appHealthCheckPath")]
    app_health_check_path: Option<String>,
    #[serde(rename = "appHealthProbeInterval")]
    app_health_probe_interval: Option<i64>,
    #[serde(rename = "appHealthProbeTimeout")]
    app_health_probe_timeout: Option<i64>,
    #[serde(rename = "appHealthThreshold")]
    app_health_threshold: Option<i64>,
    #[serde(rename = "maxBodySize")]
    max_body_size: Option<Scalar>,
    /// The dapr CLI's key before 1.15 (an integer in MB, `--dapr-http-max-request-size`).
    #[serde(rename = "daprHTTPMaxRequestSize")]
    dapr_http_max_request_size: Option<i64>,
    #[serde(rename = "apiListenAddresses")]
    api_listen_addresses: Option<String>,
    #[serde(rename = "readBufferSize")]
    read_buffer_size: Option<Scalar>,
    #[serde(rename = "appLogDestination")]
    app_log_destination: Option<String>,
}

/// Process-wide inputs to resolving a run file (so tests need not touch the real environment).
pub struct Inputs<'a> {
    /// The environment the run inherits.
    pub inherited_env: &'a [(String, String)],
    /// The home folder (`~/.dapr/components`).
    pub home: Option<&'a Path>,
    /// The name registry file.
    pub registry_path: &'a Path,
}

/// Finds the run file: `-f` may name the file or a folder holding `dapr.yaml`.
pub fn locate(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(DEFAULT_FILE)
    } else {
        path.to_owned()
    }
}

/// Parses and resolves a run file into one plan per app.
pub fn load(path: &Path, inputs: &Inputs<'_>) -> Result<Vec<AppPlan>, RunFileError> {
    let file = absolute(&locate(path));
    let text =
        std::fs::read_to_string(&file).map_err(|source| RunFileError::Read { path: file.clone(), source })?;
    parse(&file, &text, inputs)
}

/// Resolves the text of run file `file` (an absolute path).
pub fn parse(file: &Path, text: &str, inputs: &Inputs<'_>) -> Result<Vec<AppPlan>, RunFileError> {
    let invalid = |field: &str, reason: String| RunFileError::Invalid {
        path: file.to_owned(),
        field: field.to_owned(),
        reason,
    };
    let raw: RawRunFile = serde_yaml_ng::from_str(text)
        .map_err(|e| RunFileError::Parse { path: file.to_owned(), message: e.to_string() })?;
    match &raw.version {
        None | Some(serde_yaml_ng::Value::Null) => {
            return Err(invalid(
                "version",
                "required field 'version' not found in the provided app config file".into(),
            ))
        }
        Some(serde_yaml_ng::Value::Number(n)) if n.as_i64() == Some(1) => {}
        Some(other) => {
            return Err(invalid(
                "version",
                format!("unsupported version {}: only version 1 is supported", yaml_text(other)),
            ))
        }
    }
    let base = file.parent().unwrap_or(Path::new("/")).to_owned();
    let common = raw.common.unwrap_or_default();
    let apps = raw.apps.unwrap_or_default();
    if apps.is_empty() {
        return Err(invalid("apps", "no apps listed: add at least one app with an appDirPath".into()));
    }
    let mut plans: Vec<AppPlan> = Vec::with_capacity(apps.len());
    for (i, app) in apps.iter().enumerate() {
        let plan = resolve_app(file, &base, i, app, &common, inputs)?;
        if let Some(j) = plans.iter().position(|p| p.sidecar.app_id == plan.sidecar.app_id) {
            return Err(invalid(
                &format!("apps[{i}].appID"),
                format!("duplicate app ID {:?} (also apps[{j}])", plan.sidecar.app_id),
            ));
        }
        plans.push(plan);
    }
    Ok(plans)
}

/// Resolves `apps[i]` into a plan: one named step per CLI rule (each documented on [`Entry`]),
/// in a fixed order, so an entry with several mistakes always reports the same one first.
fn resolve_app(
    file: &Path,
    base: &Path,
    i: usize,
    app: &RawApp,
    common: &RawApp,
    inputs: &Inputs<'_>,
) -> Result<AppPlan, RunFileError> {
    let entry = Entry { file, i, app, common };
    let app_dir = entry.app_dir(base)?;
    let user_env = entry.user_env();
    let mut cfg = SidecarConfig::new(entry.app_id(&app_dir), inputs.registry_path.to_owned());
    cfg.apply_env(|name| env_lookup(&user_env, inputs.inherited_env, name));
    cfg.environment = inputs.inherited_env.iter().chain(&user_env).cloned().collect();
    cfg.resources_paths = entry.resources_paths(&app_dir, base, inputs.home);
    cfg.config_files = entry.config_files(&app_dir, base, inputs.home)?;
    entry.apply_listen_addresses(&mut cfg)?;
    entry.apply_ports(&mut cfg)?;
    entry.check_protocol()?;
    entry.apply_channel_and_sizes(&mut cfg)?;
    cfg.app_health = entry.app_health()?;
    entry.check_log_destination()?;
    cfg.validate().map_err(|e| entry.invalid(&e.field, e.reason))?;
    let command = entry.command(&app_dir, &user_env)?;
    Ok(AppPlan { sidecar: cfg, command, app_protocol: "http".into() })
}

/// One `apps[i]` entry being resolved, with the `common` section it falls back on.
struct Entry<'a> {
    file: &'a Path,
    i: usize,
    app: &'a RawApp,
    common: &'a RawApp,
}

// === impl Entry ===

impl Entry<'_> {
    /// The error for key `name` of this entry (`apps[1].appPort`).
    fn invalid(&self, name: &str, reason: String) -> RunFileError {
        RunFileError::Invalid {
            path: self.file.to_owned(),
            field: format!("apps[{}].{name}", self.i),
            reason,
        }
    }

    /// `appDirPath`: required, relative to the run file, must be a folder.
    fn app_dir(&self, base: &Path) -> Result<PathBuf, RunFileError> {
        let dir_text = self.app.app_dir_path.clone().filter(|d| !d.trim().is_empty()).ok_or_else(|| {
            self.invalid(
                "appDirPath",
                "required field 'appDirPath' not found in the provided app config file".into(),
            )
        })?;
        let app_dir = normalize(&base.join(&dir_text));
        if !app_dir.is_dir() {
            return Err(self.invalid(
                "appDirPath",
                format!("{dir_text:?} is not a folder (resolved to {})", app_dir.display()),
            ));
        }
        Ok(app_dir)
    }

    /// `appID`: as written, else the base name of `appDirPath`.
    fn app_id(&self, app_dir: &Path) -> String {
        match self.app.app_id.clone().filter(|a| !a.is_empty()) {
            Some(id) => id,
            None => app_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        }
    }

    /// `env`: common's, overridden key by key by the app's (the inherited environment goes under
    /// both, in [`env_lookup`]).
    fn user_env(&self) -> Vec<(String, String)> {
        let mut user_env: Vec<(String, String)> = Vec::new();
        for env in [&self.common.env, &self.app.env].into_iter().flatten() {
            for (k, v) in env {
                user_env.retain(|(ek, _)| ek != k);
                user_env.push((k.clone(), v.text()));
            }
        }
        user_env
    }

    /// Resources: the app's own > `<appDir>/.dapr/resources` > common's > `~/.dapr/components`.
    fn resources_paths(&self, app_dir: &Path, base: &Path, home: Option<&Path>) -> Vec<ResourcesPath> {
        resources(self.app, app_dir)
            .or_else(|| {
                let dot = app_dir.join(".dapr").join("resources");
                dot.is_dir().then(|| vec![ResourcesPath { path: dot, required: true }])
            })
            .or_else(|| resources(self.common, base))
            .unwrap_or_else(|| default_resources(home))
    }

    /// The Configuration: the app's `configFilePath` (relative to `appDirPath`) >
    /// `<appDir>/.dapr/config.yaml` > common's (relative to the run file) > `~/.dapr/config.yaml`,
    /// the last one optional. A file the run file names must exist.
    fn config_files(
        &self,
        app_dir: &Path,
        base: &Path,
        home: Option<&Path>,
    ) -> Result<Vec<ConfigFile>, RunFileError> {
        let named =
            |text: &Option<String>, dir: &Path, field: String| -> Result<Option<PathBuf>, RunFileError> {
                let Some(t) = text.as_ref().filter(|t| !t.trim().is_empty()) else { return Ok(None) };
                let path = normalize(&dir.join(expand_home(t)));
                if !path.is_file() {
                    return Err(RunFileError::Invalid {
                        path: self.file.to_owned(),
                        field,
                        reason: format!("{t:?} is not a file (resolved to {})", path.display()),
                    });
                }
                Ok(Some(path))
            };
        let own = named(&self.app.config_file_path, app_dir, format!("apps[{}].configFilePath", self.i))?;
        let dot = Some(app_dir.join(".dapr").join("config.yaml")).filter(|p| p.is_file());
        let common = named(&self.common.config_file_path, base, "common.configFilePath".into())?;
        Ok(match own.or(dot).or(common) {
            Some(path) => vec![ConfigFile { path, required: true }],
            None => default_config(home),
        })
    }

    /// `apiListenAddresses` (app's over common's): comma-separated IPs. Unset, the stand-in's
    /// default, loopback.
    fn apply_listen_addresses(&self, cfg: &mut SidecarConfig) -> Result<(), RunFileError> {
        let Some(list) =
            self.app.api_listen_addresses.clone().or_else(|| self.common.api_listen_addresses.clone())
        else {
            return Ok(());
        };
        cfg.listen_addresses =
            config::parse_listen_addresses(&list).map_err(|e| self.invalid("apiListenAddresses", e))?;
        Ok(())
    }

    /// Ports: `appPort` (the app's own only), `daprHTTPPort` (0: a free one at bind time), and
    /// `daprGRPCPort` / `metricsPort` (a free one reserved now); ≤ 0 means unset.
    fn apply_ports(&self, cfg: &mut SidecarConfig) -> Result<(), RunFileError> {
        let (app, common) = (self.app, self.common);
        cfg.app_port = self.port("appPort", app.app_port)?;
        cfg.dapr_http_port =
            self.port("daprHTTPPort", app.dapr_http_port.or(common.dapr_http_port))?.unwrap_or(0);
        cfg.dapr_grpc_port = self.reserve("daprGRPCPort", app.dapr_grpc_port.or(common.dapr_grpc_port))?;
        cfg.metrics_port = self.reserve("metricsPort", app.metrics_port.or(common.metrics_port))?;
        Ok(())
    }

    /// A port key: `None` when unset or ≤ 0, an error above 65535.
    fn port(&self, name: &str, v: Option<i64>) -> Result<Option<u16>, RunFileError> {
        match v {
            None => Ok(None),
            Some(p) if p <= 0 => Ok(None),
            Some(p) if p <= 65535 => Ok(Some(p as u16)),
            Some(p) => Err(self.invalid(name, format!("{p} is not a port number (1-65535)"))),
        }
    }

    /// A port key that must end up with a port: the one written, or a free one.
    fn reserve(&self, name: &str, v: Option<i64>) -> Result<u16, RunFileError> {
        match self.port(name, v)? {
            Some(p) => Ok(p),
            None => config::free_port()
                .map_err(|e| self.invalid(name, format!("cannot reserve a free port: {e}"))),
        }
    }

    /// `appProtocol`: only `http` (the default) is served by the stand-in.
    fn check_protocol(&self) -> Result<(), RunFileError> {
        let protocol = self
            .app
            .app_protocol
            .clone()
            .or_else(|| self.common.app_protocol.clone())
            .unwrap_or_else(|| "http".into());
        match protocol.as_str() {
            "http" | "" => Ok(()),
            "https" | "h2c" | "grpc" | "grpcs" => Err(self.invalid(
                "appProtocol",
                format!("{protocol:?} is not supported by the local sidecar: only \"http\" is"),
            )),
            other => {
                Err(self
                    .invalid("appProtocol", format!("{other:?} is not one of http, https, h2c, grpc, grpcs")))
            }
        }
    }

    /// `appChannelAddress`, `maxBodySize` and `readBufferSize`, app's over common's.
    fn apply_channel_and_sizes(&self, cfg: &mut SidecarConfig) -> Result<(), RunFileError> {
        let (app, common) = (self.app, self.common);
        if let Some(addr) = app
            .app_channel_address
            .clone()
            .or_else(|| common.app_channel_address.clone())
            .filter(|a| !a.is_empty())
        {
            cfg.app_channel_address = addr;
        }
        // `maxBodySize` wins over the older `daprHTTPMaxRequestSize`, as daprd's flags do.
        if let Some(q) = app.max_body_size.as_ref().or(common.max_body_size.as_ref()) {
            let bytes =
                quantity::parse_bytes(&q.text()).map_err(|e| self.invalid("maxBodySize", e.to_string()))?;
            cfg.max_body_size = config::body_limit(bytes);
        } else if let Some(mb) = app.dapr_http_max_request_size.or(common.dapr_http_max_request_size) {
            cfg.max_body_size = config::body_limit_mb(mb);
        }
        if let Some(q) = app.read_buffer_size.as_ref().or(common.read_buffer_size.as_ref()) {
            cfg.read_buffer_size = quantity::parse_bytes(&q.text())
                .map_err(|e| self.invalid("readBufferSize", e.to_string()))?;
        }
        Ok(())
    }

    /// App health checks when `enableAppHealthCheck`; each setting app's over common's, > 0.
    fn app_health(&self) -> Result<Option<AppHealthConfig>, RunFileError> {
        let (app, common) = (self.app, self.common);
        if !app.enable_app_health_check.or(common.enable_app_health_check).unwrap_or(false) {
            return Ok(None);
        }
        let mut h = AppHealthConfig::default();
        if let Some(p) = app.app_health_check_path.clone().or_else(|| common.app_health_check_path.clone()) {
            h.path = p;
        }
        let positive = |name: &str, v: i64| -> Result<u64, RunFileError> {
            u64::try_from(v)
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| self.invalid(name, format!("{v} must be greater than 0")))
        };
        if let Some(v) = app.app_health_probe_interval.or(common.app_health_probe_interval) {
            h.interval = Duration::from_secs(positive("appHealthProbeInterval", v)?);
        }
        if let Some(v) = app.app_health_probe_timeout.or(common.app_health_probe_timeout) {
            h.timeout = Duration::from_millis(positive("appHealthProbeTimeout", v)?);
        }
        if let Some(v) = app.app_health_threshold.or(common.app_health_threshold) {
            h.threshold = u32::try_from(positive("appHealthThreshold", v)?).unwrap_or(u32::MAX);
        }
        Ok(Some(h))
    }

    /// `appLogDestination` (the app's own only): one of the CLI's three values.
    fn check_log_destination(&self) -> Result<(), RunFileError> {
        match self.app.app_log_destination.as_deref() {
            Some(dest) if !matches!(dest, "file" | "console" | "fileAndConsole") => Err(self.invalid(
                "appLogDestination",
                format!("{dest:?} is not one of file, console, fileAndConsole"),
            )),
            _ => Ok(()),
        }
    }

    /// `command` (the app's own only): run in `appDirPath` with the merged env; none when empty.
    fn command(
        &self,
        app_dir: &Path,
        user_env: &[(String, String)],
    ) -> Result<Option<AppCommand>, RunFileError> {
        match &self.app.command {
            Some(argv) if !argv.is_empty() => {
                if argv[0].trim().is_empty() {
                    return Err(self.invalid("command", "the first element (the program) is empty".into()));
                }
                Ok(Some(AppCommand { argv: argv.clone(), dir: app_dir.to_owned(), env: user_env.to_vec() }))
            }
            _ => Ok(None),
        }
    }
}

/// Looks `name` up as the app and its sidecar see it: the run file's env (app > common), then the
/// inherited environment. The sidecar reads its tokens and `NAMESPACE` from the same merged view
/// (deliberate: a run file can give one app, and its sidecar, a token).
fn env_lookup(user_env: &[(String, String)], inherited: &[(String, String)], name: &str) -> Option<String> {
    user_env
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .or_else(|| inherited.iter().rev().find(|(k, _)| k == name))
        .map(|(_, v)| v.clone())
}

/// An entry's resources folders (`resourcesPaths` plus the deprecated `resourcesPath`),
/// relative to `dir`; `None` when it names none.
fn resources(entry: &RawApp, dir: &Path) -> Option<Vec<ResourcesPath>> {
    let mut paths: Vec<String> = entry.resources_paths.clone().unwrap_or_default();
    if let Some(single) = &entry.resources_path {
        if !paths.contains(single) {
            paths.push(single.clone());
        }
    }
    let paths: Vec<ResourcesPath> = paths
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| ResourcesPath { path: normalize(&dir.join(expand_home(&p))), required: true })
        .collect();
    (!paths.is_empty()).then_some(paths)
}

/// The CLI's last resort for the Configuration: `~/.dapr/config.yaml`, which may be missing.
pub fn default_config(home: Option<&Path>) -> Vec<ConfigFile> {
    home.map(|h| vec![ConfigFile { path: h.join(".dapr").join("config.yaml"), required: false }])
        .unwrap_or_default()
}

/// The CLI's last resort: `~/.dapr/components`, which may be missing.
pub fn default_resources(home: Option<&Path>) -> Vec<ResourcesPath> {
    home.map(|h| vec![ResourcesPath { path: h.join(".dapr").join("components"), required: false }])
        .unwrap_or_default()
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        normalize(p)
    } else {
        normalize(&std::env::current_dir().unwrap_or_default().join(p))
    }
}

/// Lexically resolves `.` and `..` (like Go's `filepath.Abs`, without touching symlinks).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in p.components() {
        match part {
            PathPart::CurDir => {}
            PathPart::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn yaml_text(v: &serde_yaml_ng::Value) -> String {
    serde_yaml_ng::to_string(v).map(|s| s.trim().to_owned()).unwrap_or_else(|_| format!("{v:?}"))
}

#[cfg(test)]
mod tests;
