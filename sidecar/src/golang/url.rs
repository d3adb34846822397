//! Go's `net/url` escaping rules, as daprd applies them to request paths, route parameters and
//! the URL it builds for the app.
//!
//! Go strings may hold any bytes; ours are UTF-8. Where a decoded path is not valid UTF-8, the
//! offending bytes are kept percent-encoded (`%FF`), which re-encodes to the same bytes on the
//! wire, so an app still receives exactly what daprd would send.

/// Go's `url.EscapeError`: a `%` not followed by two hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid URL escape {}", super::quote::quote(.0))]
pub struct EscapeError(pub String);

/// Which of Go's unescape modes to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `url.PathUnescape`: `+` stays `+`.
    Path,
    /// `url.QueryUnescape`: `+` becomes a space.
    QueryComponent,
}

/// Go's `unescape`: decodes `%XX` (and `+` in query mode), failing on a malformed escape exactly
/// where Go does, with the same error text.
pub fn unescape(s: &str, mode: Mode) -> Result<String, EscapeError> {
    let mut bytes = raw_unescape_mode(s, mode)?;
    bytes.shrink_to_fit();
    Ok(bytes_to_string(bytes))
}

/// Go's `url.QueryUnescape`.
pub fn query_unescape(s: &str) -> Result<String, EscapeError> {
    unescape(s, Mode::QueryComponent)
}

/// Go's `url.PathUnescape`.
pub fn path_unescape(s: &str) -> Result<String, EscapeError> {
    unescape(s, Mode::Path)
}

/// Go's `shouldEscape(c, encodePath)`.
fn should_escape_in_path(c: u8) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'@' => false,
        b'?' => true,
        _ => true,
    }
}

/// Go's `validEncoded(s, encodePath)`: whether `s` may be sent on the wire as it is.
pub fn valid_encoded_path(s: &str) -> bool {
    s.bytes().all(|c| {
        matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'['
                | b']'
                | b'%'
        ) || !should_escape_in_path(c)
    })
}

/// Go's `escape(s, encodePath)`: percent-encodes (upper-case hex) every byte a path may not hold.
pub fn escape_path(s: &str) -> String {
    escape_path_bytes(s.as_bytes())
}

fn escape_path_bytes(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(b.len());
    for &c in b {
        if should_escape_in_path(c) {
            out.push('%');
            out.push(HEX[(c >> 4) as usize] as char);
            out.push(HEX[(c & 15) as usize] as char);
        } else {
            out.push(c as char);
        }
    }
    out
}

/// The path Go's HTTP client puts on the request line for a URL whose path text is `path`
/// (`url.Parse` then `URL.EscapedPath()`): the text itself when it is a valid encoding, otherwise
/// its canonical re-escaping. Fails like `url.Parse` on a malformed `%` escape.
pub fn wire_path(path: &str) -> Result<String, EscapeError> {
    let decoded = raw_unescape(path)?;
    if valid_encoded_path(path) {
        return Ok(path.to_owned());
    }
    Ok(escape_path_bytes(&decoded))
}

/// The path Go's server routes on for a request line path `raw`: chi takes `URL.RawPath` when Go
/// kept one (the raw text differs from the canonical escaping of the decoded path), otherwise the
/// decoded `URL.Path`. Returns `(routing path, decoded path)`.
pub fn server_paths(raw: &str) -> (String, String) {
    match raw_unescape(raw) {
        Ok(decoded) => {
            let canonical = escape_path_bytes(&decoded);
            let decoded = bytes_to_string(decoded);
            if canonical == raw {
                (decoded.clone(), decoded)
            } else {
                (raw.to_owned(), decoded)
            }
        }
        // Go's server rejects such a request line with 400 before any handler runs; routing on the
        // raw text keeps us total (the caller answers 400 for undecodable paths).
        Err(_) => (raw.to_owned(), raw.to_owned()),
    }
}

fn raw_unescape(s: &str) -> Result<Vec<u8>, EscapeError> {
    raw_unescape_mode(s, Mode::Path)
}

fn raw_unescape_mode(s: &str, mode: Mode) -> Result<Vec<u8>, EscapeError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                let end = (i + 3).min(b.len());
                return Err(EscapeError(String::from_utf8_lossy(&b[i..end]).into_owned()));
            }
            out.push(hex(b[i + 1]) << 4 | hex(b[i + 2]));
            i += 3;
        } else if b[i] == b'+' && mode == Mode::QueryComponent {
            out.push(b' ');
            i += 1;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

/// Bytes → String, keeping any invalid UTF-8 byte as its `%XX` escape (see the module doc).
fn bytes_to_string(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let bytes = e.into_bytes();
            let mut out = String::with_capacity(bytes.len() + 8);
            let mut rest: &[u8] = &bytes;
            while !rest.is_empty() {
                match std::str::from_utf8(rest) {
                    Ok(s) => {
                        out.push_str(s);
                        break;
                    }
                    Err(err) => {
                        let (good, bad) = rest.split_at(err.valid_up_to());
                        out.push_str(std::str::from_utf8(good).unwrap_or_default());
                        let n = err.error_len().unwrap_or(bad.len()).max(1);
                        for &c in &bad[..n] {
                            out.push_str(&format!("%{c:02X}"));
                        }
                        rest = &bad[n..];
                    }
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_unescape_turns_plus_into_space_and_rejects_bad_escapes() {
        assert_eq!(query_unescape("a+b%2Fc").unwrap(), "a b/c");
        assert_eq!(path_unescape("a+b").unwrap(), "a+b");
        assert_eq!(query_unescape("a%zzb").unwrap_err().to_string(), r#"invalid URL escape "%zz""#);
        assert_eq!(query_unescape("a%4").unwrap_err().to_string(), r#"invalid URL escape "%4""#);
        assert_eq!(query_unescape("%").unwrap_err().to_string(), r#"invalid URL escape "%""#);
    }

    #[test]
    fn wire_path_matches_go_escaped_path() {
        assert_eq!(wire_path("/test\"stream").unwrap(), "/test%22stream");
        assert_eq!(wire_path("/test*stream").unwrap(), "/test*stream");
        assert_eq!(wire_path("/test\\stream").unwrap(), "/test%5Cstream");
        assert_eq!(wire_path("/a%2Fb").unwrap(), "/a%2Fb");
        assert_eq!(wire_path("/héllo").unwrap(), "/h%C3%A9llo");
        assert!(wire_path("/test%stream").is_err());
    }

    #[test]
    fn server_paths_route_on_raw_only_when_go_keeps_raw_path() {
        assert_eq!(server_paths("/a%20b").0, "/a b");
        assert_eq!(server_paths("/a%2Fb"), ("/a%2Fb".into(), "/a/b".into()));
        assert_eq!(server_paths("/plain").0, "/plain");
    }

    #[test]
    fn invalid_utf8_stays_percent_encoded() {
        assert_eq!(path_unescape("a%FFb").unwrap(), "a%FFb");
        assert_eq!(wire_path("/a%FFb").unwrap(), "/a%FFb");
    }
}

/// Go's `url.ParseQuery` as `r.URL.Query()` uses it: `&`-separated pairs, keys and values
/// query-unescaped, pairs with a bad escape (or a `;`) dropped. Order is kept.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty() && !pair.contains(';'))
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((query_unescape(k).ok()?, query_unescape(v).ok()?))
        })
        .collect()
}

/// The first value of `name` in a raw query string (Go's `Query().Get`).
pub fn query_get(raw: &str, name: &str) -> Option<String> {
    parse_query(raw).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

#[cfg(test)]
mod query_tests {
    use super::*;

    #[test]
    fn parse_query_decodes_and_drops_bad_pairs() {
        let q = parse_query("a=1&metadata.ttlInSeconds=10&b=%zz&c=x+y&a=2");
        assert_eq!(
            q,
            vec![
                ("a".into(), "1".into()),
                ("metadata.ttlInSeconds".into(), "10".into()),
                ("c".into(), "x y".into()),
                ("a".into(), "2".into()),
            ]
        );
        assert_eq!(query_get("a=1&a=2", "a").as_deref(), Some("1"));
    }
}
