//! `POST /v1/addons/identify`: sent to an extended plugin when another plugin registers as the
//! implementer of its points. The extended plugin answers `{"ret":0}` to accept.

use serde::{Deserialize, Serialize};

/// Who wants to implement the points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginRef {
    /// The implementing plugin's id.
    pub id: String,
    /// Its version.
    pub version: String,
}

/// One (point, endpoint) pair the implementer offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImplementedEndpoint {
    /// The extended plugin's point name. Alias on input: `addons`.
    #[serde(alias = "addons")]
    pub addons_point: String,
    /// The implementer's endpoint for it.
    pub endpoint: String,
}

/// The request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddonsIdentifyRequest {
    /// The implementing plugin.
    pub plugin: PluginRef,
    /// What it implements.
    #[serde(default)]
    pub endpoint: Vec<ImplementedEndpoint>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_shape_round_trips() {
        let v = json!({"plugin": {"id": "acme-mailer", "version": "1.2.0"},
            "endpoint": [{"addons_point": "before-notify", "endpoint": "hooks/before-notify"}]});
        let r: AddonsIdentifyRequest = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(r.endpoint[0].addons_point, "before-notify");
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
    }
}
