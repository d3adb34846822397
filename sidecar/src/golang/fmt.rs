//! Go's `fmt.Sprintf("%s", v)` of a value `encoding/json` decoded into `interface{}`: the local
//! file secret store (components-contrib `secretstores/local/file`) renders every leaf of its JSON
//! file this way, so a number or boolean in the file reads back as Go's "bad verb" text
//! (`%!s(float64=5432)`, `%!s(bool=true)`, `%!s(<nil>)`), not as `5432` or `true`.

use serde_json::Value;

/// `fmt.Sprintf("%s", v)` for a JSON scalar (strings as they are).
pub fn sprint_s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => format!("%!s(bool={b})"),
        Value::Null => "%!s(<nil>)".to_owned(),
        Value::Number(n) => format!("%!s(float64={})", float_v(n.as_f64().unwrap_or(0.0))),
        // Not a leaf: callers walk objects and arrays themselves.
        other => other.to_string(),
    }
}

/// `%v` of a float64: `strconv.FormatFloat(f, 'g', -1, 64)`, the shortest digits, in exponent
/// form when the decimal exponent is below -4 or at least 6 (the precision Go decides with for
/// the shortest form): `123456`, `1e+06`, `0.0001`, `1e-05`.
pub fn float_v(f: f64) -> String {
    if f == 0.0 {
        return "0".to_owned();
    }
    let sci = format!("{f:e}"); // shortest digits, e.g. "1.234567e6"
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leaves_render_like_go_percent_s() {
        assert_eq!(sprint_s(&json!("pw")), "pw");
        assert_eq!(sprint_s(&json!(5432)), "%!s(float64=5432)");
        assert_eq!(sprint_s(&json!(1.5)), "%!s(float64=1.5)");
        assert_eq!(sprint_s(&json!(true)), "%!s(bool=true)");
        assert_eq!(sprint_s(&json!(null)), "%!s(<nil>)");
    }

    #[test]
    fn floats_switch_to_exponents_where_go_does() {
        assert_eq!(float_v(123456.0), "123456");
        assert_eq!(float_v(1e6), "1e+06");
        assert_eq!(float_v(1234567.0), "1.234567e+06");
        assert_eq!(float_v(0.0001), "0.0001");
        assert_eq!(float_v(0.00001), "1e-05");
        assert_eq!(float_v(-2.5e21), "-2.5e+21");
        assert_eq!(float_v(0.0), "0");
    }
}
