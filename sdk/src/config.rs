//! Service configuration with the `config` crate: defaults, then an optional file, then `KEEL_*`
//! environment variables (`KEEL_POLL_INTERVAL_MS=2000`; nested keys use `__`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The environment variable naming an optional configuration file (TOML, YAML or JSON).
pub const CONFIG_FILE_ENV: &str = "KEEL_CONFIG";

/// Why configuration could not be loaded; names the source. The `config` crate's error is boxed:
/// it is large, and every service's start-up returns this.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file is missing or malformed.
    #[error("configuration file {path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: Box<config::ConfigError>,
    },
    /// A value (from the file or a `KEEL_*` variable) has the wrong type or is unknown.
    #[error("configuration: {0}")]
    Invalid(#[source] Box<config::ConfigError>),
}

/// Loads `T`: its `Default`, overridden by `file` (or the file named by `KEEL_CONFIG`), overridden
/// by `KEEL_*` environment variables.
pub fn load<T: DeserializeOwned + Serialize + Default>(file: Option<&Path>) -> Result<T, ConfigError> {
    let env_file = std::env::var_os(CONFIG_FILE_ENV).map(PathBuf::from);
    load_from(file.map(Path::to_path_buf).or(env_file), config::Environment::with_prefix("KEEL"))
}

/// [`load`] with an explicit environment source (tests pass a map instead of mutating the
/// process environment).
pub fn load_from<T: DeserializeOwned + Serialize + Default>(
    file: Option<PathBuf>,
    env: config::Environment,
) -> Result<T, ConfigError> {
    let defaults = config::Config::try_from(&T::default()).map_err(|e| ConfigError::Invalid(Box::new(e)))?;
    let mut builder = config::Config::builder().add_source(defaults);
    if let Some(path) = &file {
        // Read the file here so a missing or malformed file is reported with its path.
        let one = config::Config::builder()
            .add_source(config::File::from(path.as_path()).required(true))
            .build()
            .map_err(|e| ConfigError::File { path: path.clone(), source: Box::new(e) })?;
        builder = builder.add_source(one);
    }
    let env = env.prefix_separator("_").separator("__").try_parsing(true);
    builder
        .add_source(env)
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| ConfigError::Invalid(Box::new(e)))
}

/// The address an app listens on under `dapr run`: 127.0.0.1 and `APP_PORT` (port 0, any free
/// port, when unset).
pub fn app_listen_addr() -> SocketAddr {
    let port = std::env::var("APP_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(0);
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::HashMap;
    use std::io::Write;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(default)]
    struct Demo {
        listen: String,
        poll_interval_ms: u64,
        name: String,
    }

    impl Default for Demo {
        fn default() -> Self {
            Self { listen: "127.0.0.1:0".into(), poll_interval_ms: 5000, name: "d".into() }
        }
    }

    fn env(pairs: &[(&str, &str)]) -> config::Environment {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        config::Environment::with_prefix("KEEL").source(Some(map))
    }

    #[test]
    fn defaults_then_file_then_environment() {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        writeln!(f, "poll_interval_ms = 100\nname = \"file\"").unwrap();
        let c: Demo = load_from(Some(f.path().into()), env(&[("KEEL_NAME", "env")])).unwrap();
        assert_eq!(c, Demo { listen: "127.0.0.1:0".into(), poll_interval_ms: 100, name: "env".into() });
        let c: Demo = load_from(None, env(&[])).unwrap();
        assert_eq!(c, Demo::default());
    }

    #[test]
    fn bad_values_and_files_are_reported_with_their_source() {
        let err = load_from::<Demo>(None, env(&[("KEEL_POLL_INTERVAL_MS", "soon")])).unwrap_err();
        assert!(err.to_string().contains("poll_interval_ms"), "{err}");
        let err = load_from::<Demo>(Some("/nonexistent/keel.toml".into()), env(&[])).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/keel.toml"), "{err}");
    }
}
