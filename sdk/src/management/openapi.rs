//! One list per management API of the routes it serves, so that its OpenAPI document
//! (`GET /openapi.json`) can be compared with what it really serves (issue 18 §7).
//!
//! [`management_routes!`](crate::management_routes) writes, from one list, the function that
//! registers the routes and a `ROUTES` constant naming them; each service's tests compare
//! `ROUTES` with the paths and methods of its document.

/// Paths and methods of an OpenAPI document, sorted as `(method, path)` with lower-case methods:
/// what its tests compare with the service's `ROUTES`. `None` when `doc` is not an OpenAPI
/// document with `paths`.
pub fn documented_routes(doc: &serde_json::Value) -> Option<Vec<(String, String)>> {
    let mut routes = Vec::new();
    for (path, item) in doc.get("paths")?.as_object()? {
        for method in item.as_object()?.keys() {
            routes.push((method.to_ascii_lowercase(), path.clone()));
        }
    }
    routes.sort();
    Some(routes)
}

/// `ROUTES` as [`documented_routes`] gives them, to compare.
pub fn served_routes(routes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut routes: Vec<(String, String)> =
        routes.iter().map(|(m, p)| (m.to_ascii_lowercase(), (*p).to_owned())).collect();
    routes.sort();
    routes
}

/// Writes `pub const ROUTES: &[(&str, &str)]` (method, path with `{name}` placeholders, which
/// are actix's and OpenAPI's both) and `pub fn configure(cfg: &mut web::ServiceConfig)`
/// registering each route, from one list: `get "/v1/things/{id}" => handler, ...`. `configure`
/// first runs the function given as `@setup f;` before the list (extractor settings), if any.
///
/// ```ignore
/// keel_sdk::management_routes! {
///     get "/openapi.json" => openapi,
///     get "/v1/things/{id}" => thing,
/// }
/// ```
#[macro_export]
macro_rules! management_routes {
    ($(@setup $setup:expr;)? $($method:ident $path:literal => $handler:expr),+ $(,)?) => {
        /// Every route served, as `(method, path)`; the OpenAPI document lists exactly these.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),+];

        /// Registers every route (and the extractor settings).
        pub fn configure(cfg: &mut ::actix_web::web::ServiceConfig) {
            $(let setup: fn(&mut ::actix_web::web::ServiceConfig) = $setup; setup(cfg);)?
            $(cfg.route($path, ::actix_web::web::$method().to($handler));)+
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_and_served_routes_compare_as_sorted_lower_case_pairs() {
        let doc = serde_json::json!({"paths": {"/b": {"get": {}}, "/a/{id}": {"delete": {}, "get": {}}}});
        let served = served_routes(&[("GET", "/b"), ("get", "/a/{id}"), ("delete", "/a/{id}")]);
        assert_eq!(documented_routes(&doc), Some(served));
        assert_eq!(documented_routes(&serde_json::json!({})), None);
    }
}
