//! Bundles: the seed's layout, a `plugin.yaml` ([`manifest`]) beside a `workspace/` folder that
//! holds the start file and the binary, shipped as a `.tar.gz` ([`unpack`]) or, for local
//! development, as a folder ([`pack`]).
//!
//! [`stage`] is the whole check of one bundle, before anything about it is kept: unpack into a
//! fresh staging folder, read `plugin.yaml`, find the start file. Any refusal removes the
//! staging folder, so a refused bundle leaves nothing behind.

pub mod manifest;
pub mod pack;
pub mod unpack;

#[cfg(test)]
pub(crate) mod testing;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use manifest::Manifest;
pub use unpack::Limits;

use crate::error::HostingError;

/// The manifest's file name.
pub const MANIFEST: &str = "plugin.yaml";
/// The folder the service runs in.
pub const WORKSPACE: &str = "workspace";

/// A checked bundle, unpacked in its staging folder.
#[derive(Debug)]
pub struct Staged {
    /// What `plugin.yaml` says.
    pub manifest: Manifest,
    /// `plugin.yaml` as given.
    pub manifest_text: String,
    /// The folder holding `plugin.yaml` and `workspace/` (inside `staging`).
    pub root: PathBuf,
    /// The staging folder to remove once `root` has been moved away (or on refusal).
    pub staging: PathBuf,
    /// The archive as received.
    pub archive: Vec<u8>,
    /// SHA-256 of the archive, hex.
    pub sha256: String,
}

impl Staged {
    /// Removes the staging folder (and `root` with it, unless it was moved away).
    pub fn discard(&self) {
        let _ = fs::remove_dir_all(&self.staging);
    }
}

/// Checks `archive` and unpacks it under `staging_root/<fresh name>/`. On refusal nothing is left.
pub fn stage(archive: Vec<u8>, staging_root: &Path, limits: Limits) -> Result<Staged, HostingError> {
    fs::create_dir_all(staging_root)
        .map_err(|e| HostingError::internal(format!("mkdir {}: {e}", staging_root.display())))?;
    let staging = staging_root.join(uuid::Uuid::new_v4().simple().to_string());
    fs::create_dir(&staging)
        .map_err(|e| HostingError::internal(format!("mkdir {}: {e}", staging.display())))?;
    match check(&archive, &staging, limits) {
        Ok((manifest, manifest_text, root)) => {
            let sha256 = hex(&Sha256::digest(&archive));
            Ok(Staged { manifest, manifest_text, root, staging, archive, sha256 })
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            Err(e)
        }
    }
}

fn check(
    archive: &[u8],
    staging: &Path,
    limits: Limits,
) -> Result<(Manifest, String, PathBuf), HostingError> {
    unpack::unpack(archive, staging, limits)?;
    let root = bundle_root(staging)?;
    let text = fs::read_to_string(root.join(MANIFEST))
        .map_err(|e| HostingError::BadBundle(format!("{MANIFEST} cannot be read as text: {e}")))?;
    let manifest = manifest::parse(&text).map_err(HostingError::BadBundle)?;
    let workspace = root.join(WORKSPACE);
    if !fs::symlink_metadata(&workspace).is_ok_and(|m| m.is_dir()) {
        return Err(HostingError::BadBundle(format!(
            "the bundle has no {WORKSPACE}/ folder beside {MANIFEST}"
        )));
    }
    let start = workspace.join(&manifest.start_file);
    let shown = format!("{WORKSPACE}/{}", manifest.start_file);
    // Follows a link (checked to stay inside when unpacked).
    let meta = fs::metadata(&start).map_err(|_| {
        HostingError::BadBundle(format!("the start file {shown} (abilities config start_file) is missing"))
    })?;
    if !meta.is_file() {
        return Err(HostingError::BadBundle(format!("the start file {shown} is not a file")));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(HostingError::BadBundle(format!(
            "the start file {shown} is not executable (chmod +x it before packing)"
        )));
    }
    Ok((manifest, text, root))
}

/// Where `plugin.yaml` is: the archive's root, or its only folder (`tar czf b.tgz mybundle/`).
fn bundle_root(staging: &Path) -> Result<PathBuf, HostingError> {
    if staging.join(MANIFEST).exists() {
        return Ok(staging.to_path_buf());
    }
    let entries: Vec<_> = fs::read_dir(staging)
        .map_err(|e| HostingError::internal(format!("read {}: {e}", staging.display())))?
        .flatten()
        .collect();
    if let [only] = entries.as_slice() {
        if only.file_type().is_ok_and(|t| t.is_dir()) && only.path().join(MANIFEST).exists() {
            return Ok(only.path());
        }
    }
    Err(HostingError::BadBundle(format!("the bundle has no {MANIFEST} at its root")))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::testing::{archive, manifest, minimal, Item};
    use super::*;

    const LIMITS: Limits = Limits { max_unpacked_bytes: 1 << 20, max_entries: 100 };

    fn leftovers(dir: &Path) -> usize {
        fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
    }

    #[test]
    fn a_valid_bundle_stages_at_the_root_or_in_one_folder() {
        let root = tempfile::tempdir().unwrap();
        let staged = stage(minimal("hello", "1.0.0", "hello"), root.path(), LIMITS).unwrap();
        assert_eq!(staged.manifest.root_route, "hello");
        assert_eq!(staged.sha256.len(), 64);
        staged.discard();
        assert_eq!(leftovers(root.path()), 0);
        let nested = archive(&[
            Item::file("b/plugin.yaml", manifest("n", "2.0.0", "n").as_bytes(), 0o644),
            Item::file("b/workspace/start.sh", b"#!/bin/sh\n", 0o700),
        ]);
        let staged = stage(nested, root.path(), LIMITS).unwrap();
        assert!(staged.root.ends_with("b"));
    }

    #[test]
    fn refused_bundles_leave_nothing_and_say_what_is_wrong() {
        let yaml = manifest("hello", "1.0.0", "hello");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (archive(&[Item::file("workspace/start.sh", b"", 0o755)]), "no plugin.yaml"),
            (archive(&[Item::file("plugin.yaml", yaml.as_bytes(), 0o644)]), "no workspace/"),
            (
                archive(&[Item::file("plugin.yaml", yaml.as_bytes(), 0o644), Item::dir("workspace")]),
                "workspace/start.sh (abilities config start_file) is missing",
            ),
            (
                archive(&[
                    Item::file("plugin.yaml", yaml.as_bytes(), 0o644),
                    Item::file("workspace/start.sh", b"", 0o644),
                ]),
                "not executable",
            ),
            (
                archive(&[
                    Item::file(
                        "plugin.yaml",
                        yaml.replace("value: hello", "value: Hello!").as_bytes(),
                        0o644,
                    ),
                    Item::file("workspace/start.sh", b"", 0o755),
                ]),
                "root_route",
            ),
            (archive(&[Item::raw_path("../x", b"")]), "'..'"),
        ];
        let root = tempfile::tempdir().unwrap();
        for (bytes, words) in cases {
            let err = stage(bytes, root.path(), LIMITS).unwrap_err();
            assert!(err.to_string().contains(words), "{words:?} not in {err}");
            assert_eq!(leftovers(root.path()), 0, "staging left behind after {err}");
        }
    }
}
