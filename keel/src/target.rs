//! Reading the destination out of a request path, without allocating: `/<plugin_id>/<endpoint...>`
//! and `/addons/<point>` on the app port, `/apis/<plugin_id>/<endpoint...>` on the public port.
//!
//! The endpoint is kept exactly as it arrived (still percent-encoded), so keel's sidecar decodes
//! it once, as it would for a direct call. Dot segments are refused: they would let a path climb
//! out of `/v1.0/invoke/<id>/method/` into the rest of keel's sidecar API.

use percent_encoding::percent_decode_str;

use super::errors::RouteError;
use keel_sdk::protocol::PluginId;
use keel_sdk::protocol::KEEL_APP_ID;

/// The first segment that names addon callbacks instead of a plugin.
pub const ADDONS: &str = "addons";
/// The prefix of the external flow on the public port.
pub const PUBLIC_PREFIX: &str = "/apis/";

/// Where a request asks to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination<'a> {
    /// A plugin's endpoint (relative, percent-encoded as received).
    Plugin { plugin: &'a str, endpoint: &'a str },
    /// One of the caller's own addon points.
    Addon { point: &'a str },
}

/// Parses a path of keel's app port (internal flow).
pub fn internal(path: &str) -> Result<Destination<'_>, RouteError> {
    let rest = path.strip_prefix('/').ok_or_else(|| bad(path, "it must start with '/'"))?;
    let (first, tail) = rest
        .split_once('/')
        .ok_or_else(|| bad(path, "expected /<plugin_id>/<endpoint> or /addons/<point>"))?;
    if first == ADDONS {
        if tail.is_empty() || tail.contains('/') || is_dot_segment(tail) {
            return Err(bad(path, "an addon point is one path segment: /addons/<point>"));
        }
        return Ok(Destination::Addon { point: tail });
    }
    plugin_endpoint(path, first, tail)
}

/// Parses a path of keel's public port (external flow): only plugins, never addon points.
pub fn public(path: &str) -> Result<Destination<'_>, RouteError> {
    let rest =
        path.strip_prefix(PUBLIC_PREFIX).ok_or_else(|| bad(path, "expected /apis/<plugin_id>/<endpoint>"))?;
    let (first, tail) =
        rest.split_once('/').ok_or_else(|| bad(path, "expected /apis/<plugin_id>/<endpoint>"))?;
    if first == ADDONS {
        return Err(RouteError::Forbidden(
            "addon points are called by the plugin that declares them, not from outside".into(),
        ));
    }
    plugin_endpoint(path, first, tail)
}

fn plugin_endpoint<'a>(
    path: &str,
    plugin: &'a str,
    endpoint: &'a str,
) -> Result<Destination<'a>, RouteError> {
    PluginId::parse(plugin).map_err(RouteError::BadId)?;
    if plugin == KEEL_APP_ID {
        // Routing keel to itself would make keel the caller of the next hop and hide who called.
        return Err(RouteError::Forbidden(
            "keel does not route to itself: call keel's /v1/... API directly".into(),
        ));
    }
    if endpoint.is_empty() {
        return Err(bad(path, "no endpoint after the plugin id"));
    }
    if endpoint.split('/').any(is_dot_segment) {
        return Err(bad(path, "'.' and '..' segments are not allowed"));
    }
    Ok(Destination::Plugin { plugin, endpoint })
}

/// `.` or `..`, also when percent-encoded (`%2e%2E`).
fn is_dot_segment(segment: &str) -> bool {
    if segment.len() > 6 {
        return false;
    }
    let mut decoded = percent_decode_str(segment);
    matches!(
        (decoded.next(), decoded.next(), decoded.next()),
        (Some(b'.'), None, _) | (Some(b'.'), Some(b'.'), None)
    )
}

fn bad(path: &str, reason: &'static str) -> RouteError {
    // Cut what is echoed back: the path is the caller's input.
    let shown: String = path.chars().take(200).collect();
    RouteError::BadPath { path: shown, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::ResponseError;

    fn status(r: Result<Destination<'_>, RouteError>) -> u16 {
        r.unwrap_err().status_code().as_u16()
    }

    #[test]
    fn plugin_paths_keep_the_endpoint_as_received() {
        assert_eq!(
            internal("/echo/a/b%20c/d").unwrap(),
            Destination::Plugin { plugin: "echo", endpoint: "a/b%20c/d" }
        );
        assert_eq!(internal("/addons/before-send").unwrap(), Destination::Addon { point: "before-send" });
        assert_eq!(public("/apis/echo/x").unwrap(), Destination::Plugin { plugin: "echo", endpoint: "x" });
    }

    #[test]
    fn malformed_paths_are_400() {
        for p in ["/", "/echo", "/echo/", "echo/x", "/Echo/x", "/ec%68o/x", "/addons/", "/addons/a/b"] {
            assert_eq!(status(internal(p)), 400, "{p}");
        }
        for p in ["/apis/echo", "/echo/x", "/apis//x"] {
            assert_eq!(status(public(p)), 400, "{p}");
        }
    }

    #[test]
    fn dot_segments_cannot_climb_out_of_the_invoke_path() {
        for p in [
            "/echo/../../v1.0/state/statestore/k",
            "/echo/a/./b",
            "/echo/%2e%2E/x",
            "/echo/.%2e",
            "/addons/..",
        ] {
            assert_eq!(status(internal(p)), 400, "{p}");
        }
        assert!(internal("/echo/...").is_ok());
        assert!(internal("/echo/.well-known/x").is_ok());
    }

    #[test]
    fn keel_itself_and_external_addons_are_forbidden() {
        assert_eq!(status(internal("/keel/v1/routes")), 403);
        assert_eq!(status(public("/apis/keel/v1/status")), 403);
        assert_eq!(status(public("/apis/addons/x")), 403);
    }
}
