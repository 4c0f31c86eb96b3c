//! The driver: load state in a transaction → pure function → save → commit. Generic over the
//! store; no I/O of its own (time and randomness are injected per call or at construction).

use std::sync::Arc;

use simforge_asn1::Iccid;
use simforge_asn1::json::{
    AuthenticateClientRequest, AuthenticateClientResponse, CancelOrderRequest,
    CancelSessionRequest, ConfirmOrderRequest, ConfirmOrderResponse, DownloadOrderRequest,
    DownloadOrderResponse, GetBoundProfilePackageRequest, GetBoundProfilePackageResponse,
    HandleNotificationRequest, HeaderOnlyResponse, InitiateAuthenticationRequest,
    InitiateAuthenticationResponse, ReleaseProfileRequest,
};
use simforge_crypto::{KeyAgreement, Random};
use simforge_vault::Vault;

use crate::config::{Ctx, SmdpConfig, SmdpKeys};
use crate::error::Result;
use crate::es2::{self, OrderTarget};
use crate::es9::{self, ProfileLookup};
use crate::model::{
    Event, OperatorId, Outcome, ProfileRecord, ProfileState, SessionChange, Subject, UnixTime,
};
use crate::profile::{self, NewProfile};
use crate::smds_queue::{Registration, registration, smds_ops};
use crate::store::{SmdpStore, SmdpTx};

/// The SM-DP+ service: configuration, keys, crypto providers and a store.
pub struct Smdp<S> {
    store: S,
    config: SmdpConfig,
    keys: std::sync::RwLock<KeyGenerations>,
    rng: Arc<dyn Random>,
    key_agreement: Arc<dyn KeyAgreement>,
    vault: Arc<dyn Vault>,
}

/// The keys in use and, after a rotation ([`Smdp::rotate_keys`]), the ones before, kept for
/// the sessions that started with them.
#[derive(Clone, Debug)]
pub struct KeyGenerations {
    /// The keys new sessions use.
    pub current: Arc<SmdpKeys>,
    /// The keys before the last rotation, and when it happened: a session created before
    /// then finishes with them.
    pub previous: Option<(Arc<SmdpKeys>, UnixTime)>,
}

impl<S> std::fmt::Debug for Smdp<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smdp")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What the service answers a call with: the response or error, the events persisted, and
/// the profile the call concerned when known — also when it failed (for logs).
#[derive(Debug)]
pub struct Reply<R> {
    /// Response or error (protocol or storage).
    pub result: Result<R>,
    /// The events persisted with the state change.
    pub events: Vec<Event>,
    /// The operator and ICCID of the profile concerned, when known.
    pub subject: Option<Subject>,
}

impl<R> Reply<R> {
    fn failed(e: crate::Error) -> Self {
        Self {
            result: Err(e),
            events: Vec::new(),
            subject: None,
        }
    }

    /// The response and its events, or the error.
    ///
    /// # Errors
    /// The call's error.
    pub fn into_result(self) -> Result<(R, Vec<Event>)> {
        let events = self.events;
        self.result.map(|r| (r, events))
    }
}

/// When a call's state change must be on stable storage: before the answer, or soon after it
/// ([`SmdpTx::commit_deferred`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Durability {
    BeforeAnswer,
    Deferred,
}

/// The profile's SM-DS registration as loaded, and the call's time: what [`save`] compares
/// the saved profile with ([`crate::smds_queue::smds_ops`]).
#[derive(Clone, Debug, Default)]
struct Before {
    smds: Option<Registration>,
    now: UnixTime,
}

impl Before {
    fn of(p: Option<&ProfileRecord>, now: UnixTime) -> Self {
        Self {
            smds: p.and_then(registration),
            now,
        }
    }
}

async fn save<T: SmdpTx, R>(
    mut tx: T,
    out: &mut Outcome<R>,
    before: &Before,
    durability: Durability,
) -> Result<()> {
    let smds = match &mut out.profile {
        Some(p) => smds_ops(before.smds.as_ref(), p, before.now),
        None => Vec::new(),
    };
    match &out.session {
        SessionChange::Keep => {}
        SessionChange::Put(s) => tx.put_session(s).await?,
        SessionChange::Delete(t) => tx.delete_session(t).await?,
    }
    if let Some(p) = &out.profile {
        tx.put_profile(p).await?;
    }
    if !out.events.is_empty() {
        tx.push_events(&out.events).await?;
    }
    if let Some(u) = &out.unseal {
        tx.record_unseal(u).await?;
    }
    if !smds.is_empty() {
        tx.push_smds_ops(&smds).await?;
    }
    match durability {
        Durability::BeforeAnswer => tx.commit().await,
        Durability::Deferred => tx.commit_deferred().await,
    }
}

/// The reply of an outcome that changes nothing (nothing is saved).
fn persist_nothing<R>(out: Outcome<R>) -> Reply<R> {
    let out = out.about(None);
    Reply {
        result: out.result,
        events: out.events,
        subject: out.subject,
    }
}

/// Saves what `out` changed (in `tx`, then commits durably) and answers with its result.
async fn persist_reply<T: SmdpTx, R>(tx: T, out: Outcome<R>, before: &Before) -> Reply<R> {
    persist_reply_with(tx, out, before, Durability::BeforeAnswer).await
}

/// As [`persist_reply`], with the commit's durability.
async fn persist_reply_with<T: SmdpTx, R>(
    tx: T,
    out: Outcome<R>,
    before: &Before,
    durability: Durability,
) -> Reply<R> {
    let mut out = out.about(None);
    match save(tx, &mut out, before, durability).await {
        Ok(()) => Reply {
            result: out.result,
            events: out.events,
            subject: out.subject,
        },
        Err(e) => Reply {
            result: Err(e),
            events: Vec::new(),
            subject: out.subject,
        },
    }
}

async fn persist<T: SmdpTx, R>(
    tx: T,
    out: Outcome<R>,
    before: &Before,
) -> Result<(Result<R>, Vec<Event>)> {
    let reply = persist_reply(tx, out, before).await;
    Ok((reply.result, reply.events))
}

impl<S: SmdpStore> Smdp<S> {
    /// A service over `store`.
    pub fn new(
        store: S,
        config: SmdpConfig,
        keys: SmdpKeys,
        rng: Arc<dyn Random>,
        key_agreement: Arc<dyn KeyAgreement>,
        vault: Arc<dyn Vault>,
    ) -> Self {
        Self {
            store,
            config,
            keys: std::sync::RwLock::new(KeyGenerations {
                current: Arc::new(keys),
                previous: None,
            }),
            rng,
            key_agreement,
            vault,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SmdpConfig {
        &self.config
    }

    /// The SM-DP+ OID: the subjectAltName registeredID of the (first) DPauth certificate, or
    /// the configured OID when the certificate has none.
    pub fn smdp_oid(&self) -> String {
        self.generations()
            .current
            .auth
            .iter()
            .find_map(|k| k.oid.clone())
            .unwrap_or_else(|| self.config.oid.clone())
    }

    /// The keys in use (and the previous ones, see [`KeyGenerations`]).
    pub fn generations(&self) -> KeyGenerations {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Takes new DPauth/DPpb keys and trust anchors into use at `now`, without a restart: a
    /// session created from now on uses `keys`; one created before finishes with the keys it
    /// started with (kept until the next rotation).
    pub fn rotate_keys(&self, keys: SmdpKeys, now: UnixTime) {
        let mut g = self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let old = std::mem::replace(&mut g.current, Arc::new(keys));
        g.previous = Some((old, now));
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The vault (profile packages are sealed with it).
    pub fn vault(&self) -> &dyn Vault {
        self.vault.as_ref()
    }

    fn ctx<'a>(&'a self, keys: &'a KeyGenerations, now: UnixTime) -> Ctx<'a> {
        Ctx {
            config: &self.config,
            keys: &keys.current,
            previous: keys.previous.as_ref().map(|(k, at)| (k.as_ref(), *at)),
            rng: self.rng.as_ref(),
            key_agreement: self.key_agreement.as_ref(),
            vault: self.vault.as_ref(),
            now,
        }
    }

    // ------------------------------------------------------------------ inventory

    /// Adds a profile (state Available) to `operator`'s inventory; its package is sealed.
    ///
    /// # Errors
    /// [`crate::Error::IccidInUse`], [`crate::Error::IccidInvalid`], storage or vault errors.
    pub async fn add_profile(
        &self,
        operator: OperatorId,
        new: NewProfile,
        now: UnixTime,
    ) -> Result<ProfileRecord> {
        let rec = profile::new_record(operator, new, self.vault.as_ref(), now)?;
        let mut tx = self.store.begin().await?;
        tx.insert_profile(&rec).await?;
        tx.commit().await?;
        Ok(rec)
    }

    /// Adds profiles (state Available) to `operator`'s inventory, in one transaction; those
    /// whose ICCID is already in an inventory (any operator's) are skipped. Returns the
    /// ICCIDs added, in order.
    ///
    /// # Errors
    /// As [`add_profiles`].
    pub async fn add_profiles(
        &self,
        operator: OperatorId,
        profiles: Vec<NewProfile>,
        now: UnixTime,
    ) -> Result<Vec<Iccid>> {
        add_profiles(&self.store, self.vault.as_ref(), operator, profiles, now).await
    }

    /// Sets the Profile Policy Rules of `operator`'s profile (PprIds bit numbers 0–2), while it
    /// is Available: they go into its metadata and the eligibility check.
    ///
    /// # Errors
    /// [`crate::Error::IccidUnknown`], [`crate::Error::IccidInvalidState`] (not Available),
    /// [`crate::Error::MandatoryElement`] (a bit outside 0–2), storage errors.
    pub async fn set_profile_policy_rules(
        &self,
        operator: OperatorId,
        iccid: &str,
        ppr: &[u8],
        now: UnixTime,
    ) -> Result<()> {
        if ppr.iter().any(|b| *b > 2) {
            return Err(crate::Error::MandatoryElement("PPR bit (0 to 2)"));
        }
        // Not an ICCID: no such profile, as before the ICCID was typed.
        let iccid = Iccid::parse(iccid).map_err(|_| crate::Error::IccidUnknown)?;
        let mut tx = self.store.begin().await?;
        let mut p = tx
            .profile(operator, &iccid)
            .await?
            .ok_or(crate::Error::IccidUnknown)?;
        if p.state != ProfileState::Available {
            return Err(crate::Error::IccidInvalidState(p.state.as_str()));
        }
        let mut ppr = ppr.to_vec();
        ppr.sort_unstable();
        ppr.dedup();
        p.requirements.ppr = ppr;
        p.updated_at = now;
        tx.put_profile(&p).await?;
        tx.commit().await
    }

    /// `operator`'s profile counts by state.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn inventory(&self, operator: OperatorId) -> Result<Vec<(ProfileState, u64)>> {
        let mut tx = self.store.begin().await?;
        let c = tx.count_by_state(operator).await?;
        tx.commit().await?;
        Ok(c)
    }

    // ----------------------------------------------------------------------- ES9+

    /// ES9+.InitiateAuthentication.
    ///
    /// # Errors
    /// The protocol error ([`crate::Error::status_code`]) or a storage error.
    pub async fn initiate_authentication(
        &self,
        req: &InitiateAuthenticationRequest,
        now: UnixTime,
    ) -> Result<(InitiateAuthenticationResponse, Vec<Event>)> {
        self.initiate_authentication_reply(req, now)
            .await
            .into_result()
    }

    /// ES9+.InitiateAuthentication, with the [`Reply`]'s details.
    pub async fn initiate_authentication_reply(
        &self,
        req: &InitiateAuthenticationRequest,
        now: UnixTime,
    ) -> Reply<InitiateAuthenticationResponse> {
        let keys = self.generations();
        let out = es9::initiate_authentication(req, &self.ctx(&keys, now));
        if out.result.is_err() {
            return persist_nothing(out);
        }
        // Deferred: an InitiateAuthentication lost to a power failure is one never made (the
        // LPA starts again); nothing is bound to its session yet.
        match self.store.begin().await {
            Ok(tx) => persist_reply_with(tx, out, &Before::default(), Durability::Deferred).await,
            Err(e) => Reply::failed(e),
        }
    }

    /// ES9+.AuthenticateClient.
    ///
    /// # Errors
    /// As [`Smdp::initiate_authentication`].
    pub async fn authenticate_client(
        &self,
        req: &AuthenticateClientRequest,
        now: UnixTime,
    ) -> Result<(AuthenticateClientResponse, Vec<Event>)> {
        self.authenticate_client_reply(req, now).await.into_result()
    }

    /// ES9+.AuthenticateClient, with the [`Reply`]'s details (the profile found, also when the
    /// eUICC or the device is not eligible for it).
    pub async fn authenticate_client_reply(
        &self,
        req: &AuthenticateClientRequest,
        now: UnixTime,
    ) -> Reply<AuthenticateClientResponse> {
        let keys = self.generations();
        let ctx = self.ctx(&keys, now);
        let run = async {
            let mut tx = self.store.begin().await?;
            let session = tx.session(&req.transaction_id).await?;
            let known = session.as_ref().map(|s| s.transaction_id.clone());
            let mut before = Before::of(None, now);
            let out = match es9::verify_client(req, session, &ctx) {
                Err(e) => es9::fail_session(e, known.as_ref(), None, &ctx),
                Ok(auth) => {
                    let profile = match auth.lookup() {
                        ProfileLookup::MatchingId(m) => tx.profile_by_matching_id(&m).await?,
                        ProfileLookup::Eid(eid) => tx.pending_profile_for_eid(&eid).await?,
                    };
                    before = Before::of(profile.as_ref(), now);
                    es9::authenticate_client(auth, profile, &ctx)
                }
            };
            // Deferred: losing this commit to a power failure is as if the call never
            // arrived. The LPA's GetBoundProfilePackage then finds no session and starts
            // again, and the profile is still where it was. GetBoundProfilePackage, which
            // hands out the profile, commits durably and so covers this commit too.
            Ok(persist_reply_with(tx, out, &before, Durability::Deferred).await)
        };
        run.await.unwrap_or_else(Reply::failed)
    }

    /// ES9+.GetBoundProfilePackage.
    ///
    /// # Errors
    /// As [`Smdp::initiate_authentication`].
    pub async fn get_bound_profile_package(
        &self,
        req: &GetBoundProfilePackageRequest,
        now: UnixTime,
    ) -> Result<(GetBoundProfilePackageResponse, Vec<Event>)> {
        self.get_bound_profile_package_reply(req, now)
            .await
            .into_result()
    }

    /// ES9+.GetBoundProfilePackage, with the [`Reply`]'s details (the profile of the session,
    /// also when the call failed).
    pub async fn get_bound_profile_package_reply(
        &self,
        req: &GetBoundProfilePackageRequest,
        now: UnixTime,
    ) -> Reply<GetBoundProfilePackageResponse> {
        let keys = self.generations();
        let ctx = self.ctx(&keys, now);
        let run = async {
            let mut tx = self.store.begin().await?;
            let (session, profile) =
                session_and_bound_profile(&mut tx, &req.transaction_id).await?;
            let before = Before::of(profile.as_ref(), now);
            let mut out = es9::get_bound_profile_package(req, session, profile, &ctx);
            if !self.config.audit_unseals {
                out.unseal = None;
            }
            Ok(persist_reply(tx, out, &before).await)
        };
        run.await.unwrap_or_else(Reply::failed)
    }

    /// ES9+.HandleNotification. The HTTP answer is 204 whatever the result; an `Err` is
    /// for logs.
    ///
    /// # Errors
    /// As [`Smdp::initiate_authentication`].
    pub async fn handle_notification(
        &self,
        req: &HandleNotificationRequest,
        now: UnixTime,
    ) -> Result<((), Vec<Event>)> {
        self.handle_notification_reply(req, now).await.into_result()
    }

    /// ES9+.HandleNotification, with the [`Reply`]'s details.
    pub async fn handle_notification_reply(
        &self,
        req: &HandleNotificationRequest,
        now: UnixTime,
    ) -> Reply<()> {
        let keys = self.generations();
        let ctx = self.ctx(&keys, now);
        let target = es9::notification_target(req);
        let run = async {
            let mut tx = self.store.begin().await?;
            let session = match &target.transaction_id {
                Some(t) => tx.session(t).await?,
                None => None,
            };
            let profile = match (
                session
                    .as_ref()
                    .and_then(|s| s.operator_id.zip(s.iccid.clone())),
                &target.iccid,
            ) {
                (Some((op, iccid)), _) => tx.profile(op, &iccid).await?,
                (None, Some(iccid)) => tx.profile_any_operator(iccid).await?,
                (None, None) => None,
            };
            let before = Before::of(profile.as_ref(), now);
            let out = es9::handle_notification(req, session, profile, &ctx);
            // Deferred: a notification lost to a power failure in the moment after its
            // answer is a notification that never arrived, which SGP.22 allows for (an LPA
            // may never send one). The profile stays Downloaded; it is never handed out
            // again.
            Ok(persist_reply_with(tx, out, &before, Durability::Deferred).await)
        };
        run.await.unwrap_or_else(Reply::failed)
    }

    /// ES9+.CancelSession.
    ///
    /// # Errors
    /// As [`Smdp::initiate_authentication`].
    pub async fn cancel_session(
        &self,
        req: &CancelSessionRequest,
        now: UnixTime,
    ) -> Result<(HeaderOnlyResponse, Vec<Event>)> {
        self.cancel_session_reply(req, now).await.into_result()
    }

    /// ES9+.CancelSession, with the [`Reply`]'s details.
    pub async fn cancel_session_reply(
        &self,
        req: &CancelSessionRequest,
        now: UnixTime,
    ) -> Reply<HeaderOnlyResponse> {
        let keys = self.generations();
        let ctx = self.ctx(&keys, now);
        let run = async {
            let mut tx = self.store.begin().await?;
            let (session, profile) =
                session_and_bound_profile(&mut tx, &req.transaction_id).await?;
            let policy = match &profile {
                Some(p) => tx.cancel_session_policy(p.operator_id).await?,
                None => crate::cancel::CancelSessionPolicy::default(),
            };
            let before = Before::of(profile.as_ref(), now);
            let out = es9::cancel_session_with(req, session, profile, &policy, &ctx);
            Ok(persist_reply(tx, out, &before).await)
        };
        run.await.unwrap_or_else(Reply::failed)
    }

    /// Deletes the ES9+ sessions that expired more than [`Self::SESSION_RETENTION_SECS`]
    /// before `now`: sessions whose download never finished, or whose install notification
    /// never came, would otherwise stay stored for ever. An expired session already refuses
    /// every call but HandleNotification, which needs the session's eUICC key to check a
    /// late ProfileInstallationResult; after the retention, that notification is refused too
    /// (8.10.1/3.9) and the profile stays Downloaded. A session no profile was bound to
    /// (InitiateAuthentication without a successful AuthenticateClient) is deleted as soon
    /// as it expired: no later call can need it, and InitiateAuthentication needs no
    /// credentials, so such sessions must not pile up for a month. In transactions of at most
    /// [`Self::PURGE_BATCH`] sessions, so that ES9+ calls go on between them; returns how
    /// many were deleted.
    ///
    /// # Errors
    /// A storage error (what was deleted before it stays deleted).
    pub async fn purge_expired_sessions(&self, now: UnixTime) -> Result<usize> {
        let before = now.saturating_sub(Self::SESSION_RETENTION_SECS);
        let mut total = 0;
        loop {
            let mut tx = self.store.begin().await?;
            let n = tx
                .delete_expired_sessions(before, now, Self::PURGE_BATCH)
                .await?;
            // Deferred: a purge lost to a power failure is done again by the next one.
            tx.commit_deferred().await?;
            total += n;
            if n < Self::PURGE_BATCH {
                return Ok(total);
            }
        }
    }

    /// Deletes the session `tid` if it is still in state Initiated (nothing bound to it:
    /// InitiateAuthentication only); a session that went on is left alone. For callers that
    /// bound how many unauthenticated sessions one source may hold (the server evicts a
    /// source's oldest); its AuthenticateClient then answers 8.10.1 / 3.9. Returns whether
    /// it was deleted.
    ///
    /// # Errors
    /// A storage error.
    pub async fn evict_initiated_session(
        &self,
        tid: &simforge_asn1::TransactionId,
    ) -> Result<bool> {
        let mut tx = self.store.begin().await?;
        let initiated = tx
            .session(tid)
            .await?
            .is_some_and(|s| s.state == crate::model::SessionState::Initiated);
        if initiated {
            tx.delete_session(tid).await?;
        }
        // Deferred: an eviction lost to a power failure loses the session anyway (on
        // SQLite it lives in memory) or leaves it to expire.
        tx.commit_deferred().await?;
        Ok(initiated)
    }

    /// Sessions deleted per transaction by [`Self::purge_expired_sessions`].
    pub const PURGE_BATCH: usize = 500;
    /// How long an expired session is kept for a late install notification: 30 days.
    pub const SESSION_RETENTION_SECS: UnixTime = 30 * 86_400;

    // ----------------------------------------------------------------------- ES2+

    /// ES2+.DownloadOrder for the authenticated `operator`.
    ///
    /// # Errors
    /// As [`Smdp::initiate_authentication`].
    pub async fn download_order(
        &self,
        operator: OperatorId,
        req: &DownloadOrderRequest,
        now: UnixTime,
    ) -> Result<(DownloadOrderResponse, Vec<Event>)> {
        let keys = self.generations();
        let ctx = self.ctx(&keys, now);
        let target = es2::order_target(req)?;
        let mut tx = self.store.begin().await?;
        let profile = match &target {
            OrderTarget::Iccid(i) => tx.profile(operator, i).await?,
            OrderTarget::ProfileType(t) => tx.available_profile(operator, t).await?,
        };
        let before = Before::of(profile.as_ref(), now);
        let out = es2::download_order(operator, req, profile, &ctx);
        let (r, ev) = persist(tx, out, &before).await?;
        r.map(|r| (r, ev))
    }

    /// ES2+.ConfirmOrder for the authenticated `operator`.
    ///
    /// # Errors
    /// As [`Smdp::initiate_authentication`].
    pub async fn confirm_order(
        &self,
        operator: OperatorId,
        req: &ConfirmOrderRequest,
        now: UnixTime,
    ) -> Result<(ConfirmOrderResponse, Vec<Event>)> {
        let keys = self.generations();
        let ctx = self.ctx(&keys, now);
        let iccid = es2::request_iccid(&req.iccid)?;
        let mut tx = self.store.begin().await?;
        let profile = tx.profile(operator, &iccid).await?;
        let taken = match &req.matching_id {
            Some(m) => match tx.profile_by_matching_id(m.as_str()).await? {
                Some(p) if p.operator_id != operator => es2::MatchingIdUse::OtherOperator,
                Some(p) if p.iccid != iccid => es2::MatchingIdUse::SameOperator,
                _ => es2::MatchingIdUse::Free,
            },
            None => es2::MatchingIdUse::Free,
        };
        // The operator's default SM-DS (else the platform's), for an order with an EID that
        // names none.
        let with_default;
        let has_eid = req.eid.is_some() || profile.as_ref().is_some_and(|p| p.eid.is_some());
        let req = match &req.smds_address {
            None if has_eid => match tx
                .default_smds_address(operator)
                .await?
                .or_else(|| self.config().default_smds_address.clone())
            {
                Some(a) => {
                    with_default = ConfirmOrderRequest {
                        smds_address: Some(a),
                        ..req.clone()
                    };
                    &with_default
                }
                None => req,
            },
            _ => req,
        };
        let before = Before::of(profile.as_ref(), now);
        let out = es2::confirm_order(operator, req, profile, taken, &ctx);
        let (r, ev) = persist(tx, out, &before).await?;
        match r {
            // A concurrent ConfirmOrder committed the same matchingId first (the store's
            // unique index): whose it is stays unsaid, as above.
            Err(crate::Error::MatchingIdConflict) if taken == es2::MatchingIdUse::Free => {
                Err(crate::Error::MatchingIdRefused)
            }
            r => r.map(|r| (r, ev)),
        }
    }

    /// ES2+.CancelOrder for the authenticated `operator`.
    ///
    /// # Errors
    /// As [`Smdp::initiate_authentication`].
    pub async fn cancel_order(
        &self,
        operator: OperatorId,
        req: &CancelOrderRequest,
        now: UnixTime,
    ) -> Result<(HeaderOnlyResponse, Vec<Event>)> {
        let keys = self.generations();
        let ctx = self.ctx(&keys, now);
        let iccid = es2::request_iccid(&req.iccid)?;
        let mut tx = self.store.begin().await?;
        let profile = tx.profile(operator, &iccid).await?;
        let before = Before::of(profile.as_ref(), now);
        let out = es2::cancel_order(operator, req, profile, &ctx);
        let (r, ev) = persist(tx, out, &before).await?;
        r.map(|r| (r, ev))
    }

    /// ES2+.ReleaseProfile for the authenticated `operator`.
    ///
    /// # Errors
    /// As [`Smdp::initiate_authentication`].
    pub async fn release_profile(
        &self,
        operator: OperatorId,
        req: &ReleaseProfileRequest,
        now: UnixTime,
    ) -> Result<(HeaderOnlyResponse, Vec<Event>)> {
        let keys = self.generations();
        let ctx = self.ctx(&keys, now);
        let iccid = es2::request_iccid(&req.iccid)?;
        let mut tx = self.store.begin().await?;
        let profile = tx.profile(operator, &iccid).await?;
        let before = Before::of(profile.as_ref(), now);
        let out = es2::release_profile(operator, req, profile, &ctx);
        let (r, ev) = persist(tx, out, &before).await?;
        r.map(|r| (r, ev))
    }
}

/// The session of `tid` and the profile it is bound to, if any.
async fn session_and_bound_profile<T: SmdpTx>(
    tx: &mut T,
    tid: &simforge_asn1::TransactionId,
) -> Result<(Option<crate::model::Session>, Option<ProfileRecord>)> {
    let session = tx.session(tid).await?;
    let profile = match session
        .as_ref()
        .and_then(|s| s.operator_id.zip(s.iccid.clone()))
    {
        Some((op, iccid)) => tx.profile(op, &iccid).await?,
        None => None,
    };
    Ok((session, profile))
}

/// Adds profiles (state Available) to `operator`'s inventory in `store`, their packages sealed
/// by `vault`, in one transaction; those whose ICCID is already in an inventory (any
/// operator's) are skipped. Every record is built (and checked) before anything is stored:
/// one bad profile adds none. Returns the ICCIDs added, in order. For tools that load the
/// inventory without running the SM-DP+ (no keys needed); [`Smdp::add_profiles`] is the same.
///
/// # Errors
/// [`crate::Error::IccidInvalid`], vault or storage errors.
pub async fn add_profiles<S: SmdpStore>(
    store: &S,
    vault: &dyn Vault,
    operator: OperatorId,
    profiles: Vec<NewProfile>,
    now: UnixTime,
) -> Result<Vec<Iccid>> {
    let records = profiles
        .into_iter()
        .map(|p| profile::new_record(operator, p, vault, now))
        .collect::<Result<Vec<_>>>()?;
    let mut tx = store.begin().await?;
    let mut added = Vec::new();
    for r in &records {
        if tx.profile_any_operator(&r.iccid).await?.is_some() {
            continue;
        }
        tx.insert_profile(r).await?;
        added.push(r.iccid.clone());
    }
    tx.commit().await?;
    Ok(added)
}
