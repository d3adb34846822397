//! Printing results: aligned tables for people, JSON for scripts.

use serde_json::Value;

use crate::args::Output;

/// Prints a list of records with the given (header, field) columns, or the raw JSON.
pub fn list(format: Output, items: &[Value], columns: &[(&str, &str)]) {
    match format {
        Output::Json => println!("{}", serde_json::to_string_pretty(items).unwrap_or_default()),
        Output::Table => print!("{}", table(items, columns)),
    }
}

/// Prints one record: JSON, or `field: value` lines.
pub fn record(format: Output, item: &Value) {
    match format {
        Output::Json => println!("{}", serde_json::to_string_pretty(item).unwrap_or_default()),
        Output::Table => {
            if let Value::Object(map) = item {
                // The envelope says the call worked; it is not part of the record.
                let fields: Vec<_> =
                    map.iter().filter(|(k, _)| !matches!(k.as_str(), "ret" | "msg")).collect();
                let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
                for (k, v) in fields {
                    println!("{k:width$}  {}", cell(v));
                }
            } else {
                println!("{}", cell(item));
            }
        }
    }
}

/// A value as one table cell: strings bare, lists joined, objects as compact JSON.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.iter().all(|x| !x.is_object()) => {
            a.iter().map(cell).collect::<Vec<_>>().join(",")
        }
        other => other.to_string(),
    }
}

/// Renders `items` as left-aligned columns with a header row. A dotted field (`a.b`) reads a
/// nested value.
pub fn table(items: &[Value], columns: &[(&str, &str)]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            columns
                .iter()
                .map(|(_, field)| cell(field.split('.').fold(item, |v, k| v.get(k).unwrap_or(&Value::Null))))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (h, _))| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0).max(h.len()))
        .collect();
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(columns.iter().map(|(h, _)| *h).collect());
    for r in &rows {
        line(r.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_columns_and_read_nested_fields() {
        let items =
            [json!({"id": "echo", "status": "ACTIVE", "v": {"n": 1}}), json!({"id": "greeter-emoji"})];
        let t = table(&items, &[("ID", "id"), ("STATUS", "status"), ("N", "v.n")]);
        assert_eq!(t, "ID             STATUS  N\necho           ACTIVE  1\ngreeter-emoji  -       -\n");
    }
}
