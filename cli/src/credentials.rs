//! The stored login: `$XDG_CONFIG_HOME/keel/credentials.json` (or `~/.config/...`), readable by
//! its owner only, since it holds a bearer token.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// What `login` keeps.
#[derive(Debug, Serialize, Deserialize)]
pub struct Credentials {
    /// The keel URL the token is for.
    pub url: String,
    /// The access token.
    pub access_token: String,
    /// The refresh token, when one was issued.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

fn path() -> Result<PathBuf, CliError> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .ok_or_else(|| CliError::Usage("neither XDG_CONFIG_HOME nor HOME is set".into()))?;
    Ok(base.join("keel").join("credentials.json"))
}

/// Stores `creds` with mode 0600 (in a 0700 directory).
pub fn save(creds: &Credentials) -> Result<PathBuf, CliError> {
    let path = path()?;
    let io = |what: &str| {
        let what = format!("{what} {}", path.display());
        move |source| CliError::Io { what, source }
    };
    let dir = path.parent().expect("credentials path has a parent");
    fs::create_dir_all(dir).map_err(io("create the directory of"))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io("protect the directory of"))?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(io("write"))?;
    // An existing file keeps its old mode on open: enforce owner-only explicitly.
    file.set_permissions(fs::Permissions::from_mode(0o600)).map_err(io("protect"))?;
    file.write_all(&serde_json::to_vec_pretty(creds).expect("credentials serialise")).map_err(io("write"))?;
    Ok(path)
}

/// The stored login, if any.
pub fn load() -> Result<Credentials, CliError> {
    let path = path()?;
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            CliError::Usage(format!("{} is damaged ({e}): run `keelctl login` again", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CliError::NotLoggedIn),
        Err(source) => Err(CliError::Io { what: format!("read {}", path.display()), source }),
    }
}

/// Removes the stored login.
pub fn remove() -> Result<(), CliError> {
    let path = path()?;
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(CliError::Io { what: format!("remove {}", path.display()), source }),
    }
}
