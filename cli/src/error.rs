//! What can go wrong, and the exit code each maps to.

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// keel could not be reached or timed out.
    #[error("cannot reach keel at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The platform answered with an error.
    #[error("{what}: HTTP {status}: {msg}")]
    Api { what: String, status: u16, msg: String },
    /// auth refused the login (wrong user name or password, unknown client).
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
    /// Local I/O (credentials file, standard input).
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// The documented exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage(_) => 2,
            Self::NotLoggedIn | Self::LoginRefused(_) => 3,
            Self::Api { status: 401, .. } => 3,
            Self::Api { status: 403, .. } => 4,
            Self::Api { status: 404, .. } => 5,
            Self::Api { status: 409, .. } => 6,
            Self::Api { status: 502..=504, .. } | Self::Unreachable { .. } | Self::WaitTimedOut(_) => 7,
            Self::Api { .. } | Self::Io { .. } => 1,
        }
    }
}
