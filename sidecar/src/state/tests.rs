use super::*;
use crate::components::{Component, ComponentKind};

fn set(key: &str, value: &str, etag: Option<&str>, concurrency: Concurrency) -> SetOp {
    SetOp {
        key: key.into(),
        value: value.as_bytes().to_vec(),
        etag: etag.map(Into::into),
        concurrency,
        consistency_strong: false,
        ttl: None,
    }
}

fn del(key: &str, etag: Option<&str>) -> DeleteOp {
    DeleteOp { key: key.into(), etag: etag.map(Into::into), concurrency: Concurrency::LastWrite }
}

fn sqlite_store(dir: &std::path::Path) -> sqlite::SqliteStore {
    sqlite::SqliteStore::open(&sqlite_component(dir)).unwrap()
}

fn sqlite_component(dir: &std::path::Path) -> Component {
    Component {
        name: "s".into(),
        kind: ComponentKind::StateSqlite,
        type_name: "state.sqlite".into(),
        version: "v1".into(),
        metadata: vec![("connectionString".into(), dir.join("db.sqlite").display().to_string())],
        file: "/c.yaml".into(),
        ignore_errors: false,
    }
}

#[test]
fn sidecars_opening_one_new_sqlite_file_at_once_all_open_it() {
    // Each connection locks the file as another process would; they race to set its journal
    // mode and tables, which once failed a sidecar's start with "database is locked".
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let c = sqlite_component(dir.path());
        let start = std::sync::Barrier::new(4);
        std::thread::scope(|s| {
            let opened: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        sqlite::SqliteStore::open(&c).map(|_| ())
                    })
                })
                .collect();
            for o in opened {
                if let Err(e) = o.join().unwrap() {
                    panic!("a concurrent open failed: {e}");
                }
            }
        });
    }
}

/// The behaviours both stores share, run against each.
fn common_semantics(store: &dyn BlockingStore, mismatch_detail: bool) {
    store.set(&set("k", "1", None, Concurrency::LastWrite)).unwrap();
    let first = store.get("k").unwrap().unwrap();
    assert_eq!(first.data, b"1");
    assert_eq!(first.etag.len(), 36, "uuid etag");

    // A wrong ETag is a mismatch; the right one wins and changes the ETag.
    let err = store.set(&set("k", "2", Some("bad"), Concurrency::LastWrite)).unwrap_err();
    assert!(err.is_etag_mismatch());
    if mismatch_detail {
        assert!(
            err.to_string()
                .contains(&format!("state etag not match for key=k: current={}, expect=bad", first.etag)),
            "{err}"
        );
    } else {
        assert_eq!(err.to_string(), "possible etag mismatch. error from state store");
    }
    store.set(&set("k", "2", Some(&first.etag), Concurrency::LastWrite)).unwrap();
    let second = store.get("k").unwrap().unwrap();
    assert_ne!(second.etag, first.etag);

    // first-write without an ETag fails when the key exists, succeeds when it does not.
    assert!(store.set(&set("k", "3", None, Concurrency::FirstWrite)).unwrap_err().is_etag_mismatch());
    store.set(&set("fresh", "1", None, Concurrency::FirstWrite)).unwrap();

    // An ETag for a missing key is a mismatch.
    assert!(store
        .set(&set("missing", "1", Some("x"), Concurrency::LastWrite))
        .unwrap_err()
        .is_etag_mismatch());

    // Deletes: missing key without ETag is fine, wrong ETag is a mismatch.
    store.delete(&del("nothing", None)).unwrap();
    assert!(store.delete(&del("k", Some("bad"))).unwrap_err().is_etag_mismatch());
    store.delete(&del("k", Some(&second.etag))).unwrap();
    assert!(store.get("k").unwrap().is_none());

    // Transactions: one failing check leaves everything untouched.
    store.set(&set("a", "1", None, Concurrency::LastWrite)).unwrap();
    let err = store
        .transact(&[
            TxOp::Set(set("b", "1", None, Concurrency::LastWrite)),
            TxOp::Delete(del("a", None)),
            TxOp::Set(set("a", "2", Some("bad"), Concurrency::LastWrite)),
        ])
        .unwrap_err();
    assert!(err.is_etag_mismatch());
    assert!(store.get("b").unwrap().is_none());
    assert_eq!(store.get("a").unwrap().unwrap().data, b"1");
    store
        .transact(&[TxOp::Set(set("b", "1", None, Concurrency::LastWrite)), TxOp::Delete(del("a", None))])
        .unwrap();
    assert!(store.get("a").unwrap().is_none());
    assert!(store.get("b").unwrap().is_some());

    // A TTL in the past is already expired; a long one reports its expiry.
    let mut op = set("ttl", "1", None, Concurrency::LastWrite);
    op.ttl = Some("3600".into());
    store.set(&op).unwrap();
    let item = store.get("ttl").unwrap().unwrap();
    let expires = item.expires_at.unwrap();
    assert!(expires > SystemTime::now() + Duration::from_secs(3500));
}

#[test]
fn memory_store_has_daprd_semantics() {
    common_semantics(&memory::MemoryStore::default(), true);
}

#[test]
fn sqlite_store_has_daprd_semantics() {
    let dir = tempfile::tempdir().unwrap();
    common_semantics(&sqlite_store(dir.path()), false);
}

#[test]
fn sqlite_data_survives_reopening_and_is_shared_between_handles() {
    let dir = tempfile::tempdir().unwrap();
    let a = sqlite_store(dir.path());
    let b = sqlite_store(dir.path());
    a.set(&set("k", "\"v\"", None, Concurrency::LastWrite)).unwrap();
    let seen = b.get("k").unwrap().unwrap();
    assert_eq!(seen.data, b"\"v\"");
    // b's write with a's ETag succeeds once; a's second write with the same ETag then fails.
    b.set(&set("k", "1", Some(&seen.etag), Concurrency::LastWrite)).unwrap();
    assert!(a.set(&set("k", "2", Some(&seen.etag), Concurrency::LastWrite)).unwrap_err().is_etag_mismatch());
    drop((a, b));
    let c = sqlite_store(dir.path());
    assert_eq!(c.get("k").unwrap().unwrap().data, b"1");
}

#[test]
fn ttl_metadata_parses_like_contrib() {
    assert_eq!(ttl_atoi(None).unwrap(), None);
    assert_eq!(ttl_atoi(Some("5")).unwrap(), Some(Duration::from_secs(5)));
    assert_eq!(ttl_atoi(Some("-1")).unwrap(), None);
    assert!(ttl_atoi(Some("abc")).unwrap_err().to_string().contains(r#"parsing "abc": invalid syntax"#));
    let mut m = BTreeMap::new();
    assert_eq!(ttl_from_metadata(&m), None);
    m.insert("ttlInSeconds".to_owned(), "5".to_owned());
    assert_eq!(ttl_from_metadata(&m).as_deref(), Some("5"));
}

#[test]
fn go_parse_int_errors_tell_syntax_from_range() {
    assert_eq!(parse_int_error("Atoi", "bad"), r#"strconv.Atoi: parsing "bad": invalid syntax"#);
    assert_eq!(
        parse_int_error("ParseUint", "99999999999"),
        r#"strconv.ParseUint: parsing "99999999999": value out of range"#
    );
}
