use super::*;

#[test]
fn tables_align_columns() {
    let rows = vec![
        vec!["echo".to_owned(), "ACTIVE".to_owned(), "1".to_owned()],
        vec!["greeter-emoji".to_owned(), "-".to_owned(), String::new()],
    ];
    let t = table(&["ID", "STATUS", "N"], rows);
    assert_eq!(t, "ID             STATUS  N\necho           ACTIVE  1\ngreeter-emoji  -\n");
}

#[test]
fn records_are_aligned_lines() {
    assert_eq!(
        lines(&[("id", "echo".into()), ("last check", "x".into())]),
        "id          echo\nlast check  x\n"
    );
}

#[test]
fn ages_are_coarse_and_never_negative() {
    let now = 1_000_000_000;
    assert_eq!(age(now, now), "0s ago");
    assert_eq!(age(now + 5_000, now), "0s ago");
    assert_eq!(age(now - 4_200, now), "4s ago");
    assert_eq!(age(now - 119_000, now), "119s ago");
    assert_eq!(age(now - 600_000, now), "10m ago");
    assert_eq!(age(now - 3 * 3_600_000, now), "3h ago");
    assert_eq!(age(0, now), "11d ago");
}

#[test]
fn seconds_since_the_epoch_read_as_a_time_and_an_age() {
    assert_eq!(time_secs(0, 1), "-");
    assert_eq!(time_secs(1_795_129_648, 1_795_129_708_000), "2026-11-19T23:07:28Z (60s ago)");
}

#[test]
fn empty_cells_are_dashes() {
    assert_eq!(or_dash(""), "-");
    assert_eq!(joined::<&str>(&[]), "-");
    assert_eq!(joined(&["a", "b"]), "a,b");
}
