//! Kubernetes resource quantities (`4Mi`, `512Mi`, `4Ki`, `1G`, `1000`) as daprd parses
//! `--max-body-size` and `--read-buffer-size`.

/// A quantity that could not be parsed; the message names the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity {0:?}: expected a number with an optional suffix such as 4Mi, 512Ki or 1G")]
pub struct QuantityError(pub String);

/// Parses a quantity into bytes: binary suffixes `Ki Mi Gi Ti Pi Ei`, decimal `k M G T P E`,
/// or a plain (possibly fractional) number. Fractions round up, as Kubernetes does.
pub fn parse_bytes(text: &str) -> Result<u64, QuantityError> {
    let err = || QuantityError(text.to_owned());
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    if num.is_empty() {
        return Err(err());
    }
    let value: f64 = num.parse().map_err(|_| err())?;
    let scale: f64 = match suffix {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        _ => return Err(err()),
    };
    let bytes = (value * scale).ceil();
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(err());
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn parses_binary_and_decimal_suffixes() {
        assert_eq!(parse_bytes("4Mi").unwrap(), 4 << 20);
        assert_eq!(parse_bytes("4Ki").unwrap(), 4 << 10);
        assert_eq!(parse_bytes("1G").unwrap(), 1_000_000_000);
        assert_eq!(parse_bytes("1000").unwrap(), 1000);
        assert_eq!(parse_bytes("0.5Ki").unwrap(), 512);
        assert!(parse_bytes("4MB").is_err());
        assert!(parse_bytes("Mi").is_err());
        assert!(parse_bytes("").is_err());
    }
}
