//! Access-control policies for service invocation (the Configuration's `spec.accessControl`),
//! applied by the callee's sidecar to every call from another sidecar, as daprd's `pkg/acl`
//! does in `callLocalValidateACL` (self-invocation never reaches it).
//!
//! The rules, in daprd's order (`isOperationAllowedByAccessControlPolicy`):
//! 1. no `accessControl` at all (or an empty one): everything is allowed;
//! 2. the global `defaultAction` applies when the caller has no identity (no mTLS), has no
//!    policy (`appId` and `namespace`), or its trust domain differs from the policy's;
//! 3. a matching policy's `defaultAction`, when set, replaces the global one;
//! 4. an operation matching the method (see [`trie`]) decides by verb: the verb's own action,
//!    else the `*` action, else the action decided so far;
//! 5. only an action equal (ignoring case) to `allow` allows.
//!
//! A denial is daprd's `PermissionDenied`, which the caller's sidecar answers with 403 (see
//! [`Denied`]). Operation names and methods are compared lower-cased (the app protocol is HTTP).

pub mod trie;

use crate::security::SpiffeId;
use std::collections::HashMap;
use trie::Trie;

/// daprd's `config.AllowAccess`.
pub const ALLOW: &str = "allow";
/// daprd's `config.DenyAccess`.
pub const DENY: &str = "deny";
/// daprd's `config.DefaultTrustDomain`.
pub const DEFAULT_TRUST_DOMAIN: &str = "public";

/// `spec.accessControl` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessControlSpec {
    /// `defaultAction`.
    pub default_action: String,
    /// `trustDomain`.
    pub trust_domain: String,
    /// `policies`; `None` when not given (Go's nil slice, which matters for the default below).
    pub policies: Option<Vec<AppPolicySpec>>,
}

/// One entry of `policies`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppPolicySpec {
    /// `appId`: the caller.
    pub app_id: String,
    /// `defaultAction` for this caller.
    pub default_action: String,
    /// `trustDomain` the caller must be in.
    pub trust_domain: String,
    /// `namespace` the caller must be in.
    pub namespace: String,
    /// `operations`.
    pub operations: Vec<OperationSpec>,
}

/// One entry of `operations`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationSpec {
    /// `name`: a path, with `*` (one segment or part of one) and `**` (the rest) wildcards.
    pub name: String,
    /// `httpVerb`: verbs (`GET`, ...) or `*`.
    pub http_verbs: Vec<String>,
    /// `action`.
    pub action: String,
}

/// A spec daprd refuses to start with (`ParseAccessControlSpec`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid access control spec. missing trustdomain for apps: {missing_trust_domain}, missing namespace for apps: {missing_namespace}, missing app name on at least one of the app policies: {missing_app_id}")]
pub struct InvalidSpec {
    /// Go's `%v` of the app-ids without a trust domain: `[a b]`.
    pub missing_trust_domain: String,
    /// Go's `%v` of the app-ids without a namespace.
    pub missing_namespace: String,
    /// Whether a policy had no `appId`.
    pub missing_app_id: bool,
}

/// The parsed policies of one sidecar (daprd's `config.AccessControlList`).
#[derive(Debug, Clone)]
pub struct AccessControlList {
    default_action: String,
    trust_domain: String,
    policies: HashMap<(String, String), AppPolicy>,
}

#[derive(Debug, Clone)]
struct AppPolicy {
    default_action: String,
    trust_domain: String,
    namespace: String,
    operations: Trie,
}

/// What one operation entry decides (daprd's `AccessControlListOperationAction`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationAction {
    /// Verb → action, verbs as written.
    pub verb_action: HashMap<String, String>,
    /// The entry's action (what gRPC calls use).
    pub action: String,
}

/// A call the policies refuse: daprd's message, which the caller's sidecar puts after
/// `failed to invoke, id: <id>, err: rpc error: code = PermissionDenied desc = `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("access control policy has denied access to id: {caller} operation: {operation} verb: {verb}")]
pub struct Denied {
    /// The caller's SPIFFE ID, or nothing when it has none (Go prints an empty URL).
    pub caller: String,
    /// The method as invoked.
    pub operation: String,
    /// The HTTP verb.
    pub verb: String,
}

// === impl AccessControlList ===

impl AccessControlList {
    /// daprd's `ParseAccessControlSpec`: `None` when no policy is specified at all (everything
    /// allowed); a missing global `defaultAction` is `deny` once app policies exist; every
    /// policy needs `appId`, `trustDomain` and `namespace`.
    pub fn parse(spec: Option<&AccessControlSpec>) -> Result<Option<AccessControlList>, InvalidSpec> {
        let Some(spec) = spec else { return Ok(None) };
        let policies_given = spec.policies.as_deref().unwrap_or_default();
        if spec.trust_domain.is_empty() && spec.default_action.is_empty() && policies_given.is_empty() {
            return Ok(None);
        }
        let trust_domain = if spec.trust_domain.is_empty() {
            DEFAULT_TRUST_DOMAIN.to_owned()
        } else {
            spec.trust_domain.clone()
        };
        let default_action = if spec.default_action.is_empty() {
            // Policies (or no `policies` key at all) without a global default: the safer
            // choice, deny; an explicitly empty list allows.
            if spec.policies.as_ref().is_some_and(Vec::is_empty) {
                ALLOW.to_owned()
            } else {
                tracing::warn!(
                    "No global default action has been specified. Setting default global action as Deny"
                );
                DENY.to_owned()
            }
        } else {
            spec.default_action.to_lowercase()
        };
        let (mut missing_td, mut missing_ns, mut missing_app) = (Vec::new(), Vec::new(), false);
        let mut policies = HashMap::new();
        for p in policies_given {
            let mut invalid = false;
            if p.app_id.is_empty() {
                missing_app = true;
            }
            if p.trust_domain.is_empty() {
                missing_td.push(p.app_id.clone());
                invalid = true;
            }
            if p.namespace.is_empty() {
                missing_ns.push(p.app_id.clone());
                invalid = true;
            }
            if invalid || missing_app {
                continue;
            }
            let mut operations = Trie::default();
            for op in &p.operations {
                let mut name =
                    if op.name.starts_with('/') { op.name.clone() } else { format!("/{}", op.name) };
                name = name.to_lowercase();
                let verb_action = op.http_verbs.iter().map(|v| (v.clone(), op.action.clone())).collect();
                operations.put(&name, OperationAction { verb_action, action: op.action.clone() });
            }
            // The same caller in another namespace is another policy.
            policies.insert(
                (p.app_id.clone(), p.namespace.clone()),
                AppPolicy {
                    default_action: p.default_action.clone(),
                    trust_domain: p.trust_domain.clone(),
                    namespace: p.namespace.clone(),
                    operations,
                },
            );
        }
        if !missing_td.is_empty() || !missing_ns.is_empty() || missing_app {
            return Err(InvalidSpec {
                missing_trust_domain: go_list(&missing_td),
                missing_namespace: go_list(&missing_ns),
                missing_app_id: missing_app,
            });
        }
        Ok(Some(AccessControlList { default_action, trust_domain, policies }))
    }

    /// The trust domain the spec names (`public` when it names none).
    pub fn trust_domain(&self) -> &str {
        &self.trust_domain
    }

    /// Applies the policies to a call of `operation` (the normalised method) with `verb` from
    /// `caller` (`None`: the caller could not be identified).
    pub fn check(&self, caller: Option<&SpiffeId>, operation: &str, verb: &str) -> Result<(), Denied> {
        if is_allowed(&self.decide(caller, operation, verb)) {
            return Ok(());
        }
        let denied = Denied {
            caller: caller.map(ToString::to_string).unwrap_or_default(),
            operation: operation.to_owned(),
            verb: verb.to_owned(),
        };
        tracing::debug!(%denied, "Access control policy denied the call");
        Err(denied)
    }

    /// The action for a call (`allow`, `deny`, or whatever the spec wrote).
    fn decide(&self, caller: Option<&SpiffeId>, operation: &str, verb: &str) -> String {
        let global = self.default_action.clone();
        let Some(caller) = caller else { return global };
        let Some(policy) = self.policies.get(&(caller.app_id.clone(), caller.namespace.clone())) else {
            return global;
        };
        if policy.trust_domain != caller.trust_domain || policy.namespace != caller.namespace {
            return global;
        }
        let mut action =
            if policy.default_action.is_empty() { global } else { policy.default_action.clone() };
        let op = if operation.starts_with('/') { operation.to_owned() } else { format!("/{operation}") };
        if let Some(entry) = policy.operations.search(&op.to_lowercase()) {
            if verb.is_empty() {
                // No verb to match: the app's default action, even when it is empty.
                action = policy.default_action.clone();
            } else if let Some(a) = entry.verb_action.get(verb).or_else(|| entry.verb_action.get("*")) {
                action = a.clone();
            }
        }
        action
    }
}

fn is_allowed(action: &str) -> bool {
    action.eq_ignore_ascii_case(ALLOW)
}

/// Go's `%v` of a `[]string`: `[a b c]`.
fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

#[cfg(test)]
mod tests;
