//! `POST /v1/tenant/enable` and `POST /v1/tenant/disable` (optional; `platform.md` §9, tKeel's
//! tenant hooks): the registry tells a plugin that a tenant enabled or disabled it, so the plugin
//! can set up or tear down what it keeps per tenant. A plugin that keeps nothing per tenant need
//! not serve them: a 404 is taken as "nothing to do". Any other answer than 2xx with `ret == 0`
//! refuses the enabling.

use serde::{Deserialize, Serialize};

/// The body of both hooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantHook {
    /// The tenant that enabled or disabled the plugin.
    pub tenant_id: String,
    /// Whatever the admin passed when enabling (`null` when nothing; always `null` on disable).
    #[serde(default)]
    pub extra: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_hook_body_is_tkeels_shape() {
        let hook = TenantHook { tenant_id: "acme".into(), extra: json!({"seats": 5}) };
        assert_eq!(serde_json::to_value(&hook).unwrap(), json!({"tenant_id": "acme", "extra": {"seats": 5}}));
        let bare: TenantHook = serde_json::from_value(json!({"tenant_id": "acme"})).unwrap();
        assert_eq!(bare.extra, serde_json::Value::Null);
    }
}
