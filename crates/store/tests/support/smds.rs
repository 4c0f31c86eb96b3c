//! The SM-DS operations queue ([`SmdsQueue`], `SmdpTx::push_smds_ops`) through the SM-DP+:
//! ConfirmOrder with smdsAddress queues a register (and the delete due at the order's expiry),
//! the installation result and CancelOrder queue a delete (superseding the scheduled one),
//! the operations of one event go out in order, and the queue is per operator.

use simforge_asn1::json::{
    CancelOrderRequest, ConfirmOrderRequest, DownloadOrderRequest, FinalProfileStatus,
};
use simforge_asn1::{Eid, MatchingId};
use simforge_pki::Curve;
use simforge_smdp::profile::iccid_to_bcd;
use simforge_smdp::{Error, Smdp, SmdpStore, SmdsOpKind, SmdsOpState, SmdsQueue};

use super::backends::{A, B};
use super::{ICCID, NOW, TestEuicc, add, auth, header, lab, smdp_with};

const DS: &str = "smds.simforge.test:8444";
const TTL: i64 = 3600;

async fn order<S: SmdpStore>(
    smdp: &Smdp<S>,
    op: i64,
    iccid: &str,
    eid: Eid,
    matching_id: Option<MatchingId>,
) -> Result<String, Error> {
    order_with(smdp, op, iccid, Some(eid), matching_id, Some(DS)).await
}

async fn order_with<S: SmdpStore>(
    smdp: &Smdp<S>,
    op: i64,
    iccid: &str,
    eid: Option<Eid>,
    matching_id: Option<MatchingId>,
    smds: Option<&str>,
) -> Result<String, Error> {
    add(smdp, op, iccid).await;
    smdp.download_order(
        op,
        &DownloadOrderRequest {
            header: header(),
            eid: None,
            iccid: Some(iccid.into()),
            profile_type: None,
        },
        NOW,
    )
    .await?;
    let (c, _) = smdp
        .confirm_order(
            op,
            &ConfirmOrderRequest {
                header: header(),
                iccid: iccid.into(),
                eid,
                matching_id,
                confirmation_code: None,
                smds_address: smds.map(str::to_owned),
                release_flag: true,
            },
            NOW,
        )
        .await?;
    Ok(c.matching_id.expect("matchingId").as_str().to_owned())
}

/// (kind, state, due, event id) of `op`'s queue, oldest first.
async fn queue<S: SmdsQueue>(s: &S, op: i64) -> Vec<(SmdsOpKind, SmdsOpState, i64, String)> {
    let mut rows = s.smds_ops_of(op, 100).await.unwrap();
    rows.reverse();
    rows.into_iter()
        .map(|r| {
            (
                r.entry.op.kind,
                r.state,
                r.entry.op.due,
                r.entry.op.event_id.as_str().to_owned(),
            )
        })
        .collect()
}

fn cancel(iccid: &str) -> CancelOrderRequest {
    CancelOrderRequest {
        header: header(),
        iccid: iccid.into(),
        eid: None,
        matching_id: None,
        final_profile_status_indicator: FinalProfileStatus::Available,
    }
}

pub async fn orders_register_and_delete_their_events_in_order<S>(store: S)
where
    S: SmdpStore + SmdsQueue + Clone,
{
    use SmdsOpKind::{Delete, Register};
    use SmdsOpState::{Done, Pending, Superseded};
    let pki = lab(Curve::P256, 1);
    let smdp = smdp_with(store.clone(), &pki, |c| c.order_ttl_secs = Some(TTL));
    let mut e = TestEuicc::from_lab(&pki, 0);
    let ms = |s: i64| s * 1000;

    // ConfirmOrder with smdsAddress: a register now, a delete when the order expires.
    let mid = order(&smdp, A, ICCID, e.eid, None).await.unwrap();
    assert_eq!(
        queue(&store, A).await,
        [
            (Register, Pending, NOW, mid.clone()),
            (Delete, Pending, NOW + TTL, mid.clone())
        ]
    );
    let c = store.claim_smds_ops(ms(NOW), 60_000, 10).await.unwrap();
    assert_eq!(c.len(), 1, "{c:?}");
    let reg = &c[0];
    assert_eq!(
        (
            reg.op.kind,
            reg.op.smds_address.as_str(),
            reg.op.eid,
            reg.op.operator_id
        ),
        (Register, DS, e.eid, A)
    );
    assert_eq!(reg.op.iccid.as_ref().map(|i| i.as_str()), Some(ICCID));
    // Leased: not claimed again.
    assert!(
        store
            .claim_smds_ops(ms(NOW), 60_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    store.smds_op_done(reg.id, ms(NOW)).await.unwrap();
    assert!(store.smds_op_done(reg.id, ms(NOW)).await.is_err());

    // The download: the BPP's delivery keeps the event, the installation result ends it
    // (and supersedes the delete scheduled at the expiry).
    let ac = auth(&smdp, &mut e, &mid).await;
    let (bpp, _) = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .unwrap();
    assert_eq!(queue(&store, A).await.len(), 2);
    e.load_bpp(&bpp);
    smdp.handle_notification(&e.pir(&iccid_to_bcd(ICCID), true), NOW)
        .await
        .unwrap();
    assert_eq!(
        queue(&store, A).await,
        [
            (Register, Done, NOW, mid.clone()),
            (Delete, Superseded, NOW + TTL, mid.clone()),
            (Delete, Pending, NOW, mid.clone())
        ]
    );
    let c = store.claim_smds_ops(ms(NOW), 60_000, 10).await.unwrap();
    assert_eq!(c.iter().map(|c| c.op.kind).collect::<Vec<_>>(), [Delete]);
    store.smds_op_done(c[0].id, ms(NOW)).await.unwrap();

    // CancelOrder while the register still waits for a retry: the delete waits behind it.
    let iccid2 = "8949440000000000002";
    let mid2 = order(&smdp, A, iccid2, e.eid, None).await.unwrap();
    let c = store.claim_smds_ops(ms(NOW), 60_000, 10).await.unwrap();
    assert_eq!(c.len(), 1);
    store
        .smds_op_failed(c[0].id, "SM-DS down", Some(ms(NOW + 10)), ms(NOW))
        .await
        .unwrap();
    smdp.cancel_order(A, &cancel(iccid2), NOW).await.unwrap();
    let q = queue(&store, A).await;
    assert_eq!(
        q[q.len() - 3..],
        [
            (Register, Pending, NOW, mid2.clone()),
            (Delete, Superseded, NOW + TTL, mid2.clone()),
            (Delete, Pending, NOW, mid2.clone())
        ]
    );
    assert!(
        store
            .claim_smds_ops(ms(NOW + 5), 60_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let c = store
        .claim_smds_ops(ms(NOW + 10), 60_000, 10)
        .await
        .unwrap();
    assert_eq!((c.len(), c[0].op.kind, c[0].attempts), (1, Register, 1));
    store.smds_op_done(c[0].id, ms(NOW + 10)).await.unwrap();
    let c = store
        .claim_smds_ops(ms(NOW + 10), 60_000, 10)
        .await
        .unwrap();
    assert_eq!(c.iter().map(|c| c.op.kind).collect::<Vec<_>>(), [Delete]);
    // Given up: stays in the queue with its error.
    store
        .smds_op_failed(c[0].id, "refused", None, ms(NOW + 10))
        .await
        .unwrap();
    let rows = store.smds_ops_of(A, 1).await.unwrap();
    assert_eq!(
        (rows[0].state, rows[0].last_error.as_deref()),
        (SmdsOpState::Failed, Some("refused"))
    );

    // Tenant isolation: operator B can neither cancel A's order (its ICCID is unknown to B)
    // nor take A's EventID for an event of its own; nothing is queued for either.
    let iccid3 = "8949440000000000003";
    let mid3 = order(&smdp, A, iccid3, e.eid, None).await.unwrap();
    let before_a = queue(&store, A).await;
    assert!(matches!(
        smdp.cancel_order(B, &cancel(iccid3), NOW).await,
        Err(Error::IccidUnknown)
    ));
    let taken = MatchingId::parse(&mid3).unwrap();
    assert!(matches!(
        order(&smdp, B, "8949440000000000011", e.eid, Some(taken)).await,
        Err(Error::MatchingIdRefused)
    ));
    assert_eq!(queue(&store, A).await, before_a);
    assert!(queue(&store, B).await.is_empty());

    // Retention: finished operations go, oldest first; pending ones stay.
    let pending =
        |q: &[(SmdsOpKind, SmdsOpState, i64, String)]| q.iter().filter(|o| o.1 == Pending).count();
    let q = queue(&store, A).await;
    let (all, live) = (q.len(), pending(&q));
    assert_eq!(store.purge_smds_ops(NOW, 100).await.unwrap(), 0);
    assert_eq!(store.purge_smds_ops(NOW + 1, 2).await.unwrap(), 2);
    assert_eq!(
        store.purge_smds_ops(NOW + 1, 100).await.unwrap() as usize,
        all - live - 2
    );
    let q = queue(&store, A).await;
    assert_eq!((q.len(), pending(&q)), (live, live));
}

/// Several instances claiming at once (the SM-DS workers of several nodes) never claim the
/// same operation; every operation is claimed by one of them.
pub async fn two_instances_never_claim_the_same_smds_op<K: super::backends::Backend>(k: K)
where
    K::Store: SmdsQueue,
{
    use simforge_smdp::{SmdpTx, SmdsOp};
    let store = k.open().await;
    let eid: Eid = "89049032123451234512345678901235".parse().unwrap();
    let mut tx = store.begin().await.unwrap();
    let ops: Vec<SmdsOp> = (0..40)
        .map(|i| SmdsOp {
            operator_id: if i % 2 == 0 { A } else { B },
            iccid: Some(ICCID.parse().unwrap()),
            kind: SmdsOpKind::Register,
            smds_address: DS.into(),
            eid,
            event_id: MatchingId::parse(&format!("EV-{i}")).unwrap(),
            due: NOW,
            at: NOW,
        })
        .collect();
    tx.push_smds_ops(&ops).await.unwrap();
    tx.commit().await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let s = k.open().await;
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..20 {
                let c = s.claim_smds_ops(NOW * 1000, 60_000, 3).await.unwrap();
                got.extend(c.into_iter().map(|e| e.id));
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n, "an operation claimed twice");
    assert_eq!(n, 40, "{all:?}");
}

/// An operator's default SM-DS: ConfirmOrder of an order with an EID that names no SM-DS
/// registers there; an order without an EID registers nowhere (and is not refused); another
/// operator's orders do not use it.
pub async fn the_default_smds_address_is_the_operators<S>(store: S)
where
    S: SmdpStore + SmdsQueue + simforge_store::OperatorAdmin + Clone,
{
    let pki = lab(Curve::P256, 1);
    let smdp = super::smdp_on(store.clone(), &pki);
    let e = TestEuicc::from_lab(&pki, 0);
    let other = "ds2.simforge.test";
    store
        .set_default_smds_address(A, Some(other))
        .await
        .unwrap();
    assert_eq!(
        store.default_smds_address(A).await.unwrap().as_deref(),
        Some(other)
    );
    assert_eq!(store.default_smds_address(B).await.unwrap(), None);
    let mid = order_with(&smdp, A, ICCID, Some(e.eid), None, None)
        .await
        .unwrap();
    let rows = store.smds_ops_of(A, 10).await.unwrap();
    let regs: Vec<_> = rows
        .iter()
        .filter(|r| r.entry.op.kind == SmdsOpKind::Register)
        .map(|r| {
            (
                r.entry.op.smds_address.as_str(),
                r.entry.op.event_id.as_str(),
            )
        })
        .collect();
    assert_eq!(regs, [(other, mid.as_str())]);
    // The order's own smdsAddress wins.
    order_with(&smdp, A, "8949440000000000002", Some(e.eid), None, Some(DS))
        .await
        .unwrap();
    let rows = store.smds_ops_of(A, 10).await.unwrap();
    assert!(rows.iter().any(|r| r.entry.op.smds_address == DS));
    // No EID: no event, no refusal.
    let n = store.smds_ops_of(A, 100).await.unwrap().len();
    order_with(&smdp, A, "8949440000000000003", None, None, None)
        .await
        .unwrap();
    assert_eq!(store.smds_ops_of(A, 100).await.unwrap().len(), n);
    // B has no default.
    order_with(&smdp, B, "8949440000000000011", Some(e.eid), None, None)
        .await
        .unwrap();
    assert!(store.smds_ops_of(B, 10).await.unwrap().is_empty());
    store.set_default_smds_address(A, None).await.unwrap();
    assert_eq!(store.default_smds_address(A).await.unwrap(), None);
}

/// SGP.22 §5.6.5: a CancelSession that keeps the order (endUserRejection, by default) keeps
/// its event; one that ends it (pprNotAllowed: Error, by default) deletes the event.
pub async fn a_cancel_session_that_ends_the_order_deletes_its_event<S>(store: S)
where
    S: SmdpStore + SmdsQueue + Clone,
{
    use simforge_asn1::rsp::CancelSessionReason;
    use simforge_smdp::ProfileState;
    let pki = lab(Curve::P256, 1);
    let smdp = super::smdp_on(store.clone(), &pki);
    let mut e = TestEuicc::from_lab(&pki, 0);
    let mid = order(&smdp, A, ICCID, e.eid, None).await.unwrap();
    let kinds = |rows: Vec<simforge_smdp::SmdsOpRow>| -> Vec<(SmdsOpKind, SmdsOpState)> {
        rows.into_iter()
            .rev()
            .map(|r| (r.entry.op.kind, r.state))
            .collect()
    };
    let before = kinds(store.smds_ops_of(A, 100).await.unwrap());
    auth(&smdp, &mut e, &mid).await;
    smdp.cancel_session(
        &e.cancel(CancelSessionReason::END_USER_REJECTION, &[2, 999, 10]),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        super::record(&smdp, A, ICCID).await.state,
        ProfileState::Released
    );
    assert_eq!(kinds(store.smds_ops_of(A, 100).await.unwrap()), before);
    let mut e = TestEuicc::from_lab(&pki, 0);
    auth(&smdp, &mut e, &mid).await;
    smdp.cancel_session(
        &e.cancel(CancelSessionReason::PPR_NOT_ALLOWED, &[2, 999, 10]),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        super::record(&smdp, A, ICCID).await.state,
        ProfileState::Error
    );
    assert_eq!(
        kinds(store.smds_ops_of(A, 100).await.unwrap()),
        [
            (SmdsOpKind::Register, SmdsOpState::Pending),
            (SmdsOpKind::Delete, SmdsOpState::Superseded),
            (SmdsOpKind::Delete, SmdsOpState::Pending),
        ]
    );
}

/// A given-up operation goes back in the queue (due now, its attempts kept) for its own
/// operator only; not once a later operation of its event was done.
pub async fn a_given_up_operation_is_requeued_unless_overtaken<S>(store: S)
where
    S: SmdpStore + SmdsQueue + Clone,
{
    use SmdsOpKind::{Delete, Register};
    use SmdsOpState::{Done, Failed, Pending, Superseded};
    let pki = lab(Curve::P256, 1);
    let smdp = smdp_with(store.clone(), &pki, |c| c.order_ttl_secs = Some(TTL));
    let e = TestEuicc::from_lab(&pki, 0);
    let ms = |s: i64| s * 1000;
    let mid = order(&smdp, A, ICCID, e.eid, None).await.unwrap();
    let c = store.claim_smds_ops(ms(NOW), 60_000, 10).await.unwrap();
    let reg = c[0].id;
    store
        .smds_op_failed(reg, "refused by the SM-DS: 8.9.5/3.3", None, ms(NOW))
        .await
        .unwrap();
    assert_eq!(queue(&store, A).await[0].1, Failed);
    // Not another operator's, not an unknown one, not a pending one.
    assert!(!store.requeue_smds_op(B, reg, ms(NOW + 10)).await.unwrap());
    assert!(
        !store
            .requeue_smds_op(A, reg + 100, ms(NOW + 10))
            .await
            .unwrap()
    );
    assert!(
        !store
            .requeue_smds_op(A, reg + 1, ms(NOW + 10))
            .await
            .unwrap()
    );
    assert!(store.requeue_smds_op(A, reg, ms(NOW + 10)).await.unwrap());
    assert!(
        !store.requeue_smds_op(A, reg, ms(NOW + 10)).await.unwrap(),
        "pending now"
    );
    assert_eq!(
        queue(&store, A).await,
        [
            (Register, Pending, NOW + 10, mid.clone()),
            (Delete, Pending, NOW + TTL, mid.clone())
        ]
    );
    // Not before it is due; then sent again, its attempts kept.
    assert!(
        store
            .claim_smds_ops(ms(NOW + 9), 60_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let c = store
        .claim_smds_ops(ms(NOW + 10), 60_000, 10)
        .await
        .unwrap();
    assert_eq!((c.len(), c[0].id, c[0].attempts), (1, reg, 1));
    store
        .smds_op_failed(reg, "refused again", None, ms(NOW + 10))
        .await
        .unwrap();
    // CancelOrder: the delete queued (superseding the scheduled one) and done; the register
    // may no longer be sent again.
    smdp.cancel_order(A, &cancel(ICCID), NOW + 20)
        .await
        .unwrap();
    let c = store
        .claim_smds_ops(ms(NOW + 20), 60_000, 10)
        .await
        .unwrap();
    assert_eq!(c.len(), 1);
    store.smds_op_done(c[0].id, ms(NOW + 20)).await.unwrap();
    assert_eq!(
        queue(&store, A)
            .await
            .into_iter()
            .map(|q| (q.0, q.1))
            .collect::<Vec<_>>(),
        [(Register, Failed), (Delete, Superseded), (Delete, Done)]
    );
    assert!(!store.requeue_smds_op(A, reg, ms(NOW + 30)).await.unwrap());
}
