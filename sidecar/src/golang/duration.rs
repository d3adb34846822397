//! Go's `time.Duration` text: [`format()`] prints what daprd prints in `/v1.0/metadata`
//! (`"5s"`, `"500ms"`, `"1m30s"`), [`parse()`] reads what component metadata holds (`"800ms"`).

use std::time::Duration;

/// Formats `d` (truncated to milliseconds) the way Go's `Duration.String` does.
///
/// Stays hand-written because it reproduces daprd's bytes: `/v1.0/metadata` reports
/// `healthProbeInterval` / `healthProbeTimeout` as Go prints them (`1.5s`, `1m30s`, `1h0m0s`),
/// and `humantime` prints `1s 500ms`, `1m 30s`, `1h`.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, rem) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rem) = (rem / 60_000, rem % 60_000);
    let (s, frac) = (rem / 1000, rem % 1000);
    let mut secs = s.to_string();
    if frac != 0 {
        let f = format!("{frac:03}");
        secs.push('.');
        secs.push_str(f.trim_end_matches('0'));
    }
    if h > 0 {
        format!("{h}h{m}m{secs}s")
    } else if m > 0 {
        format!("{m}m{secs}s")
    } else {
        format!("{secs}s")
    }
}

/// Go's `time.ParseDuration` for component metadata (sqlite's `busyTimeout`), e.g. `"800ms"`,
/// `"2s"`, `"1m30s"`, `"1.5s"`; `None` on anything else.
///
/// `humantime` reads the value. Its grammar is wider than Go's (spaces, `min`, `sec`, days,
/// weeks, ...), so only Go's unit names, written without spaces, are let through: a component
/// file real daprd refuses is refused here too. (Go also takes a bare decimal point, `.5s` or
/// `1.s`; humantime wants a digit on each side.)
pub fn parse(s: &str) -> Option<Duration> {
    let s = s.trim();
    let go_units = s
        .split(|c: char| c.is_ascii_digit() || c == '.')
        .all(|unit| matches!(unit, "" | "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h"));
    if !go_units {
        return None;
    }
    // Go accepts both micro signs (U+00B5, U+03BC); humantime only the first.
    humantime::parse_duration(&s.replace('μ', "µ")).ok()
}

#[cfg(test)]
mod tests {
    use super::{format, parse};
    use std::time::Duration;

    #[test]
    fn formats_like_go() {
        assert_eq!(format(Duration::from_secs(5)), "5s");
        assert_eq!(format(Duration::from_millis(500)), "500ms");
        assert_eq!(format(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
        assert_eq!(format(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format(Duration::ZERO), "0s");
    }

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse("800ms"), Some(Duration::from_millis(800)));
        assert_eq!(parse("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("5"), None);
        assert_eq!(parse("abc"), None);
    }

    #[test]
    fn takes_only_what_go_takes() {
        assert_eq!(parse("0"), Some(Duration::ZERO));
        assert_eq!(parse("1h2m3.25s"), Some(Duration::from_millis(3_723_250)));
        assert_eq!(parse("250us"), Some(Duration::from_micros(250)));
        assert_eq!(parse("3µs"), Some(Duration::from_micros(3)));
        assert_eq!(parse("3μs"), Some(Duration::from_micros(3)));
        assert_eq!(parse("10ns"), Some(Duration::from_nanos(10)));
        for refused in ["", "1 s", "1min", "2sec", "1d", "1w", "-1s", "s", "1.5.5s"] {
            assert_eq!(parse(refused), None, "{refused:?}");
        }
    }
}
