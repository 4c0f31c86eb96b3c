//! The [`SmdpStore`] contract: what every store (and a [`simforge_store::SessionCache`]
//! above it) must do alike, at the level of its transactions and through the SM-DP+.
//! Scenarios taking a store get a fresh database holding operators [`A`] and [`B`]; those
//! taking a [`Backend`] open and restart it themselves.

use std::sync::Arc;

use simforge_asn1::TransactionId;
use simforge_asn1::json::DownloadOrderRequest;
use simforge_pki::Curve;
use simforge_smdp::profile::iccid_to_bcd;
use simforge_smdp::{
    Error, ProfileMetadata, ProfileRecord, ProfileState, SealedPackage, Session, SessionState,
    SmdpStore, SmdpTx,
};

use super::backends::{A, B, Backend};
use super::{
    ADDR, ICCID, NOW, TestEuicc, add, auth, header, lab, record, released_order, smdp_on,
    synthetic_package,
};

/// A profile record of operator `op`, Available, as stored by `insert_profile`.
pub fn profile(op: i64, iccid: &str) -> ProfileRecord {
    ProfileRecord {
        operator_id: op,
        iccid: iccid.parse().expect("iccid"),
        profile_type: "t".into(),
        state: ProfileState::Available,
        eid: None,
        matching_id: None,
        cc_hash: None,
        cc_attempts: 0,
        download_attempts: 0,
        order_expires_at: None,
        session: None,
        session_expires_at: None,
        metadata: ProfileMetadata {
            service_provider_name: "S".into(),
            profile_name: "P".into(),
            profile_class: 2,
            notification_address: None,
        },
        package: SealedPackage(vec![1, 2, 3]),
        reuse_on_delete: false,
        version: 0,
        updated_at: 0,
        requirements: Default::default(),
        binding: None,
        last_notification: None,
        smds_address: None,
    }
}

/// A session (`tid` in hex) expiring at 100.
pub fn session(tid: &str, state: SessionState, op: Option<i64>) -> Session {
    Session {
        transaction_id: TransactionId::parse_hex(tid).unwrap(),
        state,
        created_at: 1,
        expires_at: 100,
        smdp_address: "x".into(),
        euicc_challenge: vec![1; 16],
        server_challenge: vec![2; 16],
        ci_pkid: vec![3; 20],
        signing_ci_pkids: vec![vec![3; 20]],
        eid: None,
        euicc_public_key: None,
        operator_id: op,
        iccid: None,
        smdp_signature2: None,
        cc_required: false,
    }
}

fn tid(hex: &str) -> TransactionId {
    TransactionId::parse_hex(hex).unwrap()
}

async fn insert<S: SmdpStore>(store: &S, profiles: &[ProfileRecord]) {
    let mut tx = store.begin().await.unwrap();
    for p in profiles {
        tx.insert_profile(p).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// Profiles are scoped to their operator; an ICCID is taken whatever the operator; a stale
/// version is refused; a transaction dropped without commit changes nothing.
pub async fn round_trip_and_tenant_isolation<S: SmdpStore>(store: S) {
    let iccid = "8949440000000000011";
    let mut tx = store.begin().await.unwrap();
    tx.insert_profile(&profile(A, iccid)).await.unwrap();
    assert!(matches!(
        tx.insert_profile(&profile(B, iccid)).await,
        Err(Error::IccidInUse)
    ));
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.profile(B, &iccid.parse().expect("iccid"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(tx.available_profile(B, "t").await.unwrap().is_none());
    assert_eq!(
        tx.profile_any_operator(&iccid.parse().expect("iccid"))
            .await
            .unwrap()
            .unwrap()
            .operator_id,
        A
    );
    let mut p = tx
        .profile(A, &iccid.parse().expect("iccid"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.package.0.as_slice(), p.version), (&[1, 2, 3][..], 0));
    p.state = ProfileState::Released;
    p.matching_id = Some(simforge_asn1::MatchingId::parse("ABC-123").unwrap());
    tx.put_profile(&p).await.unwrap();
    // A stale version is refused, and so is another operator's save.
    assert!(matches!(tx.put_profile(&p).await, Err(Error::Storage(_))));
    let mut theirs = p.clone();
    theirs.version = 1;
    theirs.operator_id = B;
    assert!(matches!(
        tx.put_profile(&theirs).await,
        Err(Error::Storage(_))
    ));
    tx.commit().await.unwrap();

    // Uncommitted changes are rolled back.
    {
        let mut tx = store.begin().await.unwrap();
        let mut p = tx.profile_by_matching_id("ABC-123").await.unwrap().unwrap();
        p.state = ProfileState::Error;
        p.package = SealedPackage(vec![9]);
        tx.put_profile(&p).await.unwrap();
        tx.insert_profile(&profile(A, "8949440000000000029"))
            .await
            .unwrap();
    }
    let mut tx = store.begin().await.unwrap();
    let p = tx.profile_by_matching_id("ABC-123").await.unwrap().unwrap();
    assert_eq!(
        (p.state, p.version, p.package.0.as_slice()),
        (ProfileState::Released, 1, &[1, 2, 3][..])
    );
    assert!(
        tx.profile_any_operator(&"8949440000000000029".parse().expect("iccid"))
            .await
            .unwrap()
            .is_none()
    );
    let counts = tx.count_by_state(A).await.unwrap();
    assert_eq!(counts.len(), ProfileState::ALL.len(), "{counts:?}");
    assert!(counts.contains(&(ProfileState::Released, 1)), "{counts:?}");
    assert!(counts.contains(&(ProfileState::Available, 0)), "{counts:?}");
    assert!(
        tx.count_by_state(B)
            .await
            .unwrap()
            .iter()
            .all(|(_, n)| *n == 0)
    );
    tx.commit().await.unwrap();
}

/// A matchingId names one profile: an insert that reuses one fails (a storage error), a
/// save that takes another profile's is [`Error::MatchingIdConflict`].
pub async fn a_matching_id_names_one_profile<S: SmdpStore>(store: S) {
    let mid = simforge_asn1::MatchingId::parse("ABC-123").unwrap();
    let mut first = profile(A, "8949440000000000011");
    first.matching_id = Some(mid.clone());
    insert(&store, &[first, profile(A, "8949440000000000029")]).await;
    let mut tx = store.begin().await.unwrap();
    let mut second = profile(B, "8949440000000000037");
    second.matching_id = Some(mid.clone());
    assert!(matches!(
        tx.insert_profile(&second).await,
        Err(Error::Storage(_))
    ));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    let mut p = tx
        .profile(A, &"8949440000000000029".parse().expect("iccid"))
        .await
        .unwrap()
        .unwrap();
    p.matching_id = Some(mid);
    assert!(matches!(
        tx.put_profile(&p).await,
        Err(Error::MatchingIdConflict)
    ));
}

/// ES9+ with an EID and no matchingId (SGP.22 §3.1.3, default SM-DP+ address): the oldest
/// released (or downloaded) order of the EID, the lowest ICCID among equally old ones.
pub async fn the_pending_order_of_an_eid_is_the_oldest<S: SmdpStore>(store: S) {
    let eid = simforge_asn1::Eid::parse("89049032123451234512345678901235").unwrap();
    let order = |iccid: &str, state, updated_at| {
        let mut p = profile(A, iccid);
        p.eid = Some(eid);
        p.state = state;
        p.updated_at = updated_at;
        p
    };
    insert(
        &store,
        &[
            order("8949440000000000045", ProfileState::Released, 20),
            order("8949440000000000037", ProfileState::Downloaded, 20),
            order("8949440000000000029", ProfileState::Installed, 10),
            order("8949440000000000052", ProfileState::Released, 30),
        ],
    )
    .await;
    let mut tx = store.begin().await.unwrap();
    let p = tx.pending_profile_for_eid(&eid).await.unwrap().unwrap();
    assert_eq!(p.iccid, "8949440000000000037");
    let other = simforge_asn1::Eid::parse("89049032123451234512345678901332").unwrap();
    assert!(tx.pending_profile_for_eid(&other).await.unwrap().is_none());
    tx.commit().await.unwrap();
}

/// The Available profile of a type is the lowest ICCID of the operator's.
pub async fn allocation_takes_the_lowest_available_iccid<S: SmdpStore>(store: S) {
    let mut other_type = profile(A, "8949440000000000011");
    other_type.profile_type = "u".into();
    let mut taken = profile(A, "8949440000000000029");
    taken.state = ProfileState::Allocated;
    insert(
        &store,
        &[
            other_type,
            taken,
            profile(A, "8949440000000000045"),
            profile(A, "8949440000000000037"),
            profile(B, "8949440000000000003"),
        ],
    )
    .await;
    let mut tx = store.begin().await.unwrap();
    let p = tx.available_profile(A, "t").await.unwrap().unwrap();
    assert_eq!(p.iccid, "8949440000000000037");
    assert!(tx.available_profile(A, "v").await.unwrap().is_none());
}

/// Issue 4: two concurrent allocations never take the same profile. 25 concurrent
/// transactions over 10 Available profiles: 10 get one, all different.
pub async fn concurrent_allocation_never_hands_out_a_profile_twice<
    S: SmdpStore + Clone + 'static,
>(
    store: S,
) {
    let profiles: Vec<ProfileRecord> = (0..10)
        .map(|i| profile(A, &format!("89494400000000001{i:02}")))
        .collect();
    insert(&store, &profiles).await;
    let mut tasks = Vec::new();
    for _ in 0..25 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            let mut p = tx.available_profile(A, "t").await.unwrap()?;
            p.state = ProfileState::Allocated;
            tx.put_profile(&p).await.unwrap();
            tx.commit().await.unwrap();
            Some(p.iccid)
        }));
    }
    let mut got = Vec::new();
    for t in tasks {
        got.extend(t.await.unwrap());
    }
    let n = got.len();
    got.sort();
    got.dedup();
    assert_eq!((n, got.len()), (10, 10), "{got:?}");
    let mut tx = store.begin().await.unwrap();
    let counts = tx.count_by_state(A).await.unwrap();
    assert!(
        counts.contains(&(ProfileState::Allocated, 10)),
        "{counts:?}"
    );
    assert!(counts.contains(&(ProfileState::Available, 0)), "{counts:?}");
}

/// Issue 4 through the SM-DP+: 30 concurrent ES2+ DownloadOrders by profile type over 10
/// profiles: exactly 10 get one, all different, the others an SGP.22 status (never a
/// storage error), and the inventory adds up.
pub async fn concurrent_orders_never_allocate_a_profile_twice<S: SmdpStore + 'static>(store: S) {
    let pki = lab(Curve::P256, 1);
    let smdp = Arc::new(smdp_on(store, &pki));
    for i in 0..10 {
        add(&smdp, A, &format!("89494499999999901{i:02}")).await;
    }
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let smdp = smdp.clone();
        tasks.push(tokio::spawn(async move {
            let req = DownloadOrderRequest {
                header: header(),
                eid: None,
                iccid: None,
                profile_type: Some("t".into()),
            };
            smdp.download_order(A, &req, NOW)
                .await
                .map(|(r, _)| r.iccid.unwrap())
        }));
    }
    let mut got = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(iccid) => got.push(iccid),
            Err(e) => assert!(
                e.status_code().is_some() && !matches!(e, Error::Storage(_)),
                "{e}"
            ),
        }
    }
    assert_eq!(got.len(), 10, "{got:?}");
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 10, "a profile allocated twice");
    let mut tx = smdp.store().begin().await.unwrap();
    let counts = tx.count_by_state(A).await.unwrap();
    assert!(
        counts.contains(&(ProfileState::Allocated, 10)),
        "{counts:?}"
    );
    assert!(counts.contains(&(ProfileState::Available, 0)), "{counts:?}");
}

/// Tenants through the SM-DP+: operator B cannot order operator A's profile.
pub async fn one_operator_cannot_order_another_operators_profile<S: SmdpStore>(store: S) {
    let pki = lab(Curve::P256, 1);
    let smdp = smdp_on(store, &pki);
    add(&smdp, A, ICCID).await;
    let req = DownloadOrderRequest {
        header: header(),
        eid: None,
        iccid: Some(ICCID.into()),
        profile_type: None,
    };
    assert!(smdp.download_order(B, &req, NOW).await.is_err());
    assert_eq!(record(&smdp, A, ICCID).await.state, ProfileState::Available);
    assert!(smdp.download_order(A, &req, NOW).await.is_ok());
}

/// Sessions in every state: stored whole, found by transactionId in any case of hex,
/// replaced, deleted (deleting an absent one is no error), rolled back with their
/// transaction; a deferred commit is visible at once.
pub async fn sessions_round_trip<S: SmdpStore>(store: S) {
    let initiated = session("0A0B", SessionState::Initiated, None);
    let mut bound = session("0C0D", SessionState::Authenticated, Some(A));
    let mut tx = store.begin().await.unwrap();
    tx.put_session(&initiated).await.unwrap();
    tx.put_session(&bound).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.session(&tid("0a0b")).await.unwrap().as_ref(),
        Some(&initiated)
    );
    assert_eq!(
        tx.session(&tid("0c0d")).await.unwrap().as_ref(),
        Some(&bound)
    );
    assert_eq!(tx.session(&tid("0E")).await.unwrap(), None);
    // The initiated session is bound (AuthenticateClient), the other one goes on.
    let mut authed = initiated.clone();
    authed.state = SessionState::Authenticated;
    authed.operator_id = Some(B);
    tx.put_session(&authed).await.unwrap();
    bound.state = SessionState::BppDelivered;
    bound.iccid = Some(ICCID.parse().expect("iccid"));
    tx.put_session(&bound).await.unwrap();
    tx.commit_deferred().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.session(&tid("0A0B")).await.unwrap().as_ref(),
        Some(&authed)
    );
    assert_eq!(
        tx.session(&tid("0C0D")).await.unwrap().as_ref(),
        Some(&bound)
    );
    tx.delete_session(&tid("0A0B")).await.unwrap();
    tx.delete_session(&tid("0E")).await.unwrap();
    assert_eq!(tx.session(&tid("0A0B")).await.unwrap(), None);
    tx.commit().await.unwrap();

    // Rolled back: a new session, a deletion, a change.
    {
        let mut tx = store.begin().await.unwrap();
        tx.put_session(&session("0F", SessionState::Initiated, None))
            .await
            .unwrap();
        tx.delete_session(&tid("0C0D")).await.unwrap();
        assert_eq!(tx.session(&tid("0C0D")).await.unwrap(), None);
    }
    {
        let mut tx = store.begin().await.unwrap();
        let mut s = tx.session(&tid("0C0D")).await.unwrap().unwrap();
        s.state = SessionState::Initiated;
        tx.put_session(&s).await.unwrap();
    }
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.session(&tid("0F")).await.unwrap(), None);
    assert_eq!(
        tx.session(&tid("0C0D")).await.unwrap().as_ref(),
        Some(&bound)
    );
    tx.commit().await.unwrap();
}

/// Expired sessions are purged, the unbound ones as soon as they expired, the bound ones
/// `before` a later time, at most `limit` per call; unexpired ones never. A store may look
/// at part of its sessions per call: the purge is called until it has found them all.
pub async fn expired_sessions_are_purged<S: SmdpStore>(store: S) {
    // (transactionId, bound, expires_at)
    let all = [
        ("01", false, 100),
        ("02", false, 300),
        ("03", true, 100),
        ("04", true, 300),
        ("05", false, 100),
        ("06", true, 100),
    ];
    let mut tx = store.begin().await.unwrap();
    for (t, bound, expires_at) in all {
        let mut s = if bound {
            session(t, SessionState::BppDelivered, Some(A))
        } else {
            session(t, SessionState::Initiated, None)
        };
        s.expires_at = expires_at;
        tx.put_session(&s).await.unwrap();
    }
    tx.commit().await.unwrap();

    async fn purge<S: SmdpStore>(store: &S, before: i64, unbound_before: i64, want: usize) {
        let mut deleted = 0;
        for _ in 0..20 {
            let mut tx = store.begin().await.unwrap();
            let n = tx
                .delete_expired_sessions(before, unbound_before, 2)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert!(n <= 2, "{n} deleted with a limit of 2");
            deleted += n;
        }
        assert_eq!(deleted, want);
    }
    async fn left<S: SmdpStore>(store: &S) -> Vec<&'static str> {
        let mut tx = store.begin().await.unwrap();
        let mut out = Vec::new();
        for t in ["01", "02", "03", "04", "05", "06"] {
            if tx.session(&tid(t)).await.unwrap().is_some() {
                out.push(t);
            }
        }
        tx.commit().await.unwrap();
        out
    }
    // Nothing expired before 100.
    purge(&store, 100, 100, 0).await;
    // The unbound ones expired before 200; the bound ones kept (for a late notification).
    purge(&store, 0, 200, 2).await;
    assert_eq!(left(&store).await, vec!["02", "03", "04", "06"]);
    purge(&store, 200, 200, 2).await;
    assert_eq!(left(&store).await, vec!["02", "04"]);
    purge(&store, 301, 301, 2).await;
    assert!(left(&store).await.is_empty());
}

/// SGP.22 §3.1.3 retry and §5.6.4 notification idempotency across restarts: a profile's BPP
/// binding (sealed ECDH secret, otPKs, hostId) and its last processed notification survive
/// the store being opened anew (the first restart of a server is a crash, after a durable
/// commit; the later ones, after deferred commits, are clean).
pub async fn binding_and_last_notification_survive_restarts<B: Backend>(b: B) {
    let pki = lab(Curve::P256, 1);
    let restarts = std::sync::atomic::AtomicUsize::new(0);
    let open = || async {
        let n = restarts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        b.restart(n == 0).await;
        smdp_on(b.open().await, &pki)
    };
    let smdp = smdp_on(b.open().await, &pki);
    let op = A;
    let mid = released_order(&smdp, op).await;

    // Attempt 1: the BPP is delivered, never loaded; the eUICC keeps its one-time key.
    let mut e = TestEuicc::from_lab(&pki, 0);
    e.retained_otsk = Some([0x42; 32]);
    let ac = auth(&smdp, &mut e, &mid).await;
    let (bpp1, _) = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .unwrap();
    let otpk1 = e.last_otpk.clone();
    let first = e.load_bpp(&bpp1).initialise_secure_channel;
    let binding = record(&smdp, op, ICCID)
        .await
        .binding
        .expect("binding stored");
    assert_eq!(binding.euicc_otpk, otpk1);

    // Restart: the store is opened again.
    drop(smdp);
    let smdp = open().await;
    let rec = record(&smdp, op, ICCID).await;
    assert_eq!(rec.state, ProfileState::Downloaded);
    let kept = rec.binding.expect("binding after reopening");
    assert_eq!(kept, binding, "sealed ShS, otPKs and hostId kept as stored");

    // Attempt 2 after the restart: bppEuiccOtpk offered, reused; same otPK.DP and hostId.
    let ac = auth(&smdp, &mut e, &mid).await;
    let offered = ac
        .smdp_signed2
        .as_ref()
        .unwrap()
        .value()
        .bpp_euicc_otpk
        .clone();
    assert_eq!(offered.as_deref(), Some(&otpk1[..]));
    let (bpp2, _) = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .unwrap();
    assert_eq!(e.last_otpk, otpk1);
    let second = e.load_bpp(&bpp2);
    assert_eq!(second.initialise_secure_channel.smdp_otpk, first.smdp_otpk);
    assert_eq!(second.initialise_secure_channel.host_id, first.host_id);
    assert_eq!(
        second.content.profile.as_slice(),
        synthetic_package().as_slice()
    );

    // Installed: the PIR's (EID, seqNumber) is the last notification; the binding is gone.
    let pir_seq = e.next_seq;
    smdp.handle_notification(&e.pir(&iccid_to_bcd(ICCID), true), NOW)
        .await
        .unwrap();
    drop(smdp);
    let smdp = open().await;
    let rec = record(&smdp, op, ICCID).await;
    assert_eq!(rec.state, ProfileState::Installed);
    assert_eq!(rec.binding, None);
    assert_eq!(
        rec.last_notification,
        Some((e.eid.as_str().to_owned(), pir_seq))
    );

    // After another restart, a delete notification with an already-seen seqNumber changes
    // nothing (the idempotency check reads the persisted last notification); a new one
    // returns the profile to the inventory (reuse_on_delete).
    drop(smdp);
    let smdp = open().await;
    e.next_seq = pir_seq;
    smdp.handle_notification(&e.delete_notification(&iccid_to_bcd(ICCID)), NOW)
        .await
        .unwrap();
    assert_eq!(
        record(&smdp, op, ICCID).await.state,
        ProfileState::Installed
    );
    let delete_seq = e.next_seq;
    smdp.handle_notification(&e.delete_notification(&iccid_to_bcd(ICCID)), NOW)
        .await
        .unwrap();
    drop(smdp);
    let smdp = open().await;
    let rec = record(&smdp, op, ICCID).await;
    assert_eq!((rec.state, rec.eid), (ProfileState::Available, None));
    assert_eq!(
        rec.last_notification,
        Some((e.eid.as_str().to_owned(), delete_seq))
    );
    assert_eq!(restarts.into_inner(), 4);
}

/// Every session is in the database, the Initiated ones included: every call of one
/// download lands on a different SM-DP+ instance, as behind a load balancer without sticky
/// routing, and the download completes; a session abandoned after InitiateAuthentication
/// is purged by another instance as soon as it expired, not before.
pub async fn a_download_goes_on_whichever_instance_gets_the_call<B: Backend>(b: B) {
    let pki = lab(Curve::P256, 2);
    let one = smdp_on(b.open().await, &pki);
    let two = smdp_on(b.open().await, &pki);
    let mid = released_order(&one, A).await;
    let mut e = TestEuicc::from_lab(&pki, 0);
    let (ia, _) = one
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .unwrap();
    let (ac, _) = two
        .authenticate_client(&e.authenticate_server(&ia, Some(&mid)), NOW)
        .await
        .unwrap();
    let (bpp, _) = one
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .unwrap();
    let loaded = e.load_bpp(&bpp);
    assert_eq!(
        loaded.content.profile.as_slice(),
        synthetic_package().as_slice()
    );
    two.handle_notification(&e.pir(&iccid_to_bcd(ICCID), true), NOW)
        .await
        .unwrap();
    assert_eq!(record(&one, A, ICCID).await.state, ProfileState::Installed);

    let e2 = TestEuicc::from_lab(&pki, 1);
    one.initiate_authentication(&e2.initiate(ADDR), NOW)
        .await
        .unwrap();
    // (A store may look at part of its sessions per purge: two purges cover them all.)
    let expires = NOW + one.config().session_ttl_secs;
    for _ in 0..2 {
        assert_eq!(two.purge_expired_sessions(expires).await.unwrap(), 0);
    }
    let mut purged = 0;
    for _ in 0..2 {
        purged += two.purge_expired_sessions(expires + 1).await.unwrap();
    }
    assert_eq!(purged, 1);
}

/// Sessions survive a restart, the Initiated ones included.
pub async fn every_session_survives_a_restart<B: Backend>(b: B) {
    let store = b.open().await;
    let mut tx = store.begin().await.unwrap();
    tx.put_session(&session("0A", SessionState::Initiated, None))
        .await
        .unwrap();
    tx.put_session(&session("0B", SessionState::Authenticated, Some(A)))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    drop(store);
    b.restart(false).await;
    let store = b.open().await;
    let mut tx = store.begin().await.unwrap();
    assert!(tx.session(&tid("0A")).await.unwrap().is_some());
    assert!(tx.session(&tid("0B")).await.unwrap().is_some());
    tx.commit().await.unwrap();
}

/// With a [`simforge_store::SessionCache`]: an Initiated session lives in the memory of the
/// instance that started it — another instance does not know it, a restart forgets it (the
/// LPA starts again) — and from AuthenticateClient on, in the database.
pub async fn initiated_sessions_live_in_the_instance_that_started_them<B: Backend>(b: B) {
    let pki = lab(Curve::P256, 2);
    let one = smdp_on(b.open().await, &pki);
    let two = smdp_on(b.open().await, &pki);
    let mid = released_order(&one, A).await;
    let mut e = TestEuicc::from_lab(&pki, 0);
    let (ia, _) = one
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .unwrap();
    let request = e.authenticate_server(&ia, Some(&mid));
    assert!(two.authenticate_client(&request, NOW).await.is_err());
    let (ac, _) = one.authenticate_client(&request, NOW).await.unwrap();
    // Bound: in the database, any instance goes on.
    two.get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .unwrap();

    // A restart forgets an Initiated session, not a bound one.
    let store = b.open().await;
    let mut tx = store.begin().await.unwrap();
    tx.put_session(&session("0A", SessionState::Initiated, None))
        .await
        .unwrap();
    tx.put_session(&session("0B", SessionState::Authenticated, Some(A)))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    drop(store);
    b.restart(false).await;
    let store = b.open().await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.session(&tid("0A")).await.unwrap(), None);
    assert!(tx.session(&tid("0B")).await.unwrap().is_some());
    tx.commit().await.unwrap();
}

/// New keys taken into use without a restart (`Smdp::rotate_keys`): a session that started
/// with the old keys (here: another CI altogether) finishes with them — AuthenticateClient
/// signs with the old CI's DPpb, the eUICC verifies the BPP —, a session started afterwards
/// uses the new ones: an eUICC of the old CI only is refused, one of the new CI is served the
/// new DPauth certificate.
pub async fn keys_rotate_without_a_restart<S: SmdpStore>(store: S) {
    use simforge_smdp::SmdpKeys;

    use super::{ADDR, NOW, TestEuicc, lab, released_order, smdp_on};

    let (old, new) = (lab(Curve::P256, 2), lab(Curve::P256, 1));
    let smdp = smdp_on(store, &old);
    let mid = released_order(&smdp, A).await;
    let mut e = TestEuicc::from_lab(&old, 0);
    let (ia, _) = smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .unwrap();
    smdp.rotate_keys(SmdpKeys::from_pkis(&[&new]).unwrap(), NOW + 1);
    let (ac, _) = smdp
        .authenticate_client(&e.authenticate_server(&ia, Some(&mid)), NOW + 1)
        .await
        .expect("a session of the old keys goes on after the rotation");
    let (bpp, _) = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW + 1)
        .await
        .expect("and gets its package");
    e.load_bpp(&bpp);

    let other = TestEuicc::from_lab(&old, 1);
    let refused = smdp
        .initiate_authentication(&other.initiate(ADDR), NOW + 2)
        .await
        .expect_err("the old CI is no longer offered");
    assert!(refused.status_code().is_some(), "{refused:?}");
    let fresh = TestEuicc::from_lab(&new, 0);
    let (ia, _) = smdp
        .initiate_authentication(&fresh.initiate(ADDR), NOW + 2)
        .await
        .expect("the new CI is");
    assert_eq!(
        ia.server_certificate.expect("DPauth").0.as_slice(),
        new.smdp.auth.cert.der(),
        "a new session is served the new DPauth"
    );
}
