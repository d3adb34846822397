//! The command line, declared with clap: every argument has its help, and `--help` ends with the
//! exit codes ([`EXIT_CODES`]). `--url` is checked here, so a malformed one is a usage error
//! (exit 2) before anything is sent.

use std::fmt;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// The exit codes, as `--help` lists them (and README.md's "Operator CLI" section).
pub const EXIT_CODES: &str = "\
Exit codes (stable, for scripts):
  0  success
  1  any other failure (an answer keelctl cannot read, a local file)
  2  usage error: bad arguments, a malformed --url, a --url that is not keel's public port, or
     an id or JSON document the platform refused as malformed (400)
  3  not logged in, login refused, or token refused: run `keelctl login -u <user>`
  4  not allowed (403)
  5  not found (404)
  6  conflict (409): exists already, or in use (see `plugins unregister --force`)
  7  platform unavailable: keel unreachable, 502/503/504, the platform still starting, or
     `plugins register` still waiting for ACTIVE when --wait ran out
  8  `plugin check` found errors in the plugin (or warnings, with --strict)";

/// Operate a Keel platform through keel's public port: log in, register and unregister plugins,
/// see their health, manage users, tenants and roles.
#[derive(Debug, Parser)]
#[command(name = "keelctl", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// keel's public URL: scheme, host and port, e.g. http://127.0.0.1:8000 (not a sidecar's
    /// port, nor keel's app port).
    #[arg(long, env = "KEEL_URL", default_value = "http://127.0.0.1:8000", global = true,
          value_parser = KeelUrl::parse)]
    pub url: KeelUrl,
    /// How listings and records are printed: aligned text for people, JSON for scripts.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,
    /// Time limit for each request to keel, in seconds.
    #[arg(long, default_value_t = 30, global = true, value_name = "SECONDS")]
    pub timeout: u64,
    #[command(subcommand)]
    pub command: Command,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns and `field  value` lines, for people.
    Table,
    /// The records as JSON (keel_sdk::management's shapes), for scripts.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in (OAuth2 password grant) and store the token in
    /// ~/.config/keel/credentials.json, readable by you only.
    Login {
        /// Your user name.
        #[arg(long, short = 'u')]
        username: String,
        /// Your tenant (omit for the platform's super-admin and other platform users).
        #[arg(long)]
        tenant: Option<String>,
        /// Read the password from the first line of standard input instead of KEEL_PASSWORD.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Forget the stored token.
    Logout,
    /// Print the stored access token, e.g. for
    /// `curl -H "Authorization: Bearer $(keelctl token)" ...`.
    Token,
    /// Plugins: list, show, register, unregister; check one against the protocol before
    /// registering it (`plugin check`), write a new one (`plugin new`). `keelctl plugin ...`
    /// is the same command.
    #[command(visible_alias = "plugin")]
    Plugins {
        #[command(subcommand)]
        action: PluginsAction,
    },
    /// Every plugin's health at a glance: status, when it was last checked, and the failure of
    /// the latest check with its age (see `keelctl status --help`).
    #[command(long_about = STATUS_HELP)]
    Status,
    /// Console entries: where plugins' own web UIs appear in the console, with their owner and
    /// its status (docs/console.md).
    Console {
        /// Only entries of this type: 1 top bar, 2 plugin page tab, 3 operations tab.
        #[arg(long = "type", value_parser = clap::value_parser!(u8).range(1..=3))]
        kind: Option<u8>,
    },
    /// Hosted web services (platform admins): install a bundle, list, show, uninstall, restart,
    /// read their output.
    Hosting {
        #[command(subcommand)]
        action: HostingAction,
    },
    /// Users of your tenant (tenant admins).
    #[command(after_help = "The document of `users create`: \
        {\"username\": \"ann\", \"password\": \"...\", \"roles\": [\"user\"]} (roles optional, default [\"user\"]).")]
    Users {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Tenants (the super-admin; a tenant admin sees their own).
    #[command(after_help = "The document of `tenants create`: \
        {\"id\": \"acme\", \"name\": \"Acme\", \"admin\": {\"username\": \"boss\", \"password\": \"...\"}} \
        (name and admin optional).")]
    Tenants {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Roles of your tenant and the plugins each may call (tenant admins).
    #[command(after_help = "The document of `roles create`: \
        {\"name\": \"ops\", \"desc\": \"operators\", \"plugins\": [\"echo\"]} (desc and plugins optional; \
        \"*\" grants every plugin).")]
    Roles {
        #[command(subcommand)]
        action: AdminAction,
    },
}

/// `keelctl status --help`.
const STATUS_HELP: &str = "\
Every plugin's health at a glance: one line per registered plugin.

  STATUS      what the registry recorded: ACTIVE (receives traffic), STARTING, STOPPING, FAILED,
              STOPPED, or UNREACHABLE (checks failed several times in a row)
  LAST CHECK  how long ago the registry last checked the plugin's /v1/status (a registration
              is a check too)
  LAST ERROR  the failure of the latest check, with its age and how many checks in a row have
              failed, e.g. `4s ago (2 in a row): ...`; `-` when the latest check succeeded. An
              error recorded before the plugin's current registration is not shown: registering
              checked the plugin since.

Ages are measured against this machine's clock. `--output json` prints the registry's records
as they are (last_checked_at, last_error, consecutive_failures, ...).";

#[derive(Debug, Subcommand)]
pub enum PluginsAction {
    /// List registered plugins (every page).
    List,
    /// Show one plugin's record: status, checks, addon points and who implements them.
    Get {
        /// The plugin's id (its Dapr app-id).
        id: String,
    },
    /// Register a plugin that is already running behind its Dapr sidecar, then wait until it
    /// is ACTIVE.
    Register {
        /// The plugin's id: its Dapr app-id, which it must report as plugin_id in /v1/identify.
        id: String,
        /// Read the plugin's client secret (for auth's client-credentials grant) from the first
        /// line of standard input. Without it the plugin gets no client credentials.
        #[arg(long)]
        secret_stdin: bool,
        /// Wait until the plugin is ACTIVE, up to this many seconds (0: do not wait).
        #[arg(long, default_value_t = 30, value_name = "SECONDS")]
        wait: u64,
    },
    /// Unregister a plugin. Refused while other plugins implement its addon points, unless
    /// --force.
    Unregister {
        /// The plugin's id.
        id: String,
        /// Unregister it even while other plugins implement its addon points, removing their
        /// implementations.
        #[arg(long)]
        force: bool,
    },
    /// Check a running plugin against the protocol before registering it: each finding with
    /// its fix; exit 8 when errors are found (see `keelctl plugin check --help`).
    #[command(long_about = CHECK_HELP)]
    Check {
        /// The plugin: its app-id (reached through the local Dapr sidecar, DAPR_HTTP_PORT), or
        /// its app port's URL, http://host:port (reached directly).
        target: String,
        /// With a URL: the app-id the plugin will run under, which its plugin_id must equal.
        #[arg(long, value_name = "ID")]
        app_id: Option<String>,
        /// With a URL: the app API token the plugin requires, sent as its sidecar would
        /// (dapr-api-token).
        #[arg(long, env = "APP_API_TOKEN", hide_env_values = true, value_name = "TOKEN")]
        app_token: Option<String>,
        /// Warnings fail the check too (exit 8).
        #[arg(long)]
        strict: bool,
    },
    /// Write a new plugin that works as written: Rust with the kit (keel_sdk::plugin) or
    /// Python with FastAPI and the Dapr SDK, with its run line (dapr.yaml), a README and a test.
    New {
        /// The plugin's id, its Dapr app-id: lower-case letters, digits and '-'.
        id: String,
        /// The language: rust (the kit) or python (FastAPI and the Dapr SDK).
        #[arg(long, value_enum)]
        lang: Lang,
        /// Where to write it (default: ./<id>); it must not exist, or be empty.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Rust: the keel-sdk crate (the sdk/ folder of a Keel checkout) to depend on by path
        /// (default: the checkout this keelctl was built from).
        #[arg(long, value_name = "PATH")]
        sdk_path: Option<PathBuf>,
        /// The app port in its run line and README.
        #[arg(long, default_value_t = 3120, value_name = "PORT")]
        app_port: u16,
        /// Its sidecar's HTTP port in its run line and README.
        #[arg(long, default_value_t = 3520, value_name = "PORT")]
        dapr_http_port: u16,
    },
}

/// The languages `plugin new` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust, with the kit (keel_sdk::plugin).
    Rust,
    /// Python, with FastAPI and the official Dapr SDK.
    Python,
}

/// `keelctl plugin check --help`.
const CHECK_HELP: &str = "\
Runs the plugin protocol (platform.md §2) against a plugin before anyone registers it, the way
the registry will, and prints each finding with its severity and the fix:

  identify  GET /v1/identify: HTTP 200, JSON, the {\"ret\", \"msg\"} envelope, the registry's own
            validation (id syntax, semver, points, implementations), plugin_id equal to the
            app-id, keel_version against this keelctl's platform version, tKeel's aliases used,
            misspelt fields
  addons    POST /v1/addons/identify with a synthetic implementer (keelctl-check) of every
            point, when the plugin offers points, then with a body that is not a request
  status    GET /v1/status three times: HTTP 200, envelope, a known status, ACTIVE, answer times
  errors    an unknown path (an error answer carries the envelope) and a 1 MiB body (answered
            within 5 s), after which /v1/status must still answer

Every call has a time limit: the registry's defaults (identify and addons identify 5 s, status
2 s), and 5 s for the error probes; an answer slower than half its limit is a warning.

An app-id is reached by service invocation through the local Dapr sidecar (DAPR_HTTP_PORT,
default 3500, or DAPR_HTTP_ENDPOINT; DAPR_API_TOKEN when it wants one), whose access policy
must let its app call the plugin. A URL (http://127.0.0.1:3110) is the plugin's own app port,
called directly (with --app-token when the app wants its sidecar's token).

Exit code: 0 when there are no errors (warnings do not fail unless --strict), 8 when there are.
--output json prints the report (target, via, checked, findings with severity, check, message
and fix, errors, warnings).";

#[derive(Debug, Subcommand)]
pub enum HostingAction {
    /// List installed services: status, version, route, restarts, last exit.
    List,
    /// Show one service.
    Get {
        /// The bundle's `service.app_id`.
        app_id: String,
    },
    /// Install a bundle (a folder holding plugin.yaml and workspace/, or its .tar.gz); the same
    /// app_id with another version is an upgrade.
    Install {
        /// The bundle's folder or archive.
        bundle: std::path::PathBuf,
    },
    /// Stop a service and remove it.
    Uninstall {
        /// The bundle's `service.app_id`.
        app_id: String,
    },
    /// Start a FAILED service again.
    Restart {
        /// The bundle's `service.app_id`.
        app_id: String,
    },
    /// Print a service's output (stdout and stderr of its start script and process).
    Logs {
        /// The bundle's `service.app_id`.
        app_id: String,
        /// How many of the last lines to print.
        #[arg(long, default_value_t = 100, value_name = "LINES")]
        tail: usize,
        /// Keep printing what the service writes, until interrupted or the service is
        /// uninstalled (then exit 0).
        #[arg(long, short = 'f')]
        follow: bool,
        /// Read the seed's nohup.out in the service's workspace instead.
        #[arg(long)]
        nohup: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// List them.
    List,
    /// Show one.
    Get {
        /// A user's name, a tenant's id or a role's name.
        id: String,
    },
    /// Create one from a JSON document (see below for its fields).
    Create {
        /// The JSON document, or `-` to read it from the first line of standard input (use `-`
        /// when it holds a password, so the password stays out of the shell's history).
        json: String,
    },
    /// Delete one.
    Delete {
        /// A user's name, a tenant's id or a role's name.
        id: String,
    },
}

/// keel's public URL, checked: `http` or `https`, a host, no query, fragment or credentials, and
/// not a path into keel's routes. Kept without a trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeelUrl(String);

// === impl KeelUrl ===

impl KeelUrl {
    /// Checks `s`; the error says what to type instead.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let parsed = match url::Url::parse(s) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            // `localhost:8000` parses as the scheme `localhost`; `127.0.0.1:8000` does not parse.
            Ok(_) | Err(url::ParseError::RelativeUrlWithoutBase) if !s.contains("://") => {
                return Err(format!("{s:?} has no scheme: did you mean http://{s} ?"))
            }
            Ok(u) => return Err(format!("{s:?}: keel's URL is http:// or https://, not {}://", u.scheme())),
            Err(e) => return Err(format!("{s:?} is not a URL: {e}")),
        };
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(format!("{s:?} has no host"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(format!("{s:?}: give credentials with `keelctl login`, not in the URL"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(format!("{s:?}: keel's URL takes no query or fragment"));
        }
        let path = parsed.path().trim_end_matches('/');
        if path == "/apis" || path.contains("/apis/") || path.ends_with("/apis") {
            let base = &parsed.as_str()[..parsed.as_str().len() - parsed.path().len()];
            return Err(format!("{s:?}: give keel's base URL (e.g. {base}); keelctl adds /apis/... itself"));
        }
        Ok(Self(parsed.as_str().trim_end_matches('/').to_owned()))
    }

    /// The URL, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeelUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests;
