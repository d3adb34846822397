//! The declaration a plugin author writes: id, version, the platform version needed, the addon
//! points offered and implemented, public endpoints, and who judges `/v1/addons/identify`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::protocol::{
    AddonPoint, AddonsIdentifyRequest, Dependency, Identify, IdentifyError, MainPlugin, PointImpl,
    ValidIdentify,
};

use super::StatusHandle;
use crate::service::AppToken;

/// The future an addons judge returns: `Ok(())` accepts, `Err(msg)` refuses with `msg`.
pub type JudgeFuture = Pin<Box<dyn Future<Output = Result<(), String>> + 'static>>;
/// Decides whether another plugin may implement this plugin's points.
pub type AddonsJudge = Arc<dyn Fn(AddonsIdentifyRequest) -> JudgeFuture + Send + Sync>;

/// A plugin's declaration, built step by step and checked by [`PluginSpec::build`].
pub struct PluginSpec {
    identify: Identify,
    status: StatusHandle,
    judge: Option<AddonsJudge>,
    app_token: AppToken,
}

impl PluginSpec {
    /// A plugin `id` at `version`, needing the platform's current major.minor, reporting `ACTIVE`
    /// and checking `APP_API_TOKEN` from the environment when set.
    pub fn new(id: impl Into<String>, version: impl Into<String>) -> Self {
        let platform =
            semver::Version::parse(crate::protocol::KEEL_VERSION).expect("crate version is semver");
        Self {
            identify: Identify {
                plugin_id: id.into(),
                version: version.into(),
                keel_version: format!("{}.{}", platform.major, platform.minor),
                ..Identify::default()
            },
            status: StatusHandle::default(),
            judge: None,
            app_token: AppToken::from_env(),
        }
    }

    /// The platform version this plugin needs (major.minor compared at registration).
    pub fn keel_version(mut self, version: impl Into<String>) -> Self {
        self.identify.keel_version = version.into();
        self
    }

    /// Offers an addon point other plugins may implement; call it through
    /// [`super::KeelClient::call_addon`].
    pub fn addon_point(mut self, name: impl Into<String>, desc: impl Into<String>) -> Self {
        self.identify.addons.push(AddonPoint { endpoint: name.into(), desc: desc.into() });
        self
    }

    /// Implements points of plugin `plugin_id` (written against `version_req`, e.g. `"1.0"`):
    /// each pair is (the point's name, the endpoint on this plugin that implements it).
    pub fn implements(mut self, plugin_id: &str, version_req: &str, points: &[(&str, &str)]) -> Self {
        self.identify.main_plugin.push(MainPlugin {
            id: plugin_id.to_owned(),
            version: version_req.to_owned(),
            endpoints: points
                .iter()
                .map(|(p, e)| PointImpl { addons: (*p).to_owned(), endpoint: (*e).to_owned() })
                .collect(),
        });
        self
    }

    /// Needs plugin `plugin_id` in `version_req` (identify's `dependence`): a tenant enabling this
    /// plugin enables that one too.
    pub fn depends_on(mut self, plugin_id: &str, version_req: &str) -> Self {
        self.identify
            .dependence
            .push(Dependency { id: plugin_id.to_owned(), version: version_req.to_owned() });
        self
    }

    /// Declares an endpoint reachable from keel's public port without a token.
    pub fn public_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.identify.public_endpoints.push(endpoint.into());
        self
    }

    /// Asks keel to wait up to `ms` for this plugin's answers instead of its default.
    pub fn timeout_ms(mut self, ms: u64) -> Self {
        self.identify.timeout_ms = Some(ms);
        self
    }

    /// Uses `status` as the source of `/v1/status`; keep a clone to change it at run time.
    pub fn status(mut self, status: StatusHandle) -> Self {
        self.status = status;
        self
    }

    /// Judges `POST /v1/addons/identify`: without a judge every implementer is accepted.
    pub fn on_addons_identify<F, Fut>(mut self, judge: F) -> Self
    where
        F: Fn(AddonsIdentifyRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + 'static,
    {
        self.judge = Some(Arc::new(move |req| Box::pin(judge(req))));
        self
    }

    /// Overrides the app API token the kit requires on every request (`None` disables the check;
    /// the default is `APP_API_TOKEN` from the environment).
    pub fn app_token(mut self, token: Option<String>) -> Self {
        self.app_token = AppToken::new(token);
        self
    }

    /// Adds an entry of the plugin's own web UI to the console (issue 16, `docs/console.md`):
    /// `kind` 1 (top bar), 2 (a tab on each plugin's page) or 3 (the operations page); `path` under
    /// `/plugins/<plugin id>/` (served by the plugin, proxied by keel), or an `http(s)://` URL with
    /// `external`. Checked by [`PluginSpec::build`].
    pub fn console_entry(mut self, entry: crate::protocol::ConsoleEntry) -> Self {
        self.identify.console.push(entry);
        self
    }

    /// Validates the declaration with the same rules registration applies.
    pub fn build(self) -> Result<super::Plugin, IdentifyError> {
        let valid: ValidIdentify = self.identify.validate()?;
        Ok(super::Plugin::new(valid.doc, self.status, self.judge, self.app_token))
    }
}
