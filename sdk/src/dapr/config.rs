//! Where the sidecar is and how to authenticate to it, read from the environment the way the
//! official Dapr SDKs read it.

use std::time::Duration;

/// Default sidecar HTTP port when `DAPR_HTTP_PORT` is unset (daprd's default).
pub const DEFAULT_HTTP_PORT: u16 = 3500;
/// Default time limit for one call to the sidecar's own APIs (state, health, metadata).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach the sidecar.
#[derive(Clone, PartialEq, Eq)]
pub struct SidecarConfig {
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:3500`.
    pub endpoint: String,
    /// Sent as `dapr-api-token` on every call when set (`DAPR_API_TOKEN`).
    pub api_token: Option<String>,
    /// Time limit for one API call (state, metadata, buffered invocations).
    pub timeout: Duration,
}

impl std::fmt::Debug for SidecarConfig {
    // The token is a secret: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SidecarConfig")
            .field("endpoint", &self.endpoint)
            .field("api_token", &self.api_token.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Default for SidecarConfig {
    fn default() -> Self {
        Self::from_lookup(|_| None)
    }
}

impl SidecarConfig {
    /// Reads `DAPR_HTTP_ENDPOINT` (wins when set), else `DAPR_HTTP_PORT` on 127.0.0.1, and
    /// `DAPR_API_TOKEN`, like the official SDKs.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Same as [`Self::from_env`] with an explicit lookup (tests never mutate the process env).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let nonempty = |k: &str| get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let endpoint = match nonempty("DAPR_HTTP_ENDPOINT") {
            Some(e) => e.trim_end_matches('/').to_owned(),
            None => {
                let port =
                    nonempty("DAPR_HTTP_PORT").and_then(|p| p.parse().ok()).unwrap_or(DEFAULT_HTTP_PORT);
                format!("http://127.0.0.1:{port}")
            }
        };
        Self { endpoint, api_token: nonempty("DAPR_API_TOKEN"), timeout: DEFAULT_TIMEOUT }
    }

    /// Overrides the per-call time limit.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> SidecarConfig {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        SidecarConfig::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_to_daprd_port_on_loopback() {
        assert_eq!(cfg(&[]).endpoint, "http://127.0.0.1:3500");
        assert_eq!(cfg(&[]).api_token, None);
    }

    #[test]
    fn port_and_endpoint_are_honoured_endpoint_first() {
        assert_eq!(cfg(&[("DAPR_HTTP_PORT", "3999")]).endpoint, "http://127.0.0.1:3999");
        let c = cfg(&[("DAPR_HTTP_PORT", "3999"), ("DAPR_HTTP_ENDPOINT", "http://side:4000/")]);
        assert_eq!(c.endpoint, "http://side:4000");
        assert_eq!(cfg(&[("DAPR_HTTP_PORT", "nope")]).endpoint, "http://127.0.0.1:3500");
    }

    #[test]
    fn token_is_read_but_never_printed() {
        let c = cfg(&[("DAPR_API_TOKEN", "s3cret")]);
        assert_eq!(c.api_token.as_deref(), Some("s3cret"));
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
