//! The command line, declared with clap.

use clap::{Parser, Subcommand, ValueEnum};

/// Operate a Keel platform through keel's public port.
#[derive(Debug, Parser)]
#[command(name = "keelctl", version, about)]
pub struct Cli {
    /// keel's public URL.
    #[arg(long, env = "KEEL_URL", default_value = "http://127.0.0.1:8000", global = true)]
    pub url: String,
    /// Output format of listings and records.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,
    /// Time limit for each request, in seconds.
    #[arg(long, default_value_t = 30, global = true)]
    pub timeout: u64,
    #[command(subcommand)]
    pub command: Command,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns for people.
    Table,
    /// JSON for scripts.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in and store the token (owner-only file in the config directory).
    Login {
        /// User name.
        #[arg(long, short = 'u')]
        username: String,
        /// Tenant of the user (omit for the platform's super-admin).
        #[arg(long)]
        tenant: Option<String>,
        /// Read the password from standard input instead of KEEL_PASSWORD.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Forget the stored token.
    Logout,
    /// Print the stored access token (for `curl -H "Authorization: Bearer $(keelctl token)"`).
    Token,
    /// Registered plugins.
    Plugins {
        #[command(subcommand)]
        action: PluginsAction,
    },
    /// Every plugin's health at a glance.
    Status,
    /// Users of your tenant.
    Users {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Tenants (super-admin).
    Tenants {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Roles of your tenant.
    Roles {
        #[command(subcommand)]
        action: AdminAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum PluginsAction {
    /// List registered plugins.
    List,
    /// Show one plugin's record.
    Get { id: String },
    /// Register a plugin that is already running behind its sidecar.
    Register {
        id: String,
        /// Read the plugin's secret from standard input.
        #[arg(long)]
        secret_stdin: bool,
        /// Wait until the plugin is ACTIVE (up to this many seconds).
        #[arg(long, default_value_t = 30)]
        wait: u64,
    },
    /// Unregister a plugin.
    Unregister {
        id: String,
        /// Also when other plugins implement its addon points.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// List them.
    List,
    /// Show one.
    Get { id: String },
    /// Create one from a JSON document (`-` reads standard input).
    Create { json: String },
    /// Delete one.
    Delete { id: String },
}
