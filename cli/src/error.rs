//! What can go wrong, and the exit code each maps to ([`exit`], listed by `--help`).

use keel_sdk::protocol::errors::Code;
use keel_sdk::protocol::CORE_APP_IDS;

/// The documented exit codes.
pub mod exit {
    /// Any other failure.
    pub const OTHER: i32 = 1;
    /// Bad arguments, a malformed `--url`, a `--url` that is not keel's public port, or a request
    /// the platform refused as malformed (400: an id or a document given on the command line).
    pub const USAGE: i32 = 2;
    /// Not logged in, login refused, token refused (401).
    pub const AUTH: i32 = 3;
    /// Not allowed (403).
    pub const FORBIDDEN: i32 = 4;
    /// Not found (404).
    pub const NOT_FOUND: i32 = 5;
    /// Conflict (409).
    pub const CONFLICT: i32 = 6;
    /// The platform is unreachable, unavailable or still starting.
    pub const UNAVAILABLE: i32 = 7;
    /// `plugin check` found errors (or warnings, with `--strict`).
    pub const CHECK_FAILED: i32 = 8;
}

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// keel could not be reached or timed out.
    #[error("cannot reach keel at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The platform refused the request.
    #[error("{0}")]
    Refused(Box<Refusal>),
    /// `--url` answers, but it is not keel's public port (a sidecar's, keel's app port, another
    /// server).
    #[error("{url} is not keel's public port: {hint}")]
    NotKeel { url: String, hint: String },
    /// A successful answer that is not the record asked for.
    #[error("{what} answered something keelctl cannot read ({reason}); is --url keel's public port, and keelctl as new as the platform?")]
    Unreadable { what: String, reason: String },
    /// auth refused the login (wrong user name or password, disabled user).
    #[error("login refused: {0}")]
    LoginRefused(String),
    /// No stored token.
    #[error("not logged in: run `keelctl login -u <user>` first")]
    NotLoggedIn,
    /// Waiting for a plugin to become ACTIVE ran out of time.
    #[error("{0}")]
    WaitTimedOut(String),
    /// Bad input on the command line or in a file.
    #[error("{0}")]
    Usage(String),
    /// `plugin check` found what it reports.
    #[error("the plugin does not pass the check ({}, {}; see above)", crate::check::report::plural(*errors, "error"), crate::check::report::plural(*warnings, "warning"))]
    CheckFailed { errors: usize, warnings: usize },
    /// Local I/O (credentials file, standard input).
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// A refusal from the platform, in the CLI's words: the platform's message with the API's
/// parameters replaced by keelctl's flags, its catalogue code, and what to do about it when
/// keelctl knows better than the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// What the platform said, translated ([`crate::refusal::translate`]).
    pub msg: String,
    /// The catalogue name (`ERR_...`), when the answer had one.
    pub code: Option<String>,
    /// The plugin the refusal is about, when it said.
    pub plugin: Option<String>,
    /// The core service the request was addressed to (`plugins`, `auth`).
    pub target: String,
    /// What to do, when keelctl can say more than the message.
    pub advice: Option<String>,
}

// === impl CliError ===

impl CliError {
    /// The documented exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage(_) | Self::NotKeel { .. } => exit::USAGE,
            Self::NotLoggedIn | Self::LoginRefused(_) => exit::AUTH,
            Self::Refused(r) => r.exit_code(),
            Self::Unreachable { .. } | Self::WaitTimedOut(_) => exit::UNAVAILABLE,
            Self::Unreadable { .. } | Self::Io { .. } => exit::OTHER,
            Self::CheckFailed { .. } => exit::CHECK_FAILED,
        }
    }

    /// Adds `advice` to a refusal with `code` that has none, unless its message already
    /// mentions `unless_mentioned` (the platform's own words may say it already).
    pub fn advise(mut self, code: Code, unless_mentioned: &str, advice: impl FnOnce() -> String) -> Self {
        if let Self::Refused(r) = &mut self {
            if r.is(code) && r.advice.is_none() && !r.msg.contains(unless_mentioned) {
                r.advice = Some(advice());
            }
        }
        self
    }
}

// === impl Refusal ===

impl Refusal {
    /// True when the refusal carries catalogue code `code`.
    pub fn is(&self, code: Code) -> bool {
        self.code.as_deref() == Some(code.name())
    }

    /// True when the refusal is keel's about the core service the request was for: keel has no
    /// route to it yet, or it is down. Then the platform, not the thing asked for, is missing.
    pub fn is_about_target(&self) -> bool {
        self.plugin.as_deref() == Some(self.target.as_str()) && CORE_APP_IDS.contains(&self.target.as_str())
    }

    /// The exit code: by HTTP status (a 400 is the command line's fault: the id or document it
    /// gave), except that the platform's own registry or auth being unknown to keel (still
    /// starting) is "unavailable", not "not found".
    pub fn exit_code(&self) -> i32 {
        if self.is(Code::UnknownPlugin) && self.is_about_target() {
            return exit::UNAVAILABLE;
        }
        match self.status {
            400 => exit::USAGE,
            401 => exit::AUTH,
            403 => exit::FORBIDDEN,
            404 => exit::NOT_FOUND,
            409 => exit::CONFLICT,
            502..=504 => exit::UNAVAILABLE,
            _ => exit::OTHER,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (HTTP {}", self.msg, self.status)?;
        if let Some(code) = &self.code {
            write!(f, ", {code}")?;
        }
        f.write_str(")")?;
        if let Some(advice) = &self.advice {
            write!(f, "\n  hint: {advice}")?;
        }
        Ok(())
    }
}

impl From<Refusal> for CliError {
    fn from(r: Refusal) -> Self {
        Self::Refused(Box::new(r))
    }
}
