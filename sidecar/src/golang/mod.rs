//! The Go standard-library behaviours that daprd exposes on the wire, reproduced so the stand-in
//! answers byte for byte like daprd: `path.Clean`, `net/url` escaping, `strconv.Quote`,
//! `time.Duration.String`, RFC 3339 timestamps and `encoding/json.Marshal` of decoded JSON.
//!
//! Each file is named for the Go package whose behaviour it copies, and says which function.

pub mod duration;
pub mod json;
pub mod path;
pub mod quote;
pub mod time;
pub mod url;
