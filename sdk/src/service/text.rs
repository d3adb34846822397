//! Quoting text that came from elsewhere (a peer's answer, a caller's input) in a message or a
//! log line, bounded so a huge or hostile body cannot flood either.

/// Bytes of a quoted body at most.
const SNIPPET_BYTES: usize = 512;

/// At most 512 bytes of `body`, lossily decoded, with `…` when it was cut. A character cut in
/// two at the limit is dropped rather than shown as a replacement character.
pub fn snippet(body: &[u8]) -> String {
    let mut cut = &body[..body.len().min(SNIPPET_BYTES)];
    if let Err(e) = std::str::from_utf8(cut) {
        if e.error_len().is_none() {
            cut = &cut[..e.valid_up_to()];
        }
    }
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if body.len() > cut.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_never_split_a_character() {
        // 'é' is two bytes: after one ASCII byte, a character straddles the 512-byte limit.
        let s = snippet(format!("a{}", "é".repeat(600)).as_bytes());
        assert_eq!(s, format!("a{}…", "é".repeat(255)));
        assert!(snippet(&[0xff; 600]).contains('\u{fffd}'), "bytes that are not text stay visible");
        assert_eq!(snippet(b"short"), "short");
    }
}
