//! Archives built item by item for tests, including the malformed ones a careful tar writer
//! refuses to produce (`..`, absolute paths, links out).

use tar::{EntryType, Header};

/// One archive entry.
pub struct Item {
    path: String,
    kind: EntryType,
    data: Vec<u8>,
    mode: u32,
    link: Option<String>,
}

impl Item {
    /// A regular file.
    pub fn file(path: &str, data: &[u8], mode: u32) -> Self {
        Self { path: path.into(), kind: EntryType::Regular, data: data.to_vec(), mode, link: None }
    }
    /// A file whose path is written as given, unchecked.
    pub fn raw_path(path: &str, data: &[u8]) -> Self {
        Self::file(path, data, 0o644)
    }
    /// A folder.
    pub fn dir(path: &str) -> Self {
        Self { path: path.into(), kind: EntryType::Directory, data: Vec::new(), mode: 0o755, link: None }
    }
    /// A symbolic link to `to`, written as given.
    pub fn link(path: &str, to: &str) -> Self {
        Self {
            path: path.into(),
            kind: EntryType::Symlink,
            data: Vec::new(),
            mode: 0o777,
            link: Some(to.into()),
        }
    }
    /// A hard link to `to`.
    pub fn hard_link(path: &str, to: &str) -> Self {
        Self { kind: EntryType::Link, ..Self::link(path, to) }
    }
    /// A named pipe.
    pub fn fifo(path: &str) -> Self {
        Self { path: path.into(), kind: EntryType::Fifo, data: Vec::new(), mode: 0o644, link: None }
    }
}

/// The `.tar.gz` of `items`, in order.
pub fn archive(items: &[Item]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for item in items {
        let mut h = Header::new_gnu();
        let name = item.path.as_bytes();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(item.kind);
        h.set_mode(item.mode);
        h.set_size(item.data.len() as u64);
        if let Some(to) = &item.link {
            h.set_link_name_literal(to.as_bytes()).expect("link name fits");
        }
        h.set_cksum();
        b.append(&h, item.data.as_slice()).expect("append");
    }
    b.into_inner().expect("finish tar").finish().expect("finish gzip")
}

/// A minimal valid bundle: the seed's `plugin.yaml` for `root` and an executable `start.sh`.
pub fn minimal(app_id: &str, version: &str, root: &str) -> Vec<u8> {
    archive(&[
        Item::file("plugin.yaml", manifest(app_id, version, root).as_bytes(), 0o644),
        Item::dir("workspace"),
        Item::file("workspace/start.sh", b"#!/bin/sh\nexit 0\n", 0o755),
    ])
}

/// A `plugin.yaml` in the seed's shape.
pub fn manifest(app_id: &str, version: &str, root: &str) -> String {
    format!(
        "service:\n  app_id: {app_id}\n  version: {version}\n  name: {app_id}\nabilities:\n  - id: web\n    name: web service\n    version: 1.0.0\n    abilityType: web_service\n    config:\n      - key: root_route\n        value: {root}\n      - key: start_file\n        value: start.sh\n      - key: is_open\n        value: true\n      - key: args\n        value: hi\n"
    )
}
