//! Which declared endpoint of a pushed service a request reaches: the longest declared path that
//! covers the request's path on segment boundaries (`data` covers `data/7`), with the request's
//! method. A path no endpoint covers is a 404; one covered but not for this method is a 405
//! listing the methods that are (`Allow`).

use keel_sdk::protocol::{PushedEndpoint, PushedRoute};

/// The outcome of matching one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Match<'a> {
    /// This endpoint serves it.
    Found(&'a PushedEndpoint),
    /// Some endpoint covers the path, none for this method; the methods that would do.
    WrongMethod(Vec<String>),
    /// No declared endpoint covers the path.
    Undeclared,
}

/// Matches `method` and `path` (relative, as received) against `route`'s endpoints.
pub fn find<'a>(route: &'a PushedRoute, method: &str, path: &str) -> Match<'a> {
    let path = path.trim_end_matches('/');
    let covering = route.endpoints.iter().filter(|e| e.covers(path));
    let mut best: Option<&PushedEndpoint> = None;
    let mut allow: Vec<String> = Vec::new();
    for e in covering {
        if e.method.eq_ignore_ascii_case(method) {
            if best.is_none_or(|b| e.path.len() > b.path.len()) {
                best = Some(e);
            }
        } else if !allow.contains(&e.method) {
            allow.push(e.method.clone());
        }
    }
    match best {
        Some(e) => Match::Found(e),
        None if allow.is_empty() => Match::Undeclared,
        None => {
            allow.sort();
            Match::WrongMethod(allow)
        }
    }
}

/// The path on the service: `<base_path>/<path>`, relative (keel's sidecar adds the `/`).
pub fn upstream_path(base_path: &str, path: &str) -> String {
    let base = base_path.trim_matches('/');
    if base.is_empty() {
        path.to_owned()
    } else if path.is_empty() {
        base.to_owned()
    } else {
        format!("{base}/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_sdk::protocol::PluginStatus;

    fn guide() -> PushedRoute {
        let ep = |path: &str, method: &str| PushedEndpoint {
            path: path.into(),
            method: method.into(),
            is_public: true,
        };
        PushedRoute {
            status: PluginStatus::Active,
            version: "1.0.0".into(),
            base_url: "http://localhost:8010".into(),
            base_path: "/".into(),
            requires_auth: false,
            endpoints: vec![ep("hello", "GET"), ep("data", "GET"), ep("data", "POST")],
        }
    }

    #[test]
    fn declared_paths_match_themselves_and_below_with_their_method() {
        let r = guide();
        assert!(matches!(find(&r, "GET", "hello"), Match::Found(e) if e.path == "hello"));
        assert!(matches!(find(&r, "POST", "data"), Match::Found(e) if e.method == "POST"));
        assert!(matches!(find(&r, "GET", "data/7"), Match::Found(e) if e.path == "data"));
        assert_eq!(find(&r, "DELETE", "data/7"), Match::WrongMethod(vec!["GET".into(), "POST".into()]));
        assert_eq!(find(&r, "GET", "database"), Match::Undeclared);
        assert_eq!(find(&r, "GET", ""), Match::Undeclared);
        assert_eq!(find(&r, "GET", "health"), Match::Undeclared);
    }

    #[test]
    fn the_base_path_prefixes_the_upstream_path() {
        assert_eq!(upstream_path("/", "hello"), "hello");
        assert_eq!(upstream_path("/v2", "data/7"), "v2/data/7");
        assert_eq!(upstream_path("/v2", ""), "v2");
    }
}
