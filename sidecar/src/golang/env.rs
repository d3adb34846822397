//! Go's `os.ExpandEnv`: daprd expands `$VAR` and `${VAR}` in a Configuration file before it
//! parses the YAML (`config.LoadStandaloneConfiguration`), so the stand-in does the same to the
//! same text.
//!
//! Go's rules: `${name}` or `$name` (letters, digits, `_`) is replaced by the variable (empty when
//! unset); `$` followed by one of `*#$@!?-` or a digit is a one-character name; `${}` and an
//! unclosed `${` are dropped; a `$` followed by anything else (or at the end) stays as it is.

/// Expands `text` with `lookup` (the sidecar's environment) as `os.ExpandEnv` does.
pub fn expand(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0; // bytes of `text` already handled
    let mut j = 0;
    while j < bytes.len() {
        if bytes[j] == b'$' && j + 1 < bytes.len() {
            out.push_str(&text[copied..j]);
            let (name, width) = shell_name(&text[j + 1..]);
            match name {
                Some(name) => out.push_str(&lookup(name).unwrap_or_default()),
                // Valid syntax but no name: the dollar stays.
                None if width == 0 => out.push('$'),
                // Bad syntax (`${}`, `${...` unclosed): eaten.
                None => {}
            }
            j += width;
            copied = j + 1;
        }
        j += 1;
    }
    out.push_str(&text[copied.min(text.len())..]);
    out
}

/// Go's `getShellName`: the name after a `$` and how many bytes it spans.
fn shell_name(s: &str) -> (Option<&str>, usize) {
    let b = s.as_bytes();
    if b[0] == b'{' {
        if b.len() > 2 && is_special(b[1]) && b[2] == b'}' {
            return (Some(&s[1..2]), 3);
        }
        return match s[1..].find('}') {
            Some(0) => (None, 2),
            Some(i) => (Some(&s[1..=i]), i + 2),
            None => (None, 1),
        };
    }
    if is_special(b[0]) {
        return (Some(&s[..1]), 1);
    }
    let n = b.iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
    if n == 0 {
        (None, 0)
    } else {
        (Some(&s[..n]), n)
    }
}

fn is_special(c: u8) -> bool {
    matches!(c, b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-') || c.is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::expand;

    fn env(name: &str) -> Option<String> {
        match name {
            "NS" => Some("prod".into()),
            "A_1" => Some("x".into()),
            "1" => Some("one".into()),
            _ => None,
        }
    }

    #[test]
    fn names_braces_and_unset_variables_expand_as_go_does() {
        assert_eq!(expand("ns: $NS", env), "ns: prod");
        assert_eq!(expand("ns: ${NS}-x", env), "ns: prod-x");
        assert_eq!(expand("$A_1.y", env), "x.y");
        assert_eq!(expand("$MISSING|", env), "|");
        assert_eq!(expand("$1 ${1}", env), "one one");
    }

    #[test]
    fn odd_dollars_follow_go() {
        assert_eq!(expand("cost: 5$", env), "cost: 5$");
        assert_eq!(expand("a $ b", env), "a $ b");
        assert_eq!(expand("a ${} b", env), "a  b");
        assert_eq!(expand("a ${NS", env), "a NS");
        assert_eq!(expand("$$", env), "");
        assert_eq!(expand("no dollars", env), "no dollars");
    }
}
