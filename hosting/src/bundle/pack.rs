//! Packing a bundle folder (the boot folder's, for local development) into the same `.tar.gz`
//! an admin would upload, so every bundle goes through one validation and is kept in the store
//! the same way. Links in the folder are followed (`tar -h`): the folder is the operator's own,
//! and the archive then holds plain files, which the unpacker accepts.

use std::path::Path;

/// The `.tar.gz` of everything in `folder` (its contents at the archive's root).
pub fn pack(folder: &Path) -> std::io::Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    b.follow_symlinks(true);
    // Plain entries only: a sparse file (a binary with holes) would be a GNU sparse entry.
    b.sparse(false);
    b.append_dir_all(".", folder)?;
    b.into_inner()?.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_folder_packs_with_its_modes_and_links_become_files() {
        let src = tempfile::tempdir().unwrap();
        let outside = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(outside.path(), b"binary").unwrap();
        std::fs::create_dir(src.path().join("workspace")).unwrap();
        std::fs::write(src.path().join("workspace/start.sh"), b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            src.path().join("workspace/start.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink(outside.path(), src.path().join("workspace/bin")).unwrap();
        let bytes = pack(src.path()).unwrap();
        let dest = tempfile::tempdir().unwrap();
        let limits = crate::bundle::unpack::Limits { max_unpacked_bytes: 1 << 20, max_entries: 100 };
        crate::bundle::unpack::unpack(&bytes, dest.path(), limits).unwrap();
        assert_eq!(std::fs::read(dest.path().join("workspace/bin")).unwrap(), b"binary");
        let mode = std::fs::metadata(dest.path().join("workspace/start.sh")).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111);
    }
}
