//! `GET /v1/status`: a plugin's own view of its health, and the statuses the registry records.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A plugin's status. Plugins report the first five; the registry adds `UNREACHABLE` when a
/// plugin stops answering. Only `ACTIVE` plugins receive routed traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PluginStatus {
    /// Serving.
    Active,
    /// Not ready yet.
    Starting,
    /// Shutting down.
    Stopping,
    /// Broken by its own account.
    Failed,
    /// Tolerated from tKeel-era plugins; treated like `STOPPING`.
    Stopped,
    /// Recorded by the registry after consecutive failed polls; never reported by a plugin.
    Unreachable,
}

impl PluginStatus {
    /// All variants, in declaration order.
    pub const ALL: [PluginStatus; 6] =
        [Self::Active, Self::Starting, Self::Stopping, Self::Failed, Self::Stopped, Self::Unreachable];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Starting => "STARTING",
            Self::Stopping => "STOPPING",
            Self::Failed => "FAILED",
            Self::Stopped => "STOPPED",
            Self::Unreachable => "UNREACHABLE",
        }
    }

    /// True for the only status that receives traffic.
    pub fn is_active(self) -> bool {
        self == Self::Active
    }
}

impl fmt::Display for PluginStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown status string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}: expected ACTIVE, STARTING, STOPPING or FAILED")]
pub struct UnknownStatus(pub String);

impl FromStr for PluginStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// The body of `GET /v1/status` (without the envelope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResponse {
    /// The plugin's status.
    pub status: PluginStatus,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Reply;

    #[test]
    fn statuses_round_trip_through_their_wire_names() {
        for s in PluginStatus::ALL {
            assert_eq!(s.as_str().parse::<PluginStatus>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert!("active".parse::<PluginStatus>().unwrap().is_active());
        assert!("sleeping".parse::<PluginStatus>().unwrap_err().to_string().contains("sleeping"));
    }

    #[test]
    fn status_reply_parses() {
        let r: Reply<StatusResponse> =
            serde_json::from_str(r#"{"ret":0,"msg":"ok","status":"FAILED"}"#).unwrap();
        assert_eq!(r.body.status, PluginStatus::Failed);
    }
}
