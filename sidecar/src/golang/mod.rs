//! The Go standard-library behaviours that daprd exposes on the wire, reproduced so the stand-in
//! answers byte for byte like daprd: `path.Clean`, `net/url` escaping, `strconv.Quote`,
//! `time.Duration.String`, `net/http.StatusText`, `encoding/json.Marshal` of decoded JSON, `os.ExpandEnv` and `%s` of
//! JSON leaves.
//!
//! Only what no well-kept crate reproduces stays here, built on crates where they fit
//! (`percent-encoding` sets, `serde_json`'s formatter, `humantime`'s parser); each helper says
//! which daprd output needs it. Where a crate prints Go's bytes already, it is used directly:
//! RFC 3339 expiry times are `humantime::format_rfc3339_seconds` (see `api::state`).
//!
//! Each file is named for the Go package whose behaviour it copies, and says which function.

pub mod duration;
pub mod env;
pub mod fmt;
pub mod json;
pub mod path;
pub mod quote;
pub mod status;
pub mod url;
