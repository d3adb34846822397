//! Console login tickets (issue 16, contract §B): opaque, revocable sessions held in auth's own
//! store, and tickets bound to one plugin derived from them.
//!
//! - A **session ticket** (`kt_` + 256 random bits, base64url) is what keel keeps in the console
//!   cookie. It dies after `ticket_idle_seconds` without a check (each check pushes that back)
//!   and `ticket_ttl_seconds` after the login whatever happens, at logout (revoke), and as soon
//!   as its user is disabled, deleted or changes password (the user's generation).
//! - A **bound ticket** is what keel hands plugin `audience` (`x-keel-ticket`): the same one for
//!   the same session and plugin every time (derived from the session ticket), valid only while
//!   the session is, and only when checked by that plugin's app-id (or keel). A plugin that leaks
//!   or replays it cannot act as the user anywhere else.
//!
//! The store holds only the SHA-256 of each ticket (as the key, [`keys::ticket`]): a leaked store
//! yields no usable ticket. 256 random bits need no slow hash. Roles and scope are re-read from
//! the directory on every check, so a change applies at once.

pub mod rules;

use std::collections::BTreeSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keel_sdk::access::Principal;
use keel_sdk::management::tickets::{SessionUser, TICKET_PREFIX};
use keel_sdk::protocol::errors::Code;
use keel_sdk::protocol::KEEL_APP_ID;
use keel_sdk::tokens::now_secs;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::authorize::scope_of;
use crate::directory;
use crate::error::AuthError;
use crate::model::{keys, TenantRecord, UserRecord};
use crate::state::AuthState;
use crate::store::{delete_if, is_race, retry_races, Store, Versioned};

/// Why a ticket is refused. Messages never quote the ticket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// No such ticket: never issued, revoked (logout), or its session is gone.
    #[error("the ticket is unknown or revoked; log in again")]
    Unknown,
    /// Past its idle or absolute expiry.
    #[error("the ticket has expired; log in again")]
    Expired,
    /// Its user was disabled or deleted, or changed password, since the login.
    #[error("the ticket's user is disabled, deleted or changed password since the login; log in again")]
    UserGone,
    /// A session ticket presented by another app than keel.
    #[error("a console session ticket is keel's alone; a plugin gets a ticket bound to it (x-keel-ticket)")]
    SessionOutsideKeel,
    /// A bound ticket presented by another app than its audience.
    #[error("the ticket is bound to plugin {audience:?}; {caller} may not use it")]
    WrongAudience { audience: String, caller: String },
}

impl Refused {
    /// 401 `ERR_TICKET_INVALID` for dead tickets, 403 `ERR_TICKET_AUDIENCE` for misplaced ones.
    pub fn code(&self) -> Code {
        match self {
            Self::Unknown | Self::Expired | Self::UserGone => Code::TicketInvalid,
            Self::SessionOutsideKeel | Self::WrongAudience { .. } => Code::TicketAudience,
        }
    }
}

/// What is stored under a ticket's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TicketRecord {
    /// A console login.
    Session(Session),
    /// A ticket bound to one plugin, alive while its session is.
    Bound(Bound),
}

/// A console login ([`TicketRecord::Session`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The user's tenant.
    pub tenant: String,
    /// The user.
    pub username: String,
    /// The user's generation at the login: a password change or a disable ends the session.
    pub generation: u64,
    /// The login time.
    pub created_at: u64,
    /// Dies at this time unless checked before.
    pub idle_expires_at: u64,
    /// Dies at this time whatever happens.
    pub expires_at: u64,
    /// Hashes of the tickets bound to it, deleted with it.
    #[serde(default)]
    pub bound: BTreeSet<String>,
}

/// A ticket bound to a plugin ([`TicketRecord::Bound`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bound {
    /// The hash of its session ticket.
    pub session: String,
    /// The plugin id it is for.
    pub audience: String,
}

/// A live ticket, checked.
pub struct Checked {
    /// Whose it is, as the directory says now.
    pub user: SessionUser,
    /// The user's tenant (for permission decisions).
    pub tenant: TenantRecord,
    /// The plugin a bound ticket is for.
    pub audience: Option<String>,
    /// The session's hash.
    pub session_hash: String,
    /// The session, idle expiry already pushed back.
    pub session: Session,
}

/// What is stored instead of a ticket (as in [`crate::tokens::refresh_hash`]).
pub fn ticket_hash(ticket: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(ticket.as_bytes()))
}

/// A new session ticket: the prefix and 256 random bits.
fn new_ticket() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TICKET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The ticket bound to `audience` for session ticket `session`: the same every time. It need not
/// be unforgeable by construction (only tickets with a stored record work, and only keel binds),
/// but without the session ticket nobody can compute it, and it reveals nothing of the session.
pub fn bound_ticket(session: &str, audience: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"keel-ticket-bind\0");
    h.update(session.as_bytes());
    h.update(b"\0");
    h.update(audience.as_bytes());
    format!("{TICKET_PREFIX}{}", URL_SAFE_NO_PAD.encode(h.finalize()))
}

/// A new session for `user` of `tenant`: the ticket and the session record stored.
pub async fn create(
    state: &AuthState,
    store: &Store,
    tenant: &TenantRecord,
    user: &UserRecord,
) -> Result<(String, Session, SessionUser), AuthError> {
    let now = now_secs();
    let expires_at = now + state.cfg.ticket_ttl_seconds;
    let session = Session {
        tenant: tenant.id.clone(),
        username: user.username.clone(),
        generation: user.generation,
        created_at: now,
        idle_expires_at: (now + state.cfg.ticket_idle_seconds).min(expires_at),
        expires_at,
        bound: BTreeSet::new(),
    };
    let ticket = new_ticket();
    let record = TicketRecord::Session(session.clone());
    // The TTL lets the store drop dead sessions by itself; the times are still checked on use.
    store.put_if(&keys::ticket(&ticket_hash(&ticket)), &record, None, Some(ttl(expires_at, now))).await?;
    Ok((ticket, session, user_view(tenant, user)))
}

/// Checks `ticket` as presented by `caller`: alive, its user still enabled, and presented by the
/// app it is for (keel itself for a session, the audience or keel for a bound ticket). Only
/// [`Principal::App`] is an app: a person through keel's public port (`/apis/auth/...`) is not
/// keel, though keel's sidecar carried the request. Pushes the session's idle expiry back.
pub async fn check(
    state: &AuthState,
    store: &Store,
    ticket: &str,
    caller: &Principal,
) -> Result<Checked, AuthError> {
    let found = load(store, ticket).await?.ok_or(Refused::Unknown)?;
    let (session_hash, audience) = match found.value {
        TicketRecord::Session(_) => (ticket_hash(ticket), None),
        TicketRecord::Bound(b) => (b.session, Some(b.audience)),
    };
    let session = match store.get::<TicketRecord>(&keys::ticket(&session_hash)).await? {
        Some(Versioned { value: TicketRecord::Session(s), etag }) => Versioned { value: s, etag },
        _ => return Err(Refused::Unknown.into()),
    };
    let now = now_secs();
    if now >= session.value.expires_at || now >= session.value.idle_expires_at {
        return Err(Refused::Expired.into());
    }
    let user = directory::find_user(store, &session.value.tenant, &session.value.username).await?;
    let user = match user {
        Some(u) if !u.disabled && u.generation == session.value.generation => u,
        _ => return Err(Refused::UserGone.into()),
    };
    let app = match caller {
        Principal::App(app) => Some(app.as_str()),
        _ => None,
    };
    let caller_is_keel = app == Some(KEEL_APP_ID);
    match &audience {
        None if !caller_is_keel => return Err(Refused::SessionOutsideKeel.into()),
        Some(aud) if !caller_is_keel && app != Some(aud.as_str()) => {
            return Err(Refused::WrongAudience { audience: aud.clone(), caller: describe(caller) }.into());
        }
        _ => {}
    }
    let tenant = directory::tenant(store, &session.value.tenant).await?;
    let session = touch(state, store, &session_hash, session, now).await?;
    Ok(Checked { user: user_view(&tenant, &user), tenant, audience, session_hash, session })
}

/// The ticket bound to plugin `audience` for the live session ticket `ticket` (checked as from
/// keel), stored and listed in its session so it dies with it.
pub async fn bind(
    state: &AuthState,
    store: &Store,
    ticket: &str,
    audience: &str,
) -> Result<(String, Checked), AuthError> {
    let checked = check(state, store, ticket, &Principal::App(KEEL_APP_ID.to_owned())).await?;
    if checked.audience.is_some() {
        return Err(AuthError::Invalid(
            "only a session ticket can be bound; this one is bound already".into(),
        ));
    }
    let bound = bound_ticket(ticket, audience);
    let bound_hash = ticket_hash(&bound);
    let now = now_secs();
    let record =
        TicketRecord::Bound(Bound { session: checked.session_hash.clone(), audience: audience.to_owned() });
    // The same value for the same session and plugin: a plain write is idempotent.
    store.put_expiring(&keys::ticket(&bound_hash), &record, ttl(checked.session.expires_at, now)).await?;
    let session_key = keys::ticket(&checked.session_hash);
    retry_races("a ticket's session", || {
        let (session_key, bound_hash) = (&session_key, &bound_hash);
        async move {
            let Some(Versioned { value: TicketRecord::Session(mut s), etag }) =
                store.get::<TicketRecord>(session_key).await?
            else {
                return Err(Refused::Unknown.into());
            };
            if !s.bound.insert(bound_hash.clone()) {
                return Ok(());
            }
            let ttl = ttl(s.expires_at, now_secs());
            store.put_if(session_key, &TicketRecord::Session(s), etag, Some(ttl)).await
        }
    })
    .await?;
    Ok((bound, checked))
}

/// Revokes `ticket`: a session with every ticket bound to it (one transaction), or one bound
/// ticket alone. Unknown tickets are fine (logging out twice is not an error).
pub async fn revoke(store: &Store, ticket: &str) -> Result<Option<TicketRecord>, AuthError> {
    let Some(found) = load(store, ticket).await? else {
        return Ok(None);
    };
    let key = keys::ticket(&ticket_hash(ticket));
    match &found.value {
        TicketRecord::Session(s) => {
            let mut ops = vec![delete_if(&key, None)];
            ops.extend(s.bound.iter().map(|h| delete_if(&keys::ticket(h), None)));
            store.transact(&ops).await?;
        }
        TicketRecord::Bound(_) => store.delete_if(&key, None).await?,
    }
    Ok(Some(found.value))
}

/// The record of `ticket`, if it is shaped like one and stored.
async fn load(store: &Store, ticket: &str) -> Result<Option<Versioned<TicketRecord>>, AuthError> {
    if !ticket.starts_with(TICKET_PREFIX) || ticket.len() > 128 {
        return Ok(None);
    }
    store.get::<TicketRecord>(&keys::ticket(&ticket_hash(ticket))).await
}

/// Pushes the idle expiry of `session` back to now + the idle time (never past the absolute
/// expiry). Written only when it moves by a tenth of the idle time or more, so a busy console
/// does not write on every check; a concurrent touch winning is as good as this one.
async fn touch(
    state: &AuthState,
    store: &Store,
    hash: &str,
    session: Versioned<Session>,
    now: u64,
) -> Result<Session, AuthError> {
    let Versioned { value: mut s, etag } = session;
    let idle = (now + state.cfg.ticket_idle_seconds).min(s.expires_at);
    if idle.saturating_sub(s.idle_expires_at) < (state.cfg.ticket_idle_seconds / 10).max(1) {
        return Ok(s);
    }
    s.idle_expires_at = idle;
    let record = TicketRecord::Session(s.clone());
    match store.put_if(&keys::ticket(hash), &record, etag, Some(ttl(s.expires_at, now))).await {
        Err(e) if is_race(&e) => Ok(s),
        other => other.map(|()| s),
    }
}

/// The answer's view of `user`: roles and the scope they give now.
fn user_view(tenant: &TenantRecord, user: &UserRecord) -> SessionUser {
    SessionUser {
        username: user.username.clone(),
        tenant: tenant.id.clone(),
        roles: user.roles.clone(),
        scope: scope_of(tenant, &user.roles),
    }
}

/// Who `caller` is, for a refusal's message.
pub fn describe(caller: &Principal) -> String {
    match caller {
        Principal::App(app) => format!("app {app:?}"),
        Principal::Person(p) => format!("{:?} through keel's public port", p.user),
        Principal::Local => "a caller without a sidecar".to_owned(),
    }
}

/// How long the store keeps a record past its ticket's absolute expiry: a check in that time
/// says the ticket *expired* (log in again) rather than that it is unknown, and a record gone at
/// the very moment of expiry cannot race the check that would have said so.
const KEPT_AFTER_EXPIRY_S: u64 = 3600;

/// The store TTL for a record whose ticket expires at `expires_at`: seconds from `now` to then,
/// plus [`KEPT_AFTER_EXPIRY_S`] (expiry itself is decided by the record's times, not the TTL).
fn ttl(expires_at: u64, now: u64) -> u64 {
    expires_at.saturating_sub(now) + KEPT_AFTER_EXPIRY_S
}

#[cfg(test)]
mod tests;
