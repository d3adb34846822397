//! The Keel plugin protocol (`../shared/spec/platform.md` §2): what every plugin serves on its app
//! port, the `{"ret","msg"}` envelope, plugin ids and versions, and their validation.
//!
//! Input types accept the names the 2021 Go original (tKeel) used as aliases, so its plugins keep
//! working; output always uses Keel's own names.

pub mod addons;
pub mod console;
pub mod envelope;
pub mod errors;
pub mod headers;
pub mod identify;
pub mod ids;
pub mod routes;
pub mod status;
pub mod tenant;
pub mod version;

pub use addons::{AddonsIdentifyRequest, ImplementedEndpoint, PluginRef};
pub use console::{console_group, ConsoleEntry, ConsoleError, CONSOLE_PREFIX, MAX_CONSOLE_ENTRIES};
pub use envelope::{Envelope, Reply};
pub use errors::{Code, ErrorBody, Fault, PlatformError};
pub use identify::{
    check_document_size, is_relative_endpoint, AddonPoint, Dependency, Identify, IdentifyError, MainPlugin,
    PlatformTooOld, PointImpl, ValidIdentify, MAX_DESC_LEN, MAX_ENTRIES, MAX_FIELD_LEN, MAX_IDENTIFY_BYTES,
    MAX_TIMEOUT_MS,
};
pub use ids::{
    IdError, PluginId, AUTH_APP_ID, CORE_APP_IDS, HOSTING_APP_ID, KEEL_APP_ID, REGISTRY_APP_ID, RESERVED_IDS,
};
pub use routes::{
    AddonTarget, ConsoleRoute, ConsoleSource, PushedEndpoint, PushedRoute, RouteEntry, RouteTable,
    RoutesVersion, ROUTES_KEY, ROUTES_VERSION_KEY, STATE_STORE,
};
pub use status::{PluginStatus, StatusResponse};
pub use tenant::TenantHook;
pub use version::{parse_version, parse_version_req, VersionError};

/// The platform version this build of Keel implements; plugins state the version they need in
/// `keel_version` and registration refuses them when it is newer (major.minor compared).
pub const KEEL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Paths every plugin serves (relative to its app port).
pub mod paths {
    /// `GET`: who the plugin is and what it offers and implements.
    pub const IDENTIFY: &str = "v1/identify";
    /// `GET`: the plugin's own view of its health.
    pub const STATUS: &str = "v1/status";
    /// `POST`: another plugin asks to implement one of this plugin's addon points.
    pub const ADDONS_IDENTIFY: &str = "v1/addons/identify";
    /// `POST` (optional): a tenant enabled the plugin ([`super::TenantHook`]).
    pub const TENANT_ENABLE: &str = "v1/tenant/enable";
    /// `POST` (optional): a tenant disabled the plugin ([`super::TenantHook`]).
    pub const TENANT_DISABLE: &str = "v1/tenant/disable";
}
