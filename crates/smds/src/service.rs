//! The SM-DS's functions: ES12 (RegisterEvent, DeleteEvent) and ES11 (InitiateAuthentication,
//! AuthenticateClient).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use simforge_asn1::json::{
    AuthenticateClientRequest, DeleteEventRequest, Es11AuthenticateClientResponse, EventEntry,
    InitiateAuthenticationRequest, InitiateAuthenticationResponse, RegisterEventRequest,
};
use simforge_asn1::rsp::{AuthenticateClientOkEs11, AuthenticateClientResponseEs11, EventEntries};
use simforge_asn1::status::ResponseHeader;
use simforge_asn1::{Eid, Extensions, MatchingId};
use simforge_crypto::Random;
use simforge_pki::{CiStore, LabPki};
use simforge_smdp::error::Cause;
use simforge_smdp::es9::{AuthServer, open_session, verify_client_with};
use simforge_smdp::{DpKey, SmdsOp, SmdsOpKind, UnixTime, address_designates};

use crate::error::{Error, Result};
use crate::store::SmdsStore;

/// SM-DS settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmdsConfig {
    /// The SM-DS FQDN (the DStls dNSName; what LPAs send as `smdpAddress`/`smdsAddress`).
    pub fqdn: String,
    /// The HTTPS port served; the address may carry `:port` only with this port.
    pub port: u16,
    /// ES11 session lifetime (InitiateAuthentication to AuthenticateClient), in seconds.
    pub session_ttl_secs: i64,
    /// How long an event record lives after its registration, in seconds (`None`: until its
    /// registrant deletes it). Local policy: ES12.RegisterEvent has no expiry member.
    pub event_ttl_secs: Option<i64>,
    /// Event records kept per EID at most (a registrant cannot fill an eUICC's list).
    pub max_events_per_eid: usize,
    /// The root SM-DS (`host[:port]`) this SM-DS, as an alternative SM-DS, forwards events
    /// to (ES15) when their registration carries `forwardingIndicator` true; `None`: this is
    /// a root SM-DS (the indicator is kept, nothing is forwarded).
    #[serde(default)]
    pub root: Option<String>,
}

impl SmdsConfig {
    /// Defaults for `fqdn`: port 443, 10-minute sessions, records kept 90 days, 32 per EID.
    #[must_use]
    pub fn new(fqdn: &str) -> Self {
        Self {
            fqdn: fqdn.to_owned(),
            port: 443,
            session_ttl_secs: 600,
            event_ttl_secs: Some(90 * 24 * 3600),
            max_events_per_eid: 32,
            root: None,
        }
    }

    /// The SM-DS address (the FQDN, with `:port` unless 443).
    #[must_use]
    pub fn address(&self) -> String {
        if self.port == 443 {
            self.fqdn.clone()
        } else {
            format!("{}:{}", self.fqdn, self.port)
        }
    }

    /// Whether `addr` (`host` or `host:port`) designates this SM-DS.
    #[must_use]
    pub fn accepts_address(&self, addr: &str) -> bool {
        address_designates(addr, &self.fqdn, self.port)
    }
}

/// The SM-DS's trust anchors and DSauth keys (one per CI).
#[derive(Clone, Debug, Default)]
pub struct SmdsKeys {
    /// Trusted CIs (for eUICC chains).
    pub ci: CiStore,
    /// CERT.DSauth.ECDSA with its key, one per CI.
    pub auth: Vec<DpKey>,
}

impl SmdsKeys {
    /// Adds a lab PKI's CI and DSauth.
    ///
    /// # Errors
    /// [`Error::Config`] if the PKI has no SM-DS certificates or one is unusable.
    pub fn add_pki(&mut self, pki: &LabPki) -> Result<()> {
        let ds = pki
            .smds
            .as_ref()
            .ok_or_else(|| Error::Config(Cause::new("the PKI has no SM-DS certificates")))?;
        self.ci
            .add(pki.ci.clone())
            .map_err(|e| Error::Config(Cause::with_source("CI", e)))?;
        let key = DpKey::new(ds.auth.cert.der(), &ds.auth.key)
            .map_err(|e| Error::Config(Cause::with_source("DSauth", e)))?;
        self.auth.push(key);
        Ok(())
    }

    /// Keys from one or more PKIs.
    ///
    /// # Errors
    /// As [`SmdsKeys::add_pki`].
    pub fn from_pkis(pkis: &[&LabPki]) -> Result<Self> {
        let mut k = Self::default();
        for p in pkis {
            k.add_pki(p)?;
        }
        Ok(k)
    }
}

/// Who registered an event record: the identity the ES12 edge authenticated (the name of a
/// registered SM-DP+ client certificate, or the certificate's SHA-256). Only it may delete
/// the record.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Registrant(String);

impl Registrant {
    /// Parses an identity: 1 to 128 printable ASCII characters.
    ///
    /// # Errors
    /// [`Error::Invalid`].
    pub fn parse(s: &str) -> Result<Self> {
        if s.is_empty() || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Invalid("registrant identity"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The identity.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Registrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Registrant({})", self.0)
    }
}

impl fmt::Display for Registrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One event record (SGP.22 §3.6: EID, EventID, RSP server address), with its registrant
/// and times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// The eUICC the event is for.
    pub eid: Eid,
    /// The EventID (the LPA sends it back as matchingId).
    pub event_id: String,
    /// The SM-DP+ (or alternative SM-DS) the LPA is to contact.
    pub rsp_server_address: String,
    /// Who registered it.
    pub registrant: Registrant,
    /// When.
    pub registered_at: UnixTime,
    /// When it stops being served (`None`: never).
    pub expires_at: Option<UnixTime>,
    /// forwardingIndicator as registered: at an alternative SM-DS (one with
    /// [`SmdsConfig::root`]), the record was forwarded to the root SM-DS (ES15), and its
    /// deletion is forwarded too.
    pub forwarding_indicator: bool,
}

impl EventRecord {
    /// Whether the record has expired at `now`.
    #[must_use]
    pub fn is_expired(&self, now: UnixTime) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }
}

/// Whether `addr` is an RSP server address an event may point to: an FQDN (letters,
/// digits, `-` and `.`, labels of 1 to 63, 255 at most), optionally with `:port`.
#[must_use]
pub fn valid_rsp_server_address(addr: &str) -> bool {
    let (host, port) = match addr.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (addr, None),
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok_and(|n| n > 0)
    });
    port_ok
        && !host.is_empty()
        && host.len() <= 255
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether `id` can be an EventID: 1 to 255 bytes of UTF-8 without control characters (the
/// LPA sends it back as ctxParams1.matchingId).
fn valid_event_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && !id.chars().any(char::is_control)
}

/// The SM-DS: configuration, keys, randomness and its store.
pub struct Smds<S> {
    config: SmdsConfig,
    keys: SmdsKeys,
    store: S,
    rng: Arc<dyn Random>,
}

impl<S> fmt::Debug for Smds<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smds")
            .field("config", &self.config)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl<S: SmdsStore> Smds<S> {
    /// An SM-DS.
    pub fn new(config: SmdsConfig, keys: SmdsKeys, store: S, rng: Arc<dyn Random>) -> Self {
        Self {
            config,
            keys,
            store,
            rng,
        }
    }

    /// Its settings.
    pub fn config(&self) -> &SmdsConfig {
        &self.config
    }

    /// Its store.
    pub fn store(&self) -> &S {
        &self.store
    }

    // ------------------------------------------------------------------------ ES12

    /// ES12.RegisterEvent: keeps (EID, EventID, rspServerAddress) for `registrant`.
    ///
    /// # Errors
    /// [`Error::Invalid`] (eventId, rspServerAddress), [`Error::EventIdConflict`] (the EID
    /// has a live record with this EventID, 8.9.5 / 3.3), storage.
    pub fn register_event(
        &self,
        registrant: &Registrant,
        req: &RegisterEventRequest,
        now: UnixTime,
    ) -> Result<()> {
        if !valid_event_id(&req.event_id) {
            return Err(Error::Invalid("eventId"));
        }
        if !valid_rsp_server_address(&req.rsp_server_address) {
            return Err(Error::Invalid("rspServerAddress"));
        }
        let forwarding = req.forwarding_indicator.unwrap_or(false);
        if forwarding && self.root().is_some() && MatchingId::parse(&req.event_id).is_err() {
            // The root's record sends the LPA here with this EventID as its matchingId.
            return Err(Error::Invalid(
                "eventId: an EventID to forward to the root SM-DS must be a matchingId (A-Z, 0-9, '-')",
            ));
        }
        let existing = self.store.events_for(&req.eid)?;
        if let Some(old) = existing.iter().find(|r| r.event_id == req.event_id) {
            if !old.is_expired(now) {
                return Err(Error::EventIdConflict);
            }
            // An expired record not yet purged gives way (and its copy at the root goes).
            let ops = self.forward(old, SmdsOpKind::Delete, now);
            self.store.remove_event(old, &ops)?;
        }
        let live = existing.iter().filter(|r| !r.is_expired(now)).count();
        if live >= self.config.max_events_per_eid {
            return Err(Error::Invalid(
                "eid: too many events registered for this EID",
            ));
        }
        let record = EventRecord {
            eid: req.eid,
            event_id: req.event_id.clone(),
            rsp_server_address: req.rsp_server_address.clone(),
            registrant: registrant.clone(),
            registered_at: now,
            expires_at: self.config.event_ttl_secs.map(|t| now.saturating_add(t)),
            forwarding_indicator: forwarding,
        };
        let ops = self.forward(&record, SmdsOpKind::Register, now);
        if !self.store.insert_event(record, &ops)? {
            return Err(Error::EventIdConflict);
        }
        tracing::info!(%registrant, forwarded = !ops.is_empty(), "event registered");
        Ok(())
    }

    /// The root SM-DS this SM-DS forwards to (never itself).
    fn root(&self) -> Option<&str> {
        self.config
            .root
            .as_deref()
            .filter(|r| !self.config.accepts_address(r))
    }

    /// The ES15 operation `r`'s registration or deletion asks of the root SM-DS: none at a
    /// root SM-DS or for a record registered without forwardingIndicator. The root's record
    /// keeps the EID and the EventID and points at this SM-DS (rspServerAddress = this
    /// address, forwardingIndicator false: the root forwards nothing), registered by this
    /// SM-DS's identity, so only this SM-DS deletes it.
    fn forward(&self, r: &EventRecord, kind: SmdsOpKind, now: UnixTime) -> Vec<SmdsOp> {
        let Some(root) = self.root().filter(|_| r.forwarding_indicator) else {
            return Vec::new();
        };
        let Ok(event_id) = MatchingId::parse(&r.event_id) else {
            return Vec::new();
        };
        vec![SmdsOp {
            operator_id: 0,
            iccid: None,
            kind,
            smds_address: root.to_owned(),
            eid: r.eid,
            event_id,
            due: now,
            at: now,
        }]
    }

    /// ES12.DeleteEvent: removes the record of `registrant`. An unknown record, an expired
    /// one and another registrant's are the same answer (8.9.5 / 3.9).
    ///
    /// # Errors
    /// [`Error::EventUnknown`], storage.
    pub fn delete_event(
        &self,
        registrant: &Registrant,
        req: &DeleteEventRequest,
        now: UnixTime,
    ) -> Result<()> {
        let mine = self.store.events_for(&req.eid)?.into_iter().find(|r| {
            r.event_id == req.event_id && &r.registrant == registrant && !r.is_expired(now)
        });
        let Some(mine) = mine else {
            return Err(Error::EventUnknown);
        };
        let ops = self.forward(&mine, SmdsOpKind::Delete, now);
        if self.store.remove_event(&mine, &ops)?.is_none() {
            return Err(Error::EventUnknown);
        }
        tracing::info!(%registrant, forwarded = !ops.is_empty(), "event deleted");
        Ok(())
    }

    /// Drops expired sessions and event records; each record purged is logged (a record
    /// dropped silently is a profile its device never finds), and the deletion of a
    /// forwarded one is queued for the root SM-DS (after the purge: a crash in between
    /// leaves the root's copy to the root's own expiry). Returns the records purged.
    ///
    /// # Errors
    /// Storage.
    pub fn purge_expired(&self, now: UnixTime) -> Result<Vec<EventRecord>> {
        let purged = self.store.purge_expired(now)?;
        let ops: Vec<SmdsOp> = purged
            .iter()
            .flat_map(|r| self.forward(r, SmdsOpKind::Delete, now))
            .collect();
        if !ops.is_empty() {
            self.store.queue_ops(&ops)?;
        }
        for r in &purged {
            tracing::info!(
                registrant = %r.registrant,
                registered_at = r.registered_at,
                "event record expired and purged"
            );
        }
        Ok(purged)
    }

    // ------------------------------------------------------------------------ ES11

    /// Drops an ES11 session that has only been through InitiateAuthentication (a source
    /// holding too many: the edge's per-source limit); its AuthenticateClient then answers
    /// 8.10.1 / 3.9. Whether it was there.
    ///
    /// # Errors
    /// Storage.
    pub fn evict_session(&self, tid: &simforge_asn1::TransactionId) -> Result<bool> {
        Ok(self.store.take_session(tid)?.is_some())
    }

    fn auth_server<'a>(
        &'a self,
        usable: &'a dyn Fn(&[u8]) -> bool,
        accepts: &'a dyn Fn(&str) -> bool,
        now: UnixTime,
    ) -> AuthServer<'a> {
        AuthServer {
            ci: &self.keys.ci,
            auth: &self.keys.auth,
            usable_ci: usable,
            accepts_address: accepts,
            session_ttl_secs: self.config.session_ttl_secs,
            rng: &*self.rng,
            now,
        }
    }

    /// ES11.InitiateAuthentication: the common mutual authentication's first half, signed
    /// with DSauth, serverAddress = the SM-DS address the LPA sent.
    ///
    /// # Errors
    /// 8.9.1 / 3.8 (not this SM-DS's address), 8.9.2 / 3.1, 8.9.3 / 3.1, 8.9.4 / 3.7 (through
    /// [`Error::status_code`]), storage.
    pub fn initiate_authentication(
        &self,
        req: &InitiateAuthenticationRequest,
        now: UnixTime,
    ) -> Result<InitiateAuthenticationResponse> {
        let usable = |_: &[u8]| true;
        let accepts = |a: &str| self.config.accepts_address(a);
        let (resp, session) = open_session(req, &self.auth_server(&usable, &accepts, now))?;
        self.store.put_session(session)?;
        Ok(resp)
    }

    /// ES11.AuthenticateClient: the eUICC verified as the SM-DP+ verifies it (chain to a
    /// trusted CI, EID in the EUM's range, euiccSignature1, transactionId, serverAddress,
    /// serverChallenge), then its live event records in arrival order, or only the one
    /// whose EventID is the signed matchingId. The transactionId is consumed, whatever the
    /// answer.
    ///
    /// # Errors
    /// The SM-DP+'s authentication errors (8.10.1 / 3.9, 8.1 / 6.1, 8.1.2, 8.1.3, 8.1.4,
    /// 8.11.1 / 3.9), [`Error::EventUnknown`], storage.
    pub fn authenticate_client(
        &self,
        req: &AuthenticateClientRequest,
        now: UnixTime,
    ) -> Result<Es11AuthenticateClientResponse> {
        let session = self.store.take_session(&req.transaction_id)?;
        let auth = verify_client_with(req, session, &self.keys.ci, now)?;
        let live = self
            .store
            .events_for(auth.eid())?
            .into_iter()
            .filter(|r| !r.is_expired(now));
        let records: Vec<EventRecord> = match auth.matching_id().filter(|m| !m.is_empty()) {
            Some(m) => vec![
                live.into_iter()
                    .find(|r| r.event_id == m)
                    .ok_or(Error::EventUnknown)?,
            ],
            None => live.collect(),
        };
        Ok(Es11AuthenticateClientResponse {
            header: ResponseHeader::success(),
            transaction_id: Some(auth.transaction_id().clone()),
            event_entries: records
                .into_iter()
                .map(|r| EventEntry {
                    event_id: r.event_id,
                    rsp_server_address: r.rsp_server_address,
                })
                .collect(),
        })
    }
}

/// The ASN.1 binding of an ES11.AuthenticateClient answer (`AuthenticateClientResponseEs11`,
/// `BF40`): the event entries, or `authenticateClientError` ([`Error::es11_error_code`]).
#[must_use]
pub fn es11_asn1(
    result: &Result<Es11AuthenticateClientResponse>,
) -> AuthenticateClientResponseEs11 {
    match result {
        Ok(r) => match &r.transaction_id {
            Some(tid) => {
                AuthenticateClientResponseEs11::AuthenticateClientOk(AuthenticateClientOkEs11 {
                    transaction_id: tid.clone(),
                    event_entries: r
                        .event_entries
                        .iter()
                        .map(|e| EventEntries {
                            event_id: e.event_id.clone(),
                            rsp_server_address: e.rsp_server_address.clone(),
                            extensions: Extensions::default(),
                        })
                        .collect(),
                    extensions: Extensions::default(),
                })
            }
            None => AuthenticateClientResponseEs11::AuthenticateClientError(127),
        },
        Err(e) => AuthenticateClientResponseEs11::AuthenticateClientError(e.es11_error_code()),
    }
}
