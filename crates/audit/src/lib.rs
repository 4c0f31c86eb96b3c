//! # simforge-audit
//!
//! The tamper-evident audit log: who did what to what, with which outcome, when and from
//! where — every state-changing call, login, unseal, key import and credential change.
//! Entries are hash-chained: each [`Entry::hash`] is SHA-256 over a domain tag, the previous
//! entry's hash and the entry's canonical encoding ([`Entry::canonical`]), so [`verify`]
//! finds any edited, deleted, inserted or reordered entry. (Cutting entries off the end, or
//! rewriting the whole chain, takes an anchor kept elsewhere: the count and head hash of an
//! earlier [`Summary`].)
//!
//! Pure: no I/O, no clock, no RNG. The time is the caller's ([`Draft::at`]); the storage is
//! an [`AuditLog`] (`simforge-store` implements it on SQLite and PostgreSQL) that appends
//! in one write transaction ([`Draft::seal`]).
//!
//! Entries never hold secrets: actions name keys by kind and index, batches by name and
//! counts, never a value.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The domain tag of the hash (version 1 of the encoding).
pub const DOMAIN: &[u8] = b"simforge-audit-v1";
/// The `prev_hash` of the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// Errors of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A stored field does not decode (a hash that is not 64 hex digits, an unknown outcome,
    /// details that are not a JSON object).
    #[error("audit entry {seq}: malformed {field}")]
    Malformed {
        /// The entry.
        seq: u64,
        /// The field.
        field: &'static str,
    },
    /// The chain is broken.
    #[error("{0}")]
    Broken(Broken),
}

/// The actions the platform records (the names are stable: they are in the chain).
pub mod action {
    /// An operator (tenant) was created.
    pub const OPERATOR_CREATE: &str = "operator.create";
    /// An operator's setting changed.
    pub const OPERATOR_UPDATE: &str = "operator.update";
    /// A transport key or OP/TOP was imported (kind and index, never the value).
    pub const KEY_IMPORT: &str = "key.import";
    /// A sealed secret was unsealed for use.
    pub const KEY_UNSEAL: &str = "key.unseal";
    /// The SM-DP+ unsealed a profile package to bind it for one eUICC (ES9+
    /// GetBoundProfilePackage; target `profile:<iccid>`, the transactionId in the details,
    /// never the package).
    pub const PROFILE_UNSEAL: &str = "profile.unseal";
    /// A batch was generated.
    pub const BATCH_GENERATE: &str = "batch.generate";
    /// An unfinished batch's ranges were released.
    pub const BATCH_RELEASE: &str = "batch.release";
    /// An unfinished batch was resumed.
    pub const BATCH_RESUME: &str = "batch.resume";
    /// An ES2+ credential was created.
    pub const CREDENTIAL_CREATE: &str = "credential.create";
    /// An ES2+ credential was revoked.
    pub const CREDENTIAL_REVOKE: &str = "credential.revoke";
    /// A login.
    pub const LOGIN: &str = "login";
    /// A logout of every session of a user.
    pub const LOGOUT_EVERYWHERE: &str = "logout.everywhere";
    /// A user was created.
    pub const USER_CREATE: &str = "user.create";
    /// A locked user was unlocked.
    pub const USER_UNLOCK: &str = "user.unlock";
    /// A user changed their password (their other sessions ended).
    pub const PASSWORD_CHANGE: &str = "user.password";
    /// A user enrolled a new TOTP authenticator (confirmed by a code; never the secret).
    pub const TOTP_ENROLL: &str = "user.totp";
    /// An API token was created (its name, tenant and role, never the secret).
    pub const TOKEN_CREATE: &str = "token.create";
    /// An API token was revoked.
    pub const TOKEN_REVOKE: &str = "token.revoke";
    /// Profiles were added to an operator's eSIM inventory (from a batch or uploaded).
    pub const INVENTORY_IMPORT: &str = "inventory.import";
    /// A profile was taken out of Error by the operator.
    pub const PROFILE_RESET: &str = "profile.reset";
    /// The SM-DP+'s keys were reloaded on every node (the cluster's key generation moved;
    /// target `keys:<generation>`).
    pub const KEYS_RELOAD: &str = "keys.reload";
}

/// Who acts, as the front door knows them: `cli:<os user>`, `user:<id>`, `token:<id>`,
/// `system`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(String);

impl Actor {
    /// Someone at the command line, by operating system user name (or uid).
    #[must_use]
    pub fn cli(user: &str) -> Self {
        Self(format!("cli:{user}"))
    }

    /// The platform itself (setup of its own demo data, scheduled work).
    #[must_use]
    pub fn system() -> Self {
        Self("system".into())
    }

    /// An actor named otherwise (`user:<id>`, `token:<id>`).
    #[must_use]
    pub fn named(kind: &str, id: &str) -> Self {
        Self(format!("{kind}:{id}"))
    }

    /// As recorded.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an action ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It was done.
    Ok,
    /// It was refused (authorisation).
    Denied,
    /// It failed, with a short code (`failed:<code>`).
    Failed(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ok => f.write_str("ok"),
            Self::Denied => f.write_str("denied"),
            Self::Failed(code) => write!(f, "failed:{code}"),
        }
    }
}

impl FromStr for Outcome {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "ok" => Ok(Self::Ok),
            "denied" => Ok(Self::Denied),
            _ => s
                .strip_prefix("failed:")
                .map(|c| Self::Failed(c.to_owned()))
                .ok_or(()),
        }
    }
}

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|()| serde::de::Error::custom(format!("unknown outcome {s:?}")))
    }
}

/// Details of an entry: a small JSON object (names, counts, indexes — never a secret).
pub type Details = serde_json::Map<String, serde_json::Value>;

/// An entry before the log numbers and chains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// When (Unix seconds, the caller's clock).
    pub at: i64,
    /// Who: `cli:<os user>`, `user:<id>`, `token:<id>`, `system`.
    pub actor: String,
    /// The tenant (operator id) it concerns, if one.
    pub tenant: Option<i64>,
    /// What ([`action`]).
    pub action: String,
    /// On what: `batch:<name>`, `operator:<name>`, `key:<kind>/<index>`…
    pub target: String,
    /// How it ended.
    pub outcome: Outcome,
    /// From where (a network address), if known.
    pub source: Option<String>,
    /// Details: never a secret.
    pub details: Details,
}

impl Draft {
    /// A draft of a successful `action` on `target` by `actor` at `at`.
    #[must_use]
    pub fn new(at: i64, actor: &str, action: &str, target: impl Into<String>) -> Self {
        Self {
            at,
            actor: actor.to_owned(),
            tenant: None,
            action: action.to_owned(),
            target: target.into(),
            outcome: Outcome::Ok,
            source: None,
            details: Details::new(),
        }
    }

    /// With a tenant.
    #[must_use]
    pub fn tenant(mut self, tenant: i64) -> Self {
        self.tenant = Some(tenant);
        self
    }

    /// With a detail.
    #[must_use]
    pub fn detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// The entry number `seq` after the entry whose hash is `prev_hash` ([`GENESIS`] for
    /// the first): what an [`AuditLog`] stores, in the transaction that read `prev_hash`.
    #[must_use]
    pub fn seal(self, seq: u64, prev_hash: [u8; 32]) -> Entry {
        let mut e = Entry {
            seq,
            at: self.at,
            actor: self.actor,
            tenant: self.tenant,
            action: self.action,
            target: self.target,
            outcome: self.outcome,
            source: self.source,
            details: self.details,
            prev_hash,
            hash: [0; 32],
        };
        e.hash = e.compute_hash();
        e
    }
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its number: 1, 2, 3… without gaps.
    pub seq: u64,
    /// When (Unix seconds).
    pub at: i64,
    /// Who.
    pub actor: String,
    /// The tenant (operator id), if one.
    pub tenant: Option<i64>,
    /// What.
    pub action: String,
    /// On what.
    pub target: String,
    /// How it ended.
    pub outcome: Outcome,
    /// From where, if known.
    pub source: Option<String>,
    /// Details (never a secret).
    pub details: Details,
    /// The previous entry's hash ([`GENESIS`] for the first).
    #[serde(with = "hex32")]
    pub prev_hash: [u8; 32],
    /// SHA-256(DOMAIN ‖ prev_hash ‖ canonical).
    #[serde(with = "hex32")]
    pub hash: [u8; 32],
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_opt<T>(out: &mut Vec<u8>, v: Option<T>, put: impl FnOnce(&mut Vec<u8>, T)) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put(out, v);
        }
    }
}

/// JSON with object keys sorted, whatever order the map keeps them in.
fn canonical_json(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(v) = m.get(k) {
                    canonical_json(v, out);
                }
            }
            out.push('}');
        }
        serde_json::Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

impl Entry {
    /// The canonical encoding (version 1) of everything but the hashes: a version byte, then
    /// each field in order, integers big-endian, strings length-prefixed (u32), optional
    /// fields with a 0/1 tag, the details as JSON with sorted keys.
    #[must_use]
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = vec![1u8];
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.at.to_be_bytes());
        put_str(&mut out, &self.actor);
        put_opt(&mut out, self.tenant, |o, t| {
            o.extend_from_slice(&t.to_be_bytes());
        });
        put_str(&mut out, &self.action);
        put_str(&mut out, &self.target);
        put_str(&mut out, &self.outcome.to_string());
        put_opt(&mut out, self.source.as_deref(), put_str);
        let mut details = String::new();
        canonical_json(
            &serde_json::Value::Object(self.details.clone()),
            &mut details,
        );
        put_str(&mut out, &details);
        out
    }

    /// The hash this entry must have: SHA-256(DOMAIN ‖ prev_hash ‖ canonical).
    #[must_use]
    pub fn compute_hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(DOMAIN);
        h.update(self.prev_hash);
        h.update(self.canonical());
        h.finalize().into()
    }

    /// The details as stored (canonical JSON).
    #[must_use]
    pub fn details_json(&self) -> String {
        let mut s = String::new();
        canonical_json(&serde_json::Value::Object(self.details.clone()), &mut s);
        s
    }
}

/// An entry as a database row holds it: outcome, details and hashes as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// [`Entry::seq`].
    pub seq: u64,
    /// [`Entry::at`].
    pub at: i64,
    /// [`Entry::actor`].
    pub actor: String,
    /// [`Entry::tenant`].
    pub tenant: Option<i64>,
    /// [`Entry::action`].
    pub action: String,
    /// [`Entry::target`].
    pub target: String,
    /// [`Entry::outcome`], as text.
    pub outcome: String,
    /// [`Entry::source`].
    pub source: Option<String>,
    /// [`Entry::details`], as JSON ([`Entry::details_json`]).
    pub details: String,
    /// [`Entry::prev_hash`], hex.
    pub prev_hash: String,
    /// [`Entry::hash`], hex.
    pub hash: String,
}

impl From<&Entry> for Stored {
    fn from(e: &Entry) -> Self {
        Self {
            seq: e.seq,
            at: e.at,
            actor: e.actor.clone(),
            tenant: e.tenant,
            action: e.action.clone(),
            target: e.target.clone(),
            outcome: e.outcome.to_string(),
            source: e.source.clone(),
            details: e.details_json(),
            prev_hash: to_hex(&e.prev_hash),
            hash: to_hex(&e.hash),
        }
    }
}

impl TryFrom<Stored> for Entry {
    type Error = Error;
    fn try_from(s: Stored) -> Result<Self, Error> {
        let seq = s.seq;
        let bad = |field| Error::Malformed { seq, field };
        let outcome = s.outcome.parse().map_err(|()| bad("outcome"))?;
        let details = match serde_json::from_str(&s.details) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => return Err(bad("details")),
        };
        Ok(Self {
            seq,
            at: s.at,
            actor: s.actor,
            tenant: s.tenant,
            action: s.action,
            target: s.target,
            outcome,
            source: s.source,
            details,
            prev_hash: from_hex(&s.prev_hash).ok_or_else(|| bad("prev_hash"))?,
            hash: from_hex(&s.hash).ok_or_else(|| bad("hash"))?,
        })
    }
}

/// Lower-case hex of a hash.
#[must_use]
pub fn to_hex(h: &[u8; 32]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hash from 64 hex digits.
#[must_use]
pub fn from_hex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

mod hex32 {
    pub fn serialize<S: serde::Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::to_hex(h))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        super::from_hex(&s).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// What broke the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// The entry's content no longer matches its hash (or it was rewritten and re-hashed:
    /// the next entry no longer chains to it).
    Edited,
    /// The entry is missing.
    Deleted,
    /// The entry is not part of the chain (forged, put in).
    Inserted,
    /// The entry is not at its place.
    Reordered,
    /// The first entry does not start the chain.
    BadGenesis,
}

impl fmt::Display for BreakKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Edited => "edited",
            Self::Deleted => "deleted",
            Self::Inserted => "inserted",
            Self::Reordered => "reordered",
            Self::BadGenesis => "bad genesis",
        })
    }
}

/// Where and how the chain is broken: the first bad entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at entry {seq}: {kind}")]
pub struct Broken {
    /// The entry.
    pub seq: u64,
    /// How.
    pub kind: BreakKind,
}

/// An intact chain: how many entries, and the last one's hash (keep it to detect a later
/// truncation or rewrite).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Number of entries.
    pub count: u64,
    /// The last entry's hash ([`GENESIS`] for an empty log).
    pub head: [u8; 32],
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} entries, chain intact, head {}",
            self.count,
            to_hex(&self.head)
        )
    }
}

/// Checks a whole log, in the order it is stored (by seq): seq contiguous from 1, each
/// `prev_hash` the previous entry's hash, each hash recomputed.
///
/// # Errors
/// [`Broken`]: the first bad entry and what happened to it.
pub fn verify<I>(entries: I) -> Result<Summary, Broken>
where
    I: IntoIterator,
    I::Item: std::borrow::Borrow<Entry>,
{
    use std::borrow::Borrow;
    let items: Vec<I::Item> = entries.into_iter().collect();
    let all: Vec<&Entry> = items.iter().map(Borrow::borrow).collect();
    let by_hash: HashMap<[u8; 32], u64> = all.iter().map(|e| (e.hash, e.seq)).collect();
    let mut head = GENESIS;
    let mut expected = 1u64;
    for e in &all {
        let broken = |seq, kind| Err(Broken { seq, kind });
        if e.seq > expected {
            return broken(expected, BreakKind::Deleted);
        }
        if e.seq < expected {
            return broken(e.seq, BreakKind::Reordered);
        }
        let intact = e.compute_hash() == e.hash;
        if intact && e.prev_hash == head {
            head = e.hash;
            expected += 1;
            continue;
        }
        if intact {
            // Consistent in itself but not chained: its predecessor was rewritten.
            return if e.seq == 1 {
                broken(1, BreakKind::BadGenesis)
            } else {
                broken(e.seq - 1, BreakKind::Edited)
            };
        }
        if e.prev_hash == head {
            return broken(e.seq, BreakKind::Edited);
        }
        // Not at its place? Its hash is right at the place after the entry it chains to.
        let home = if e.prev_hash == GENESIS {
            Some(1)
        } else {
            by_hash.get(&e.prev_hash).map(|s| s + 1)
        };
        if let Some(home) = home.filter(|&h| h != e.seq) {
            let moved = Entry {
                seq: home,
                ..(*e).clone()
            };
            if moved.compute_hash() == e.hash {
                return if home + 1 == e.seq {
                    broken(e.seq - 1, BreakKind::Inserted)
                } else if home == e.seq + 1 {
                    broken(e.seq, BreakKind::Deleted)
                } else {
                    broken(e.seq, BreakKind::Reordered)
                };
            }
        }
        // Its predecessor is gone and the rest renumbered down.
        let renumbered = Entry {
            seq: e.seq + 1,
            ..(*e).clone()
        };
        if renumbered.compute_hash() == e.hash {
            return broken(e.seq, BreakKind::Deleted);
        }
        return broken(
            e.seq,
            if e.seq == 1 {
                BreakKind::BadGenesis
            } else {
                BreakKind::Inserted
            },
        );
    }
    Ok(Summary {
        count: expected - 1,
        head,
    })
}

/// Continues a check from an intact prefix `from` (what [`verify`] or this function said
/// earlier) over the entries after it, in seq order: each seq the next one, each `prev_hash`
/// the previous entry's hash, each hash recomputed. The prefix itself is not read again, so
/// an edit inside it is not seen here: check the whole log with [`verify`] now and then.
///
/// # Errors
/// [`Broken`]: the first entry after `from` that does not follow it (for the precise kind of
/// tampering, run [`verify`] over the whole log).
pub fn verify_after<I>(from: Summary, entries: I) -> Result<Summary, Broken>
where
    I: IntoIterator,
    I::Item: std::borrow::Borrow<Entry>,
{
    use std::borrow::Borrow;
    let mut s = from;
    for e in entries {
        let e: &Entry = e.borrow();
        let next = s.count + 1;
        let kind = if e.seq > next {
            Some(BreakKind::Deleted)
        } else if e.seq < next {
            Some(BreakKind::Reordered)
        } else if e.prev_hash != s.head || e.compute_hash() != e.hash {
            Some(BreakKind::Edited)
        } else {
            None
        };
        if let Some(kind) = kind {
            return Err(Broken {
                seq: e.seq.min(next),
                kind,
            });
        }
        s = Summary {
            count: e.seq,
            head: e.hash,
        };
    }
    Ok(s)
}

/// Which entries to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Entries after this seq (0: from the first).
    pub after_seq: u64,
    /// Entries at or after this time (Unix seconds).
    pub since_at: Option<i64>,
    /// One tenant's entries only (a tenant sees only its own).
    pub tenant: Option<i64>,
    /// At most this many.
    pub limit: Option<u32>,
}

/// Where the log is kept.
pub trait AuditLog: Send + Sync {
    /// The storage's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Numbers, chains and stores `draft` after the last entry, in one write transaction
    /// (two concurrent appends never fork the chain); the stored entry.
    fn append(&self, draft: Draft) -> impl Future<Output = Result<Entry, Self::Error>> + Send;

    /// The entries `query` selects, by seq.
    fn entries(
        &self,
        query: &Query,
    ) -> impl Future<Output = Result<Vec<Entry>, Self::Error>> + Send;
}

#[cfg(test)]
mod tests;
