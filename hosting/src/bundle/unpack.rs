//! Unpacking a bundle archive (`.tar.gz`) into an empty folder, refusing every entry that could
//! land outside it: absolute paths, `..`, hard links, device files and FIFOs are refused as they
//! are read; symbolic links are created last (so no file is ever written through one) and must
//! each resolve to something inside the folder. Sizes are bounded as the archive is read, so a
//! decompression bomb stops at the limit.

use std::fs;
use std::io::Read;
use std::os::unix::fs::symlink;
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

use crate::error::HostingError;

/// The limits of one unpacking.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Total bytes of the files.
    pub max_unpacked_bytes: u64,
    /// Entries of the archive.
    pub max_entries: u64,
}

fn unsafe_entry(entry: &str, reason: impl Into<String>) -> HostingError {
    HostingError::UnsafeBundle { entry: entry.to_owned(), reason: reason.into() }
}

/// The entry's path made relative and checked: no root, no `..`; `.` components dropped.
fn relative(raw: &Path, shown: &str) -> Result<PathBuf, HostingError> {
    let mut out = PathBuf::new();
    for c in raw.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(unsafe_entry(shown, "climbs out of the bundle with '..'")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_entry(shown, "is an absolute path"))
            }
        }
    }
    Ok(out)
}

/// Creates the parents of `rel` under `root` as real folders (no link is ever followed: links
/// are created only after every file).
fn make_parents(root: &Path, rel: &Path, shown: &str) -> Result<(), HostingError> {
    let Some(parent) = rel.parent() else { return Ok(()) };
    let mut at = root.to_path_buf();
    for part in parent.components() {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(unsafe_entry(shown, "is inside something that is not a folder")),
            Err(_) => fs::create_dir(&at)
                .map_err(|e| HostingError::internal(format!("mkdir {}: {e}", at.display())))?,
        }
    }
    Ok(())
}

/// Unpacks `archive` (gzip-compressed tar) into `dest`, which must exist and be empty.
pub fn unpack(archive: &[u8], dest: &Path, limits: Limits) -> Result<(), HostingError> {
    let gz = flate2::read::GzDecoder::new(archive);
    let mut tar = tar::Archive::new(gz);
    tar.set_preserve_permissions(false);
    tar.set_unpack_xattrs(false);
    tar.set_overwrite(false);
    let not_targz =
        |e: std::io::Error| HostingError::BadBundle(format!("the body is not a .tar.gz archive: {e}"));
    let mut links: Vec<(PathBuf, PathBuf, String)> = Vec::new();
    let (mut count, mut total) = (0u64, 0u64);
    for entry in tar.entries().map_err(not_targz)? {
        let mut entry = entry.map_err(not_targz)?;
        let raw = entry.path().map_err(not_targz)?.into_owned();
        let shown = raw.display().to_string();
        count += 1;
        if count > limits.max_entries {
            return Err(HostingError::BundleTooLarge(format!(
                "the archive has more than {} entries (max_entries)",
                limits.max_entries
            )));
        }
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName | EntryType::GNULongLink
        ) {
            continue;
        }
        let rel = relative(&raw, &shown)?;
        if rel.as_os_str().is_empty() {
            continue; // "./" itself
        }
        let target = dest.join(&rel);
        match kind {
            EntryType::Directory => {
                make_parents(dest, &rel.join("x"), &shown)?;
            }
            // GNU tar writes files with holes as sparse entries; the reader fills the holes in.
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                make_parents(dest, &rel, &shown)?;
                if fs::symlink_metadata(&target).is_ok() {
                    return Err(unsafe_entry(&shown, "appears twice in the archive"));
                }
                let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&target)
                    .map_err(|e| HostingError::internal(format!("create {}: {e}", target.display())))?;
                // Counted as it is written: one byte over what is left is over the limit.
                let left = limits.max_unpacked_bytes - total;
                let copied = std::io::copy(&mut (&mut entry).take(left + 1), &mut file).map_err(not_targz)?;
                total += copied;
                if copied > left {
                    return Err(HostingError::BundleTooLarge(format!(
                        "the archive unpacks to more than {} bytes (max_unpacked_bytes)",
                        limits.max_unpacked_bytes
                    )));
                }
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                    .map_err(|e| HostingError::internal(format!("chmod {}: {e}", target.display())))?;
            }
            EntryType::Symlink => {
                let to = entry
                    .link_name()
                    .map_err(not_targz)?
                    .ok_or_else(|| unsafe_entry(&shown, "is a link without a target"))?
                    .into_owned();
                if to.is_absolute() {
                    return Err(unsafe_entry(
                        &shown,
                        format!("is a link to the absolute path {}", to.display()),
                    ));
                }
                links.push((rel, to, shown));
            }
            EntryType::Link => {
                return Err(unsafe_entry(&shown, "is a hard link; hard links are not accepted"))
            }
            other => {
                return Err(unsafe_entry(
                    &shown,
                    format!("is a {other:?} entry; only files, folders and links are accepted"),
                ))
            }
        }
    }
    // Links last: nothing above was written through one. Each must resolve inside the bundle.
    let root = dest
        .canonicalize()
        .map_err(|e| HostingError::internal(format!("canonicalize {}: {e}", dest.display())))?;
    for (rel, to, shown) in &links {
        make_parents(dest, rel, shown)?;
        let at = dest.join(rel);
        if fs::symlink_metadata(&at).is_ok() {
            return Err(unsafe_entry(shown, "appears twice in the archive"));
        }
        symlink(to, &at).map_err(|e| HostingError::internal(format!("symlink {}: {e}", at.display())))?;
    }
    for (rel, to, shown) in &links {
        match dest.join(rel).canonicalize() {
            Ok(real) if real.starts_with(&root) => {}
            // Out of the folder, or to nothing (which a later file could not make safe either).
            _ => {
                return Err(unsafe_entry(
                    shown,
                    format!("is a link to {}, which is not inside the bundle", to.display()),
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::testing::{archive, Item};

    const LIMITS: Limits = Limits { max_unpacked_bytes: 1 << 20, max_entries: 100 };

    fn try_unpack(items: &[Item]) -> (tempfile::TempDir, Result<(), HostingError>) {
        let dir = tempfile::tempdir().unwrap();
        let res = unpack(&archive(items), dir.path(), LIMITS);
        (dir, res)
    }

    #[test]
    fn files_folders_modes_and_inner_links_unpack() {
        let (dir, res) = try_unpack(&[
            Item::dir("workspace"),
            Item::file("workspace/start.sh", b"#!/bin/sh\n", 0o755),
            Item::file("./workspace/data/a.txt", b"a", 0o644),
            Item::link("workspace/current", "data/a.txt"),
            Item::link("workspace/data/up", "../start.sh"),
        ]);
        res.unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join("workspace/start.sh")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(fs::read(dir.path().join("workspace/current")).unwrap(), b"a");
    }

    #[test]
    fn entries_escaping_the_folder_are_refused_by_name() {
        let cases: Vec<(Vec<Item>, &str)> = vec![
            (vec![Item::raw_path("../evil", b"x")], "'..'"),
            (vec![Item::raw_path("/etc/evil", b"x")], "absolute"),
            (vec![Item::link("workspace/out", "../../etc")], "not inside the bundle"),
            (vec![Item::link("workspace/abs", "/etc/passwd")], "absolute"),
            (
                vec![Item::link("workspace/dot", "."), Item::link("workspace/esc", "dot/../../..")],
                "not inside",
            ),
            (vec![Item::hard_link("workspace/h", "/etc/passwd")], "hard link"),
            (vec![Item::fifo("workspace/p")], "only files"),
            (vec![Item::link("workspace/l", "sub"), Item::file("workspace/l/x", b"x", 0o644)], "twice"),
        ];
        for (items, words) in cases {
            let (_dir, res) = try_unpack(&items);
            let err = res.unwrap_err();
            assert!(err.to_string().contains(words), "{words:?} not in {err}");
            assert!(matches!(err, HostingError::UnsafeBundle { .. } | HostingError::BadBundle(_)), "{err:?}");
        }
    }

    #[test]
    fn sizes_are_bounded_while_reading() {
        let big = vec![0u8; (LIMITS.max_unpacked_bytes + 1) as usize];
        let (_d, res) = try_unpack(&[Item::file("workspace/big", &big, 0o644)]);
        assert!(matches!(res, Err(HostingError::BundleTooLarge(m)) if m.contains("max_unpacked_bytes")));
        let many: Vec<Item> =
            (0..=LIMITS.max_entries).map(|i| Item::file(&format!("f{i}"), b"", 0o644)).collect();
        let (_d, res) = try_unpack(&many);
        assert!(matches!(res, Err(HostingError::BundleTooLarge(m)) if m.contains("max_entries")));
    }

    #[test]
    fn a_body_that_is_not_an_archive_is_a_bad_bundle() {
        let dir = tempfile::tempdir().unwrap();
        let err = unpack(b"not gzip at all", dir.path(), LIMITS).unwrap_err();
        assert!(err.to_string().contains(".tar.gz"), "{err}");
    }
}
