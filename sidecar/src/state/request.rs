//! Decoding the state API's JSON bodies the way daprd's Go code does, including Go's error texts
//! where a client could see them: `EOF`, `json: cannot unmarshal object into Go value of type
//! []state.SetRequest`, `"key" is a required field`, ...
//!
//! The text is parsed with serde_json; what follows is only Go's typing rules (field names match
//! case-insensitively, `null` leaves a zero value, the first JSON value wins and trailing bytes
//! are ignored, as with `json.NewDecoder(r.Body).Decode`).

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One item of a save request (`state.SetRequest`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SetRequest {
    /// `key`.
    pub key: String,
    /// `value`; a missing value is JSON `null`.
    pub value: Value,
    /// `etag`.
    pub etag: Option<String>,
    /// `metadata`.
    pub metadata: BTreeMap<String, String>,
    /// `options.concurrency`.
    pub concurrency: Option<String>,
    /// `options.consistency`.
    pub consistency: Option<String>,
}

/// A bulk get request (`{"keys":[...],"parallelism":n,"metadata":{}}`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BulkGetRequest {
    /// `keys`.
    pub keys: Vec<String>,
    /// `metadata`.
    pub metadata: BTreeMap<String, String>,
}

/// One transaction operation before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct TxOperation {
    /// `operation` (`upsert` / `delete`), as sent.
    pub operation: String,
    /// `request`, decoded as a set request (a delete only uses key, etag and options).
    pub request: SetRequest,
}

/// A transaction request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TxRequest {
    /// `operations`.
    pub operations: Vec<TxOperation>,
    /// `metadata`.
    pub metadata: BTreeMap<String, String>,
}

/// Go's decoding error text for `body`.
pub type GoError = String;

/// Decodes a save body (`[]state.SetRequest`) and checks every key is present.
pub fn decode_save(body: &[u8]) -> Result<Vec<SetRequest>, GoError> {
    let items = match first_value(body)? {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => return Err(type_error(&other, "[]state.SetRequest")),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let req = match item {
            Value::Null => SetRequest::default(),
            Value::Object(m) => set_request(&m, "SetRequest")?,
            other => return Err(type_error(&other, "state.SetRequest")),
        };
        out.push(req);
    }
    if out.iter().any(|r| r.key.is_empty()) {
        return Err("\"key\" is a required field".to_owned());
    }
    Ok(out)
}

/// Decodes a bulk get body.
pub fn decode_bulk(body: &[u8]) -> Result<BulkGetRequest, GoError> {
    let m = match first_value(body)? {
        Value::Null => return Ok(BulkGetRequest::default()),
        Value::Object(m) => m,
        other => return Err(type_error(&other, "http.BulkGetRequest")),
    };
    let mut req = BulkGetRequest::default();
    if let Some(keys) = field(&m, "keys") {
        match keys {
            Value::Null => {}
            Value::Array(ks) => {
                for k in ks {
                    match k {
                        Value::String(s) => req.keys.push(s.clone()),
                        Value::Null => req.keys.push(String::new()),
                        other => return Err(field_error(other, "BulkGetRequest.keys", "string")),
                    }
                }
            }
            other => return Err(field_error(other, "BulkGetRequest.keys", "[]string")),
        }
    }
    if let Some(p) = field(&m, "parallelism") {
        if !matches!(p, Value::Number(_) | Value::Null) {
            return Err(field_error(p, "BulkGetRequest.parallelism", "int"));
        }
    }
    req.metadata = string_map(field(&m, "metadata"), "BulkGetRequest.metadata")?;
    Ok(req)
}

/// Decodes a transaction body.
pub fn decode_transaction(body: &[u8]) -> Result<TxRequest, GoError> {
    let m = match first_value(body)? {
        Value::Null => return Ok(TxRequest::default()),
        Value::Object(m) => m,
        other => return Err(type_error(&other, "http.stateTransactionRequestBody")),
    };
    let mut req = TxRequest {
        metadata: string_map(field(&m, "metadata"), "stateTransactionRequestBody.metadata")?,
        ..Default::default()
    };
    match field(&m, "operations") {
        None | Some(Value::Null) => {}
        Some(Value::Array(ops)) => {
            for op in ops {
                let om = match op {
                    Value::Object(om) => om,
                    Value::Null => {
                        req.operations
                            .push(TxOperation { operation: String::new(), request: SetRequest::default() });
                        continue;
                    }
                    other => return Err(type_error(other, "state.TransactionalStateOperation")),
                };
                let operation = match field(om, "operation") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => {
                        return Err(field_error(
                            other,
                            "TransactionalStateOperation.operation",
                            "state.OperationType",
                        ))
                    }
                };
                // `request` is decoded with mapstructure (case-insensitive names, weak typing off).
                let request = match field(om, "request") {
                    None | Some(Value::Null) => SetRequest::default(),
                    Some(Value::Object(rm)) => {
                        set_request(rm, "request").map_err(|e| e.replacen("json: ", "", 1))?
                    }
                    Some(other) => {
                        return Err(format!("'' expected a map, got '{}'", go_kind_mapstructure(other)));
                    }
                };
                req.operations.push(TxOperation { operation, request });
            }
        }
        Some(other) => {
            return Err(field_error(
                other,
                "stateTransactionRequestBody.operations",
                "[]state.TransactionalStateOperation",
            ))
        }
    }
    Ok(req)
}

fn set_request(m: &Map<String, Value>, ty: &str) -> Result<SetRequest, GoError> {
    let mut req = SetRequest {
        key: opt_string(field(m, "key"), &format!("{ty}.key"))?.unwrap_or_default(),
        ..Default::default()
    };
    req.value = field(m, "value").cloned().unwrap_or(Value::Null);
    req.etag = opt_string(field(m, "etag"), &format!("{ty}.etag"))?;
    req.metadata = string_map(field(m, "metadata"), &format!("{ty}.metadata"))?;
    match field(m, "options") {
        None | Some(Value::Null) => {}
        Some(Value::Object(o)) => {
            req.concurrency = opt_string(field(o, "concurrency"), &format!("{ty}.options.concurrency"))?;
            req.consistency = opt_string(field(o, "consistency"), &format!("{ty}.options.consistency"))?;
        }
        Some(other) => return Err(field_error(other, &format!("{ty}.options"), "state.SetStateOption")),
    }
    opt_string(field(m, "contentType"), &format!("{ty}.contentType"))?;
    Ok(req)
}

/// Go's struct field lookup: an exact name match first, then a case-insensitive one.
fn field<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    m.get(name).or_else(|| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

fn opt_string(v: Option<&Value>, path: &str) -> Result<Option<String>, GoError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(field_error(other, path, "string")),
    }
}

fn string_map(v: Option<&Value>, path: &str) -> Result<BTreeMap<String, String>, GoError> {
    match v {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => {
            let mut out = BTreeMap::new();
            for (k, v) in m {
                match v {
                    Value::String(s) => {
                        out.insert(k.clone(), s.clone());
                    }
                    Value::Null => {
                        out.insert(k.clone(), String::new());
                    }
                    other => return Err(field_error(other, path, "string")),
                }
            }
            Ok(out)
        }
        Some(other) => Err(field_error(other, path, "map[string]string")),
    }
}

/// Go's name for a JSON value's kind in unmarshal errors.
fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn go_kind_mapstructure(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        _ => "map",
    }
}

fn type_error(v: &Value, go_type: &str) -> GoError {
    format!("json: cannot unmarshal {} into Go value of type {go_type}", go_kind(v))
}

fn field_error(v: &Value, field: &str, go_type: &str) -> GoError {
    format!("json: cannot unmarshal {} into Go struct field {field} of type {go_type}", go_kind(v))
}

/// The first JSON value of `body`, as `json.Decoder.Decode` reads it (trailing bytes ignored).
fn first_value(body: &[u8]) -> Result<Value, GoError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("EOF".to_owned());
    }
    let mut stream = serde_json::Deserializer::from_slice(body).into_iter::<Value>();
    match stream.next() {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(syntax_error(body, &e)),
        None => Err("EOF".to_owned()),
    }
}

/// Go's wording for a JSON syntax error: `unexpected EOF` when the text stops early, else
/// `invalid character 'x' looking for beginning of value` naming the offending character.
fn syntax_error(body: &[u8], e: &serde_json::Error) -> GoError {
    if e.is_eof() {
        return "unexpected EOF".to_owned();
    }
    let text = String::from_utf8_lossy(body);
    let offending = text
        .lines()
        .nth(e.line().saturating_sub(1))
        .and_then(|l| l.chars().nth(e.column().saturating_sub(1)));
    match offending {
        Some(c) => format!("invalid character {} looking for beginning of value", go_char(c)),
        None => "unexpected EOF".to_owned(),
    }
}

/// Go's `quoteChar`: `'x'`, with `'\''` and `'"'` forms.
fn go_char(c: char) -> String {
    match c {
        '\'' => r"'\''".to_owned(),
        '"' => "'\"'".to_owned(),
        c if c.is_control() => {
            let q = crate::golang::quote::quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
        c => format!("'{c}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_errors_use_go_texts() {
        assert_eq!(decode_save(b"").unwrap_err(), "EOF");
        assert_eq!(
            decode_save(b"{}").unwrap_err(),
            "json: cannot unmarshal object into Go value of type []state.SetRequest"
        );
        assert_eq!(decode_save(b"[{}]").unwrap_err(), "\"key\" is a required field");
        assert_eq!(decode_save(br#"[{"ey":"k"}]"#).unwrap_err(), "\"key\" is a required field");
        assert_eq!(
            decode_save(br#"[{"key":"key1","value":"v","etag":123}]"#).unwrap_err(),
            "json: cannot unmarshal number into Go struct field SetRequest.etag of type string"
        );
        assert!(
            decode_save(b"foobar").unwrap_err().starts_with("invalid character 'o'")
                || decode_save(b"foobar").unwrap_err().starts_with("invalid character")
        );
        assert_eq!(decode_save(b"[1,").unwrap_err(), "unexpected EOF");
        assert!(decode_save(br#"[{"key":"a"},]"#).unwrap_err().starts_with("invalid character ']'"));
    }

    #[test]
    fn save_accepts_null_trailing_bytes_and_case_insensitive_names() {
        assert!(decode_save(b"null").unwrap().is_empty());
        let v =
            decode_save(br#"[{"KEY":"a","Value":{"x":1},"options":{"concurrency":"first-write"}}] trailing"#)
                .unwrap();
        assert_eq!(v[0].key, "a");
        assert_eq!(v[0].value, serde_json::json!({"x":1}));
        assert_eq!(v[0].concurrency.as_deref(), Some("first-write"));
    }

    #[test]
    fn transaction_and_bulk_decode() {
        let t = decode_transaction(br#"{"operations":[{"operation":"upsert","request":{"key":"a","value":1}},{"operation":"delete","request":{"key":"b"}}],"metadata":{"m":"1"}}"#).unwrap();
        assert_eq!(t.operations.len(), 2);
        assert_eq!(t.operations[1].operation, "delete");
        let b = decode_bulk(br#"{"keys":["a","b"],"parallelism":10}"#).unwrap();
        assert_eq!(b.keys, vec!["a", "b"]);
        assert!(decode_bulk(b"[]").is_err());
    }
}
