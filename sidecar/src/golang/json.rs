//! Go's `encoding/json.Marshal` of a value that came out of `json.Unmarshal` into `interface{}`.
//!
//! daprd decodes a state value from the request into `interface{}` and the in-memory and sqlite
//! stores store `json.Marshal` of it, so what a client reads back is Go's rendering: object keys
//! sorted, compact, every number a float64 (`1.0` → `1`, `1e21` → `1e+21`), and `<`, `>`, `&`,
//! U+2028, U+2029 escaped as `\u003c` etc. This is serde_json with a custom [`Formatter`], not a
//! hand-written encoder; it stays because those are the bytes a client reads back from the
//! state API (and bulk get's strings), and serde_json alone keeps key order, `1.0` and `<`.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::ser::Formatter;
use serde_json::Value;
use std::io;

/// `json.Marshal(v)` where `v` is what Go's decoder would have produced for `value`.
pub fn marshal(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    // Writing into a Vec cannot fail, and every number is finite (it came from JSON text).
    let _ = GoValue(value).serialize(&mut ser);
    out
}

/// What components-contrib's Redis store writes for `value`: json-iterator's `ConfigFastest`
/// marshalling (`MarshalFloatWith6Digits`, no HTML escaping) of Go's decoded value. Go leaves map
/// key order to its random map iteration there; keys come out sorted here, one of its orders.
pub fn marshal_fastest(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, FastestFormatter);
    let _ = GoValue(value).serialize(&mut ser);
    out
}

/// json-iterator's `WriteFloat64Lossy`: six decimals at most, rounded half up, below 0x4ffffff;
/// the full float above.
pub fn float_lossy(f: f64) -> String {
    if f < 0.0 {
        return format!("-{}", float_lossy(-f));
    }
    if f > f64::from(0x4ff_ffff) {
        return float(f);
    }
    let scaled = (f * 1e6 + 0.5) as u64;
    let (int, frac) = (scaled / 1_000_000, scaled % 1_000_000);
    if frac == 0 {
        return int.to_string();
    }
    let frac = format!("{frac:06}");
    format!("{int}.{}", frac.trim_end_matches('0'))
}

/// A JSON string literal for `s`, escaped as Go's encoder does (HTML-safe).
pub fn string(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 2);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    let _ = ser.serialize_str(s);
    out
}

/// A float64 formatted as Go's encoder formats it (`strconv.AppendFloat` with `'f'` or, outside
/// `[1e-6, 1e21)`, `'e'` with the exponent cleaned up to `e-7` / `e+21`).
pub fn float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let digits = exp.unsigned_abs();
        if exp < 0 {
            format!("{mantissa}e-{digits}")
        } else {
            format!("{mantissa}e+{digits:02}")
        }
    } else {
        // Rust's Display is the shortest round-trip representation without an exponent, which
        // is exactly Go's `'f'` format with precision -1.
        format!("{f}")
    }
}

/// Serialises a [`Value`] the way Go sees it: numbers as float64, object keys sorted bytewise.
struct GoValue<'a>(&'a Value);

impl Serialize for GoValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => s.serialize_f64(n.as_f64().unwrap_or(0.0)),
            Value::String(st) => s.serialize_str(st),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&GoValue(item))?;
                }
                seq.end()
            }
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                let mut m = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    m.serialize_entry(k, &GoValue(v))?;
                }
                m.end()
            }
        }
    }
}

/// Compact output with Go's float format and Go's HTML-safe string escaping.
struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(float(value).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // serde_json already escapes quotes, backslashes and control characters (the same way
        // Go >= 1.22 does); Go additionally escapes these five for safe embedding in HTML.
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let esc: &[u8] = match c {
                '<' => b"\\u003c",
                '>' => b"\\u003e",
                '&' => b"\\u0026",
                '\u{2028}' => b"\\u2028",
                '\u{2029}' => b"\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(esc)?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// Compact output with json-iterator's lossy floats and no HTML escaping.
struct FastestFormatter;

impl Formatter for FastestFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(float_lossy(value).as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(text: &str) -> String {
        String::from_utf8(marshal(&serde_json::from_str(text).unwrap())).unwrap()
    }

    #[test]
    fn objects_are_sorted_and_compact() {
        assert_eq!(go(r#"{ "b": 1, "a": {"d": [1, 2], "c": null} }"#), r#"{"a":{"c":null,"d":[1,2]},"b":1}"#);
    }

    #[test]
    fn numbers_are_float64() {
        assert_eq!(go("1.0"), "1");
        assert_eq!(go("1e21"), "1e+21");
        assert_eq!(go("1e20"), "100000000000000000000");
        assert_eq!(go("0.000001"), "0.000001");
        assert_eq!(go("0.0000001"), "1e-7");
        assert_eq!(go("1.5e-10"), "1.5e-10");
        assert_eq!(go("-0.0"), "-0");
        assert_eq!(go("12345678901234567890"), "12345678901234567000");
        assert_eq!(go("9007199254740993"), "9007199254740992");
        assert_eq!(go("3.14"), "3.14");
        assert_eq!(go("-2.5e300"), "-2.5e+300");
    }

    #[test]
    fn strings_are_html_escaped_and_keep_quotes() {
        assert_eq!(go(r#""hello""#), r#""hello""#);
        assert_eq!(go(r#""<a&b>""#), r#""\u003ca\u0026b\u003e""#);
        assert_eq!(go("\"\u{2028}x\u{2029}\""), r#""\u2028x\u2029""#);
        assert_eq!(go(r#""tab\tnl\nq\"bs\\""#), r#""tab\tnl\nq\"bs\\""#);
        assert_eq!(go(r#""\u0001""#), r#""\u0001""#);
        assert_eq!(go(r#""é/""#), r#""é/""#);
    }

    #[test]
    fn fastest_is_lossy_and_not_html_escaped() {
        let fast = |t: &str| String::from_utf8(marshal_fastest(&serde_json::from_str(t).unwrap())).unwrap();
        assert_eq!(fast(r#"{"b":1.0,"a":"<x&y>"}"#), r#"{"a":"<x&y>","b":1}"#);
        assert_eq!(fast("3.14159265"), "3.141593");
        assert_eq!(fast("0.0000001"), "0");
        assert_eq!(fast("-0.5"), "-0.5");
        assert_eq!(fast("0.05"), "0.05");
        assert_eq!(fast("1e21"), "1e+21");
        assert_eq!(fast("12345678901234567890"), "12345678901234567000");
    }
}
