//! Whole lifecycles on the [`Pair`] (SM-DP+ on a MemoryStore, real eUICCs, real LPA, one
//! clock): ES2+ DownloadOrder/ConfirmOrder → download → enable → notifications → disable →
//! delete → the profile back in the pool (or not) per the operator's reuse-on-delete
//! choice; and a download through the server's HTTP edge in memory.

use simforge_euicc::EuiccState;
use simforge_lpa::{Es10, Lpa};
use simforge_pki::Curve;
use simforge_smdp::{Event, ProfileState, UnsealResult};
use simforge_testkit::card::{InProc, euicc};
use simforge_testkit::es9::RouterEs9;
use simforge_testkit::lab::{ADDRESS, lab};
use simforge_testkit::pair::OPERATOR;
use simforge_testkit::profiles::{built, iccid};
use simforge_testkit::service::service;
use simforge_testkit::{Pair, TestClock};

fn state(pair: &Pair, iccid: &str) -> ProfileState {
    pair.profile(iccid).expect("profile").state
}

#[test]
fn download_enable_notify_disable_delete_and_reuse() {
    let mut pair = Pair::with(lab(Curve::P256, 2), |_| {});
    let id = iccid(1);
    pair.add_profiles(&[&id], true);
    assert_eq!(state(&pair, &id), ProfileState::Available);

    // ES2+: ordered for any eUICC, with a confirmation code, released.
    let order = pair.order(Some(&id), None, Some("1234")).expect("order");
    assert_eq!(state(&pair, &id), ProfileState::Released);
    let ac = order.activation_code();
    assert!(matches!(
        pair.drive_download(0, &ac, None),
        Err(simforge_lpa::Error::ConfirmationCodeRequired)
    ));

    let out = pair.drive_download(0, &ac, Some("1234")).expect("download");
    assert_eq!(out.iccid, id);
    assert!(
        out.notification_sent,
        "the install notification reached the SM-DP+"
    );
    let rec = pair.profile(&id).expect("profile");
    assert_eq!(rec.state, ProfileState::Installed);
    assert_eq!(rec.eid, Some(pair.eid(0)));
    assert_eq!(
        pair.es9.calls,
        [
            "initiateAuthentication",
            "authenticateClient",
            "getBoundProfilePackage",
            "handleNotification"
        ]
    );

    {
        let mut lpa = pair.lpa(0).expect("lpa");
        let list = lpa.list_profiles().expect("list");
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].state, "disabled");
        assert_eq!(list[0].service_provider_name.as_deref(), Some("Simforge"));

        lpa.enable(&id).expect("enable");
        assert_eq!(lpa.list_profiles().expect("list")[0].state, "enabled");
        let sent = lpa.process_notifications().expect("notifications");
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert!(sent.iter().all(|d| d.delivered), "{sent:?}");

        lpa.disable(&id).expect("disable");
        let sent = lpa.process_notifications().expect("notifications");
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert!(sent.iter().all(|d| d.delivered), "{sent:?}");
    }
    // Enable and disable notifications change nothing at the SM-DP+.
    assert_eq!(state(&pair, &id), ProfileState::Installed);
    {
        let mut lpa = pair.lpa(0).expect("lpa");
        lpa.delete(&id).expect("delete");
        assert!(lpa.list_profiles().expect("list").is_empty());
        let sent = lpa.process_notifications().expect("notifications");
        assert!(
            !sent.is_empty() && sent.iter().all(|d| d.delivered),
            "{sent:?}"
        );
        assert!(lpa.list_notifications().expect("list").is_empty());
    }
    // Reuse on delete: back in the pool, its order gone.
    let rec = pair.profile(&id).expect("profile");
    assert_eq!(rec.state, ProfileState::Available);
    assert_eq!(rec.matching_id, None);
    assert!(
        pair.drive_download(0, &ac, Some("1234")).is_err(),
        "the old order is gone"
    );

    // Ordered again, now bound to the second eUICC: the first cannot take it.
    let order = pair
        .order(Some(&id), Some(pair.eid(1)), None)
        .expect("reorder");
    assert!(
        pair.drive_download(0, &order.activation_code(), None)
            .is_err()
    );
    let out = pair
        .drive_download(1, &order.activation_code(), None)
        .expect("download on the second eUICC");
    assert_eq!(out.iccid, id);
    let rec = pair.profile(&id).expect("profile");
    assert_eq!(rec.state, ProfileState::Installed);
    assert_eq!(rec.eid, Some(pair.eid(1)));

    // The operator's outbox saw both installs and the delete (notification point 5).
    let events = pair.block_on(pair.smdp.store().snapshot()).events;
    let installs = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::ProfileState {
                    to: ProfileState::Installed,
                    ..
                }
            )
        })
        .count();
    assert_eq!(installs, 2);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::DownloadProgress { point: 5, .. }))
    );

    // Each delivered BPP unsealed the package once, recorded for the audit log (issue 11
    // §4): for the operator's profile, with the eUICC it was bound to.
    let unseals = pair.block_on(pair.smdp.store().snapshot()).unseals;
    let seen: Vec<_> = unseals
        .iter()
        .map(|u| (u.operator_id, u.iccid.to_string(), u.eid, &u.result))
        .collect();
    assert_eq!(
        seen,
        [
            (
                OPERATOR,
                id.clone(),
                Some(pair.eid(0)),
                &UnsealResult::Delivered
            ),
            (
                OPERATOR,
                id.clone(),
                Some(pair.eid(1)),
                &UnsealResult::Delivered
            ),
        ]
    );
    assert_ne!(unseals[0].transaction_id, unseals[1].transaction_id);
}

#[test]
fn deleted_profile_is_not_reused_when_the_operator_says_so() {
    let mut pair = Pair::new();
    let id = iccid(2);
    pair.add_profiles(&[&id], false);
    let order = pair.order(None, None, None).expect("order from the pool");
    assert_eq!(order.iccid, id);
    pair.drive_download(0, &order.activation_code(), None)
        .expect("download");
    {
        let mut lpa = pair.lpa(0).expect("lpa");
        lpa.delete(&id).expect("delete");
        lpa.process_notifications().expect("notifications");
    }
    assert_eq!(state(&pair, &id), ProfileState::Unavailable);
    assert!(pair.order(None, None, None).is_err(), "the pool is empty");
    assert!(pair.order(Some(&id), None, None).is_err());
}

/// The LPA and the real eUICC against the server's axum router, in memory (no socket): the
/// HTTP edge's header checks and JSON binding on the way.
#[test]
fn download_through_the_router_in_memory() {
    let pki = lab(Curve::P256, 1);
    let smdp = service(&[&pki]);
    let id = iccid(3);
    let now = TestClock::at(wall_clock());
    let rt = simforge_testkit::es9::runtime();
    rt.block_on(smdp.add_profile(
        OPERATOR,
        simforge_smdp::NewProfile {
            iccid: id.parse().expect("iccid"),
            profile_type: "simforge".into(),
            metadata: simforge_smdp::ProfileMetadata {
                service_provider_name: "Simforge".into(),
                profile_name: "Router profile".into(),
                profile_class: 2,
                notification_address: Some(ADDRESS.into()),
            },
            package: built(&id),
            reuse_on_delete: true,
            radio_access: Vec::new(),
        },
        now.now(),
    ))
    .expect("add");
    let header = simforge_asn1::json::RequestHeader {
        function_requester_identifier: "op1".into(),
        function_call_identifier: "1".into(),
    };
    rt.block_on(smdp.download_order(
        OPERATOR,
        &simforge_asn1::json::DownloadOrderRequest {
            header: header.clone(),
            eid: None,
            iccid: Some(id.clone()),
            profile_type: None,
        },
        now.now(),
    ))
    .expect("order");
    let (confirmed, _) = rt
        .block_on(smdp.confirm_order(
            OPERATOR,
            &simforge_asn1::json::ConfirmOrderRequest {
                header,
                iccid: id.clone(),
                eid: None,
                matching_id: None,
                confirmation_code: None,
                smds_address: None,
                release_flag: true,
            },
            now.now(),
        ))
        .expect("confirm");
    let mid = confirmed.matching_id.expect("matchingId");
    drop(rt);

    let mut e = euicc(&pki, EuiccState::default());
    let mut es9 = RouterEs9::for_smdp(smdp);
    es9.peer = Some("192.0.2.1".parse().expect("ip"));
    let mut lpa = Lpa::new(Es10::open(InProc::new(&mut e)).expect("open"), &mut es9);
    let out = lpa
        .download(&format!("LPA:1${ADDRESS}${}", mid.as_str()), None)
        .expect("download through the router");
    assert_eq!(out.iccid, id);
    assert!(out.notification_sent);
    assert_eq!(
        es9.calls,
        [
            "initiateAuthentication",
            "authenticateClient",
            "getBoundProfilePackage",
            "handleNotification"
        ]
    );
}

fn wall_clock() -> i64 {
    // The router reads the wall clock; the orders it serves are made at that time.
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}
