use keel_sdk::protocol::PluginStatus;

use super::*;

const NOW: u64 = 1_795_129_700_000;

fn view(
    status: PluginStatus,
    registered_s_ago: u64,
    checked_s_ago: u64,
    error: Option<&str>,
    failures: u32,
) -> PluginView {
    serde_json::from_value(serde_json::json!({
        "id": "echo", "version": "1.0.0", "status": status,
        "registered_at_ms": NOW - registered_s_ago * 1000, "registered_at": "2026-11-19T23:00:00.000Z",
        "last_checked_ms": NOW - checked_s_ago * 1000, "last_checked_at": "2026-11-19T23:08:16.000Z",
        "last_error": error, "consecutive_failures": failures,
    }))
    .unwrap()
}

#[test]
fn status_shows_a_current_error_with_its_age_and_streak() {
    let p = view(PluginStatus::Active, 600, 4, Some("connection refused"), 2);
    assert_eq!(
        status_row(&p, NOW),
        ["echo", "ACTIVE", "4s ago", "4s ago (2 in a row): connection refused", "plugin"]
    );
    let once = view(PluginStatus::Active, 600, 4, Some("timeout"), 1);
    assert_eq!(status_row(&once, NOW)[3], "4s ago: timeout");
}

#[test]
fn status_hides_an_error_older_than_the_registration() {
    // Health left from an earlier registration of the same id: the registration checked since.
    let p = view(PluginStatus::Active, 3, 900, Some("connection refused"), 3);
    assert_eq!(status_row(&p, NOW), ["echo", "ACTIVE", "3s ago", "-", "plugin"]);
    let f = fields(&p, NOW);
    let get = |k: &str| f.iter().find(|(n, _)| *n == k).unwrap().1.clone();
    assert_eq!(get("last error"), "-");
    assert!(get("last check").ends_with("(at registration)"), "{}", get("last check"));
}

#[test]
fn status_shows_a_dash_after_a_good_check() {
    let p = view(PluginStatus::Active, 600, 1, None, 0);
    assert_eq!(status_row(&p, NOW), ["echo", "ACTIVE", "1s ago", "-", "plugin"]);
}

#[test]
fn a_record_reads_as_lines() {
    let mut p = view(PluginStatus::Unreachable, 600, 2, Some("gone"), 5);
    p.addons = vec![keel_sdk::management::registry::OfferedPoint {
        point: "decorate".into(),
        desc: String::new(),
        implemented_by: None,
    }];
    let text = output::lines(&fields(&p, NOW));
    for want in [
        "status            UNREACHABLE",
        "last check        2026-11-19T23:08:16.000Z (2s ago)",
        "last error        2s ago (5 in a row): gone",
        "addon points      decorate (not implemented)",
        "implements        -",
        "timeout           keel's default",
    ] {
        assert!(text.contains(want), "{want:?} missing from:\n{text}");
    }
}
