//! The `{"ret": 0, "msg": "ok"}` envelope that tops every protocol response. `ret != 0` means
//! failure whatever the HTTP status; Keel's own refusals use negative codes.

use serde::{Deserialize, Serialize};

/// The envelope alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// 0 on success.
    #[serde(default)]
    pub ret: i32,
    /// A message for people: `ok` on success, what went wrong otherwise.
    #[serde(default)]
    pub msg: String,
}

impl Envelope {
    /// `{"ret": 0, "msg": "ok"}`.
    pub fn ok() -> Self {
        Self { ret: 0, msg: "ok".to_owned() }
    }

    /// A failure with its code and message.
    pub fn error(ret: i32, msg: impl Into<String>) -> Self {
        Self { ret, msg: msg.into() }
    }

    /// True when `ret == 0`.
    pub fn is_ok(&self) -> bool {
        self.ret == 0
    }
}

/// A payload with the envelope flattened next to its fields: `{"ret":0,"msg":"ok",...body}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply<T> {
    /// The envelope fields.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The payload's own fields.
    #[serde(flatten)]
    pub body: T,
}

impl<T> Reply<T> {
    /// A successful reply carrying `body`.
    pub fn ok(body: T) -> Self {
        Self { envelope: Envelope::ok(), body }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reply_flattens_the_envelope_next_to_the_payload() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct S {
            status: String,
        }
        let v = serde_json::to_value(Reply::ok(S { status: "ACTIVE".into() })).unwrap();
        assert_eq!(v, json!({"ret": 0, "msg": "ok", "status": "ACTIVE"}));
        let back: Reply<S> = serde_json::from_value(v).unwrap();
        assert!(back.envelope.is_ok());
    }

    #[test]
    fn missing_envelope_fields_default_to_success_shape() {
        let e: Envelope = serde_json::from_str("{}").unwrap();
        assert_eq!(e.ret, 0);
        assert!(e.msg.is_empty());
    }
}
