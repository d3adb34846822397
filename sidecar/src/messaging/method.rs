//! daprd's method normalisation (`pkg/messaging/method/normalize.go`, the v1.18.0 security fix):
//! refuse `#`, `?`, NUL and control bytes, then `path.Clean` without leading `../` or `/`.

use crate::golang::{path, quote};

/// A method with a character daprd refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rpc error: code = InvalidArgument desc = invalid method: method contains forbidden character: {}", quote::quote(.0))]
pub struct ForbiddenMethod(pub String);

/// Normalises `method` or refuses it.
pub fn normalize(method: &str) -> Result<String, ForbiddenMethod> {
    if method.chars().any(|c| matches!(c, '#' | '?' | '\0' | '\u{1}'..='\u{1f}' | '\u{7f}')) {
        return Err(ForbiddenMethod(method.to_owned()));
    }
    let mut cleaned = path::clean(method);
    // A relative path cannot climb above the app's root: drop leading `../` (and a bare `..`).
    while let Some(rest) = cleaned.strip_prefix("../") {
        cleaned = rest.to_owned();
    }
    if cleaned == "." || cleaned == ".." {
        cleaned.clear();
    }
    Ok(cleaned.trim_start_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn forbidden_characters_are_refused_with_daprd_text() {
        let e = normalize("test#stream").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"rpc error: code = InvalidArgument desc = invalid method: method contains forbidden character: "test#stream""#
        );
        for m in ["a?b", "a\0b", "a\rb", "a\u{7f}"] {
            assert!(normalize(m).is_err(), "{m:?}");
        }
    }

    #[test]
    fn paths_are_cleaned() {
        assert_eq!(normalize("admin/../public").unwrap(), "public");
        assert_eq!(normalize("../../etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(normalize("a//b/").unwrap(), "a/b");
        assert_eq!(normalize(".").unwrap(), "");
        assert_eq!(normalize("..").unwrap(), "");
        assert_eq!(normalize("/x").unwrap(), "x");
        assert_eq!(normalize("test\"stream").unwrap(), "test\"stream");
        assert_eq!(normalize("test%stream").unwrap(), "test%stream");
    }
}
