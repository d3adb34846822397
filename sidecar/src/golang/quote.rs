//! Go's `strconv.Quote` (what `%q` prints): daprd quotes the offending method in its
//! "forbidden character" error with it, the bad `ttlInSeconds` in its `strconv.Atoi` error and
//! the app URL in its `parse "…"` errors.
//!
//! Stays hand-written because those error texts are daprd's bytes, and Rust's `{:?}` escapes
//! differently (`"\u{0}"` where Go writes `"\x00"`, `\u{7f}` where Go writes `\x7f`).

use std::fmt::Write;

/// Quotes `s` as Go's `strconv.Quote` does: printable characters stay, `"` and `\` are escaped,
/// `\a \b \f \n \r \t \v` use their short escapes, other control bytes become `\xNN`, and other
/// non-printable characters become `\uNNNN` / `\UNNNNNNNN`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint` good enough for error messages: everything but
/// control characters, format characters commonly seen (BOM, zero-width) and separators.
fn is_printable(c: char) -> bool {
    !(c.is_control()
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{feff}'))
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_like_go_percent_q() {
        assert_eq!(quote("test#stream"), r#""test#stream""#);
        assert_eq!(quote("test\u{0}stream"), r#""test\x00stream""#);
        assert_eq!(quote("test\rstream"), r#""test\rstream""#);
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("héllo"), "\"héllo\"");
        assert_eq!(quote("\u{7f}"), r#""\x7f""#);
    }
}
