//! Go's `net/url` escaping rules, as daprd applies them to request paths, route parameters and
//! the URL it builds for the app.
//!
//! The byte sets are `percent-encoding` [`AsciiSet`]s and the decoding is its decoder. What stays
//! here is what no crate reproduces and daprd's answers depend on: Go's *strict* unescape (a bad
//! `%` fails, with Go's `invalid URL escape "%zz"` text, where `percent-encoding` and `url` keep
//! it literally), and Go's `RawPath` rule deciding which path text goes on the wire and which
//! one chi routes on.
//!
//! Go strings may hold any bytes; ours are UTF-8. Where a decoded path is not valid UTF-8, the
//! offending bytes are kept percent-encoded (`%FF`), which re-encodes to the same bytes on the
//! wire, so an app still receives exactly what daprd would send.

use percent_encoding::{percent_decode_str, percent_encode, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::borrow::Cow;

/// Go's `shouldEscape(c, encodePath)`: every byte but letters, digits, `-_.~` and the
/// sub-delimiters a path may hold (`$&+,/:;=@`). Bytes ≥ 0x80 are always escaped.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b',')
    .remove(b'/')
    .remove(b':')
    .remove(b';')
    .remove(b'=')
    .remove(b'@');

/// What Go's `validEncoded(s, encodePath)` lets through as it is: [`PATH`]'s bytes plus
/// `!'()*[]` and `%`.
const PATH_AS_SENT: &AsciiSet = &PATH
    .remove(b'!')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'[')
    .remove(b']')
    .remove(b'%');

/// Go's `url.EscapeError`: a `%` not followed by two hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid URL escape {}", super::quote::quote(.0))]
pub struct EscapeError(pub String);

/// Go's `url.QueryUnescape`: `+` becomes a space, `%XX` is decoded, and a malformed escape fails
/// exactly where Go's does, with the same text.
pub fn query_unescape(s: &str) -> Result<String, EscapeError> {
    check_escapes(s)?;
    Ok(bytes_to_string(percent_decode_str(&s.replace('+', " ")).collect()))
}

/// Go's `validEncoded(s, encodePath)`: whether `s` may be sent on the wire as it is.
pub fn valid_encoded_path(s: &str) -> bool {
    let mut runs = utf8_percent_encode(s, PATH_AS_SENT);
    // Nothing to escape: the encoder hands the input back as one run.
    runs.next().is_none_or(|run| run == s && runs.next().is_none())
}

/// The path Go's HTTP client puts on the request line for a URL whose path text is `path`
/// (`url.Parse` then `URL.EscapedPath()`): the text itself when it is a valid encoding, otherwise
/// its canonical re-escaping. Fails like `url.Parse` on a malformed `%` escape.
pub fn wire_path(path: &str) -> Result<String, EscapeError> {
    let decoded = path_unescape_bytes(path)?;
    if valid_encoded_path(path) {
        return Ok(path.to_owned());
    }
    Ok(percent_encode(&decoded, PATH).to_string())
}

/// The path Go's server routes on for a request line path `raw`: chi takes `URL.RawPath` when Go
/// kept one (the raw text differs from the canonical escaping of the decoded path), otherwise the
/// decoded `URL.Path`. Returns `(routing path, decoded path)`.
pub fn server_paths(raw: &str) -> (String, String) {
    match path_unescape_bytes(raw) {
        Ok(decoded) => {
            let canonical = Cow::from(percent_encode(&decoded, PATH)) == raw;
            let decoded = bytes_to_string(decoded);
            if canonical {
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

/// Go's `unescape(s, encodePath)` as bytes: `+` stays `+`.
fn path_unescape_bytes(s: &str) -> Result<Vec<u8>, EscapeError> {
    check_escapes(s)?;
    Ok(percent_decode_str(s).collect())
}

/// Fails on the first `%` that does not start a `%XX` escape, quoting what Go quotes (the `%` and
/// at most two bytes after it).
fn check_escapes(s: &str) -> Result<(), EscapeError> {
    let b = s.as_bytes();
    for (i, _) in s.match_indices('%') {
        if !b.get(i + 1..i + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
            let end = (i + 3).min(b.len());
            return Err(EscapeError(String::from_utf8_lossy(&b[i..end]).into_owned()));
        }
    }
    Ok(())
}

/// Bytes → String, keeping any invalid UTF-8 byte as its `%XX` escape (see the module doc).
fn bytes_to_string(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let mut out = String::with_capacity(e.as_bytes().len() + 8);
            for chunk in e.as_bytes().utf8_chunks() {
                out.push_str(chunk.valid());
                out.extend(percent_encode(chunk.invalid(), PATH));
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
        assert_eq!(server_paths("/a+b").1, "/a+b", "in a path `+` stays `+`");
        assert_eq!(query_unescape("%2B").unwrap(), "+");
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
        assert_eq!(server_paths("/a%FFb").1, "/a%FFb");
        assert_eq!(query_unescape("a%FFb%C3%A9").unwrap(), "a%FFbé");
        assert_eq!(wire_path("/a%FFb").unwrap(), "/a%FFb");
    }
}

/// Go's `url.ParseQuery` as `r.URL.Query()` uses it: `&`-separated pairs, keys and values
/// query-unescaped, pairs with a bad escape (or a `;`) dropped. Order is kept.
///
/// Not `form_urlencoded::parse`: that one keeps a bad escape literally and splits nothing on `;`,
/// so `metadata.ttlInSeconds=%zz` or `a=1;b=2` would reach the store where daprd drops them.
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
