//! Reading the target out of a request path, without allocating: `/<plugin_id>/<endpoint...>`
//! and `/addons/<point>` on the app port (internal flow), `/apis/<plugin_id>/<endpoint...>` on
//! the public port (external flow), and on both `/plugin_service/<root_route>/<path...>`, a
//! hosted service, which is hosting's endpoint of the same path (`docs/hosting.md`); on the
//! public port also `/plugins/<group>/<rest...>`, a console entry's page, which is the endpoint
//! `plugins/<group>/<rest...>` of the group's owner (`docs/console.md`). This is the *resolve* step's first half: each way in turns
//! its path shape into an [`Endpoint`] (or, internally, an addon point), and from there every
//! flow shares the same checks and forwarding (`forward.rs`). A new prefix of the public port
//! is one more function here returning an [`Endpoint`].
//!
//! The endpoint is kept exactly as it arrived (still percent-encoded), so keel's sidecar decodes
//! it once, as it would for a direct call. Dot segments are refused: they would let a path climb
//! out of `/v1.0/invoke/<id>/method/` into the rest of keel's sidecar API.

use percent_encoding::percent_decode_str;

use super::errors::RouteError;
use keel_sdk::protocol::PluginId;
use keel_sdk::protocol::{HOSTING_APP_ID, KEEL_APP_ID};

/// The first segment that names addon callbacks instead of a plugin.
pub const ADDONS: &str = "addons";
/// The prefix of the external flow's plugin calls on the public port.
pub const APIS_PREFIX: &str = "/apis/";
/// The first segment of hosted services' paths, on both ports.
pub const HOSTED: &str = "plugin_service";
/// The first segment of console entries' paths, on the public port.
pub const CONSOLE: &str = "plugins";

/// A plugin's endpoint named by a path: the plugin id (valid, not keel, not `addons`) and the
/// endpoint on it (relative, percent-encoded as received, no dot segments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint<'a> {
    /// The plugin id.
    pub plugin: &'a str,
    /// The endpoint on it.
    pub endpoint: &'a str,
}

/// Where an internal request asks to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination<'a> {
    /// A plugin's endpoint.
    Plugin(Endpoint<'a>),
    /// One of the caller's own addon points.
    Addon { point: &'a str },
}

/// Parses a path of keel's app port (internal flow).
pub fn internal(path: &str) -> Result<Destination<'_>, RouteError> {
    let rest = path.strip_prefix('/').ok_or_else(|| bad(path, "it must start with '/'"))?;
    let (first, tail) = rest
        .split_once('/')
        .ok_or_else(|| bad(path, "expected /<plugin_id>/<endpoint> or /addons/<point>"))?;
    if first == HOSTED {
        return hosted(path).map(Destination::Plugin);
    }
    if first == ADDONS {
        if tail.is_empty() || tail.contains('/') || is_dot_segment(tail) {
            return Err(bad(path, "an addon point is one path segment: /addons/<point>"));
        }
        if has_forbidden_escape(tail) {
            return Err(bad(path, FORBIDDEN_ESCAPES));
        }
        return Ok(Destination::Addon { point: tail });
    }
    plugin_endpoint(path, first, tail).map(Destination::Plugin)
}

/// Parses a path of keel's public port (external flow): `/apis/<plugin_id>/<endpoint...>`, a
/// hosted service or a console entry's page; only plugins, never addon points.
pub fn external(path: &str) -> Result<Endpoint<'_>, RouteError> {
    if path.strip_prefix('/').and_then(|p| p.strip_prefix(HOSTED)).is_some_and(|p| p.starts_with('/')) {
        return hosted(path);
    }
    if is_console_path(path) {
        return console(path);
    }
    let rest =
        path.strip_prefix(APIS_PREFIX).ok_or_else(|| bad(path, "expected /apis/<plugin_id>/<endpoint>"))?;
    let (first, tail) =
        rest.split_once('/').ok_or_else(|| bad(path, "expected /apis/<plugin_id>/<endpoint>"))?;
    plugin_endpoint(path, first, tail)
}

/// `/plugin_service/<root_route>/<path...>`: hosting's endpoint `plugin_service/<root_route>/...`
/// (hosting strips the prefix and finds the service; a root it does not serve is its 404).
pub fn hosted(path: &str) -> Result<Endpoint<'_>, RouteError> {
    let endpoint = &path[1..];
    let root = endpoint.split('/').nth(1).unwrap_or_default();
    if root.is_empty() {
        return Err(bad(path, "expected /plugin_service/<root_route>/<path>"));
    }
    plugin_endpoint(path, HOSTING_APP_ID, endpoint)
}

/// Whether a public-port path is a console entry's (`/plugins/...`): its group is resolved among
/// the table's console entries, not its plugins (`routes::console`).
pub fn is_console_path(path: &str) -> bool {
    path.strip_prefix('/').and_then(|p| p.strip_prefix(CONSOLE)).is_some_and(|p| p.starts_with('/'))
}

/// `/plugins/<group>/<rest...>`: the owner `<group>`'s endpoint `plugins/<group>/<rest...>`, the
/// path kept whole (TarsWeb's rule: an extension serves everything under its path).
pub fn console(path: &str) -> Result<Endpoint<'_>, RouteError> {
    let endpoint = &path[1..];
    let group = endpoint.split('/').nth(1).unwrap_or_default();
    if group.is_empty() {
        return Err(bad(path, "expected /plugins/<group>/<path>"));
    }
    plugin_endpoint(path, group, endpoint)
}

/// Whether `target` is a hosted service (a login is needed only when its bundle says so, which
/// hosting decides: see `gate`).
pub fn is_hosted(target: Endpoint<'_>) -> bool {
    target.plugin == HOSTING_APP_ID
        && target.endpoint.starts_with(HOSTED)
        && target.endpoint[HOSTED.len()..].starts_with('/')
}

/// The one check every path shape goes through once it has named a plugin and an endpoint.
fn plugin_endpoint<'a>(path: &str, plugin: &'a str, endpoint: &'a str) -> Result<Endpoint<'a>, RouteError> {
    if plugin == ADDONS {
        // The only way to an addon point is `/addons/<point>` on the app port, from the plugin
        // that declares it (the internal flow parses that before naming a plugin).
        return Err(RouteError::AddonsFromOutside);
    }
    PluginId::parse(plugin).map_err(RouteError::BadId)?;
    if plugin == KEEL_APP_ID {
        return Err(RouteError::KeelItself);
    }
    if endpoint.is_empty() {
        return Err(bad(path, "no endpoint after the plugin id"));
    }
    if endpoint.split('/').any(is_dot_segment) {
        return Err(bad(path, "'.' and '..' segments are not allowed"));
    }
    if has_forbidden_escape(endpoint) {
        return Err(bad(path, FORBIDDEN_ESCAPES));
    }
    Ok(Endpoint { plugin, endpoint })
}

const FORBIDDEN_ESCAPES: &str =
    "encoded control characters and '#' (%00 to %1F, %7F, %23) are not allowed in a path";

/// An encoded control character (`%00`–`%1F`, `%7F`: NUL, CR, LF and the rest) or `%23`, in any
/// case: once the sidecar decodes the path they would end it, split the request line or start a
/// fragment (daprd refuses them as a "forbidden character" in the method), so no plugin could be
/// meant by them.
fn has_forbidden_escape(s: &str) -> bool {
    s.as_bytes().windows(3).any(|w| {
        let hex = |b: u8| (b as char).to_digit(16);
        match (w[0], hex(w[1]), hex(w[2])) {
            (b'%', Some(hi), Some(lo)) => matches!(hi * 16 + lo, 0x00..=0x1f | 0x7f | 0x23),
            _ => false,
        }
    })
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
    use keel_sdk::protocol::errors::PlatformError;

    fn status<T: std::fmt::Debug>(r: Result<T, RouteError>) -> u16 {
        r.unwrap_err().status_code().as_u16()
    }

    fn code<T: std::fmt::Debug>(r: Result<T, RouteError>) -> (u16, &'static str) {
        let e = r.unwrap_err();
        (e.status_code().as_u16(), e.code().name())
    }

    #[test]
    fn plugin_paths_keep_the_endpoint_as_received() {
        assert_eq!(
            internal("/echo/a/b%20c/d").unwrap(),
            Destination::Plugin(Endpoint { plugin: "echo", endpoint: "a/b%20c/d" })
        );
        assert_eq!(internal("/addons/before-send").unwrap(), Destination::Addon { point: "before-send" });
        assert_eq!(external("/apis/echo/x").unwrap(), Endpoint { plugin: "echo", endpoint: "x" });
    }

    #[test]
    fn hosted_services_are_hostings_endpoints_on_both_ports() {
        let hello = Endpoint { plugin: "hosting", endpoint: "plugin_service/hello/a/b" };
        assert_eq!(external("/plugin_service/hello/a/b").unwrap(), hello);
        assert_eq!(internal("/plugin_service/hello/a/b").unwrap(), Destination::Plugin(hello));
        assert!(is_hosted(hello));
        assert!(!is_hosted(Endpoint { plugin: "hosting", endpoint: "v1/services" }));
        let root_only = Endpoint { plugin: "hosting", endpoint: "plugin_service/hello" };
        assert_eq!(external("/plugin_service/hello").unwrap(), root_only);
        for p in [
            "/plugin_service/",
            "/plugin_service//x",
            "/plugin_service/hello/../x",
            "/plugin_service/%2e%2e/x",
        ] {
            assert_eq!(status(external(p)), 400, "{p}");
            assert_eq!(status(internal(p)), 400, "{p}");
        }
        assert_eq!(status(external("/plugin_servicex/a")), 400);
    }

    #[test]
    fn console_paths_are_their_owners_endpoints_kept_whole() {
        let notes = Endpoint { plugin: "notes", endpoint: "plugins/notes/tab/a%20b" };
        assert_eq!(external("/plugins/notes/tab/a%20b").unwrap(), notes);
        assert!(
            is_console_path("/plugins/notes/x")
                && !is_console_path("/pluginsx/a")
                && !is_console_path("/plugins")
        );
        assert_eq!(
            external("/plugins/notes").unwrap(),
            Endpoint { plugin: "notes", endpoint: "plugins/notes" }
        );
        for p in [
            "/plugins/",
            "/plugins//x",
            "/plugins/notes/../auth/x",
            "/plugins/notes/%2e%2e/x",
            "/plugins/Bad/x",
        ] {
            assert_eq!(status(external(p)), 400, "{p}");
        }
        assert_eq!(code(external("/plugins/keel/x")), (403, "ERR_KEEL_NOT_ROUTABLE"));
        assert_eq!(code(external("/plugins/addons/x")), (403, "ERR_ADDONS_INTERNAL_ONLY"));
        // The app port has no console prefix: there `plugins` is the registry's id.
        assert_eq!(
            internal("/plugins/v1/plugins").unwrap(),
            Destination::Plugin(Endpoint { plugin: "plugins", endpoint: "v1/plugins" })
        );
    }

    #[test]
    fn malformed_paths_are_400() {
        for p in ["/", "/echo", "/echo/", "echo/x", "/Echo/x", "/ec%68o/x", "/addons/", "/addons/a/b"] {
            assert_eq!(status(internal(p)), 400, "{p}");
        }
        for p in ["/apis/echo", "/echo/x", "/apis//x"] {
            assert_eq!(status(external(p)), 400, "{p}");
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
    fn encoded_nul_cr_lf_and_hash_are_400() {
        for p in ["/echo/a%00b", "/echo/a%0D%0Ax", "/echo/x%0a", "/echo/a%23b", "/addons/p%00"] {
            assert_eq!(code(internal(p)), (400, "ERR_BAD_PATH"), "{p}");
        }
        assert_eq!(code(external("/apis/echo/%0d")), (400, "ERR_BAD_PATH"));
        for p in ["/apis/echo/a%0Eb", "/apis/echo/%1f", "/apis/echo/%7F", "/apis/echo/x%23y"] {
            assert_eq!(code(external(p)), (400, "ERR_BAD_PATH"), "{p}");
        }
        assert!(external("/apis/echo/%20%2F%7e").is_ok(), "other escapes pass as they are");
        for p in ["/echo/a%20b", "/echo/%2F", "/echo/%0", "/echo/%30%0"] {
            assert!(internal(p).is_ok(), "{p}");
        }
    }

    #[test]
    fn keel_itself_and_external_addons_are_named_refusals() {
        assert_eq!(code(internal("/keel/v1/routes")), (403, "ERR_KEEL_NOT_ROUTABLE"));
        assert_eq!(code(external("/apis/keel/v1/status")), (403, "ERR_KEEL_NOT_ROUTABLE"));
        assert_eq!(code(external("/apis/addons/x")), (403, "ERR_ADDONS_INTERNAL_ONLY"));
        assert_eq!(code(external("/apis/addons/x/y")), (403, "ERR_ADDONS_INTERNAL_ONLY"));
    }
}
