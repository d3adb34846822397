//! How an operation name matches a method (daprd's `pkg/config/acl_trie.go`), quirks included,
//! because a policy must let through exactly what daprd lets through.
//!
//! Names and methods are split on `/` into segments kept with their leading slash (`/op`).
//! Segments are matched one by one against the children of the node reached so far, in the order
//! the operations were listed:
//! - an equal segment matches;
//! - `/*` matches only the last segment (in the middle it is skipped over);
//! - `/**` matches this segment and everything after it;
//! - a segment with `*` in it (`/b*`) matches as a glob (`*` is any run of characters), and
//!   then decides for everything below it too.
//!
//! The first node with an action on the way decides (a `/x*` node in the middle lets the search
//! go deeper first); when the last segment lands on a node without one, its `/*` child decides.
//! If two operations have the same name, the first one listed counts.

use super::OperationAction;

const SINGLE: &str = "/*";
const MULTI: &str = "/**";

/// The operations of one app policy.
#[derive(Debug, Clone)]
pub struct Trie {
    root: Node,
}

#[derive(Debug, Clone)]
struct Node {
    segment: String,
    data: Option<OperationAction>,
    children: Vec<Node>,
}

impl Default for Trie {
    fn default() -> Self {
        Trie { root: Node::new("/", None) }
    }
}

// === impl Trie ===

impl Trie {
    /// Adds an operation (its name already starts with `/`).
    pub fn put(&mut self, operation: &str, data: OperationAction) {
        let parts: Vec<&str> = operation.split('/').collect();
        let last = parts.len() - 1;
        let mut node = &mut self.root;
        for (i, part) in parts.iter().enumerate().skip(1) {
            let segment = format!("/{part}");
            match node.children.iter().position(|c| c.segment == segment) {
                None => {
                    let data = (i == last).then(|| data.clone());
                    node.children.push(Node::new(&segment, data));
                    node = node.children.last_mut().expect("just pushed");
                }
                Some(at) if i == last => {
                    let existing = &mut node.children[at];
                    if existing.data.is_none() {
                        existing.data = Some(data.clone());
                    }
                }
                Some(at) => node = &mut node.children[at],
            }
        }
    }

    /// The operation that decides for `operation` (starting with `/`), if any.
    pub fn search(&self, operation: &str) -> Option<&OperationAction> {
        let parts: Vec<&str> = operation.split('/').collect();
        let last = parts.len() - 1;
        let mut node = &self.root;
        for (i, part) in parts.iter().enumerate().skip(1) {
            let is_end = i == last;
            node = node.find_child(&format!("/{part}"), is_end)?;
            if let Some(data) = &node.data {
                if !is_end && node.segment.ends_with(SINGLE) && !node.segment.ends_with(MULTI) {
                    continue;
                }
                return Some(data);
            }
            if is_end {
                return node.find_child(SINGLE, true).and_then(|n| n.data.as_ref());
            }
        }
        None
    }
}

impl Node {
    fn new(segment: &str, data: Option<OperationAction>) -> Self {
        Node { segment: segment.to_owned(), data, children: Vec::new() }
    }

    /// daprd's `findNodeWithWildcard`: the first child, in insertion order, that matches.
    fn find_child(&self, target: &str, is_end: bool) -> Option<&Node> {
        for child in &self.children {
            if child.segment == target {
                return Some(child);
            }
            if child.segment == SINGLE {
                if is_end {
                    return Some(child);
                }
                continue;
            }
            if child.segment == MULTI || glob(target.as_bytes(), child.segment.as_bytes()) {
                return Some(child);
            }
        }
        None
    }
}

/// `*` matches any run of bytes (possibly empty); everything else matches itself.
fn glob(target: &[u8], pattern: &[u8]) -> bool {
    // matched[j]: the target so far matches pattern[..j].
    let mut matched = vec![false; pattern.len() + 1];
    matched[0] = true;
    for j in 1..=pattern.len() {
        matched[j] = matched[j - 1] && pattern[j - 1] == b'*';
    }
    for &t in target {
        let mut diagonal = matched[0]; // previous row's matched[j - 1]
        matched[0] = false;
        for j in 1..=pattern.len() {
            let above = matched[j];
            matched[j] = if pattern[j - 1] == b'*' {
                matched[j - 1] || above
            } else {
                pattern[j - 1] == t && diagonal
            };
            diagonal = above;
        }
    }
    matched[pattern.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn op(action: &str) -> OperationAction {
        OperationAction { verb_action: HashMap::new(), action: action.to_owned() }
    }

    fn trie(names: &[&str]) -> Trie {
        let mut t = Trie::default();
        for n in names {
            t.put(n, op(n));
        }
        t
    }

    fn found(t: &Trie, op: &str) -> Option<String> {
        t.search(op).map(|d| d.action.clone())
    }

    #[test]
    fn globs_match_anywhere_in_a_segment() {
        assert!(glob(b"/ABC", b"/A*"));
        assert!(glob(b"/ABC.a", b"/A*"));
        assert!(glob(b"/ABC", b"/*C"));
        assert!(glob(b"/abcd", b"/a*d"));
        assert!(glob(b"/ABC.a", b"/AB*.a"));
        assert!(!glob(b"/abc", b"/abd"));
        assert!(glob(b"/", b"/*"));
    }

    #[test]
    fn wildcards_follow_daprds_trie() {
        // daprd's own cases (pkg/acl/acl_test.go, app4).
        let t = trie(&["/op6", "/op7/a/b/*", "/op7/a/b/c/f", "/op7/a/b*", "/op7/c/**"]);
        assert_eq!(found(&t, "/op6").as_deref(), Some("/op6"));
        assert_eq!(found(&t, "/op7/a/b/c").as_deref(), Some("/op7/a/b/*"));
        assert_eq!(found(&t, "/op7/a/b/c/d"), None);
        assert_eq!(found(&t, "/op7/a/b/c/f").as_deref(), Some("/op7/a/b/c/f"));
        assert_eq!(found(&t, "/op7/a/bc").as_deref(), Some("/op7/a/b*"));
        assert_eq!(found(&t, "/op7/c/d/e").as_deref(), Some("/op7/c/**"));
        assert_eq!(found(&t, "/op7"), None);
        // `/x*` in the middle decides for what is below it.
        assert_eq!(found(&t, "/op7/a/bc/deep").as_deref(), Some("/op7/a/b*"));
    }

    #[test]
    fn a_single_star_matches_only_the_last_segment() {
        let t = trie(&["/v1/*"]);
        assert_eq!(found(&t, "/v1/identify").as_deref(), Some("/v1/*"));
        assert_eq!(found(&t, "/v1/a/b"), None);
        // The node itself, reached last without an action, falls to its `/*` child.
        assert_eq!(found(&t, "/v1").as_deref(), Some("/v1/*"));
    }

    #[test]
    fn the_first_of_two_equal_names_counts() {
        let mut t = Trie::default();
        t.put("/op1", op("allow"));
        t.put("/op1", op("deny"));
        assert_eq!(found(&t, "/op1").as_deref(), Some("allow"));
    }
}
