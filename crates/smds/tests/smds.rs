//! The SM-DS against SGP.22's text (§3.6, §5.8, §5.9, the ES11 ASN.1 of §5.8.2 and the ES11/ES12
//! JSON members), driven by the independent test client of `simforge_testkit` (built on
//! asn1/crypto/pki only) and by the real virtual eUICC, never only by our own LPA.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use simforge_asn1::json::{
    self, DeleteEventRequest, Es11AuthenticateClientResponse, RegisterEventRequest, RequestHeader,
};
use simforge_asn1::status::ResponseHeader;
use simforge_asn1::{Eid, StatusCode, TransactionId, rsp, to_der};
use simforge_crypto::SystemRandom;
use simforge_pki::{Curve, LabPki};
use simforge_smdp::{SmdsOpKind, SmdsOpState};
use simforge_smds::{
    Error, MemoryStore, Registrant, Smds, SmdsConfig, SmdsKeys, SmdsStore, es11_asn1,
};
use simforge_testkit::lab::{NOW, lab};
use simforge_testkit::prelude::{TestEuicc, issue_euicc};
use simforge_testkit::sgp22;

/// The lab SM-DS host (the lab PKI's DStls name) and the port it answers on.
const DS_FQDN: &str = "smds.simforge.test";
const DS_ADDRESS: &str = "smds.simforge.test:8443";
const DP: &str = "smdp.simforge.test:8443";

fn smds_on(pki: &LabPki, configure: impl FnOnce(&mut SmdsConfig)) -> Smds<MemoryStore> {
    assert_eq!(pki.smds.as_ref().unwrap().fqdn, DS_FQDN);
    let mut cfg = SmdsConfig::new(DS_FQDN);
    cfg.port = 8443;
    configure(&mut cfg);
    Smds::new(
        cfg,
        SmdsKeys::from_pkis(&[pki]).unwrap(),
        MemoryStore::new(),
        Arc::new(SystemRandom::new()),
    )
}

fn dp(name: &str) -> Registrant {
    Registrant::parse(name).unwrap()
}

fn header() -> RequestHeader {
    RequestHeader {
        function_requester_identifier: "smdp1".into(),
        function_call_identifier: "call-1".into(),
    }
}

fn register(eid: &Eid, event_id: &str, address: &str) -> RegisterEventRequest {
    RegisterEventRequest {
        header: header(),
        eid: *eid,
        rsp_server_address: address.into(),
        event_id: event_id.into(),
        forwarding_indicator: None,
    }
}

fn delete(eid: &Eid, event_id: &str) -> DeleteEventRequest {
    DeleteEventRequest {
        header: header(),
        eid: *eid,
        event_id: event_id.into(),
    }
}

/// ES11 for `e`: InitiateAuthentication at `address`, AuthenticateClient with `matching_id`.
fn discover(
    ds: &Smds<MemoryStore>,
    e: &mut TestEuicc,
    matching_id: Option<&str>,
    now: i64,
) -> Result<Es11AuthenticateClientResponse, Error> {
    let ia = ds.initiate_authentication(&e.initiate(DS_ADDRESS), now)?;
    let ac = e.authenticate_server(&ia, matching_id);
    ds.authenticate_client(&ac, now)
}

fn sc(subject: &str, reason: &str) -> StatusCode {
    StatusCode::parse(subject, reason).unwrap()
}

fn code(e: &Error) -> StatusCode {
    e.status_code().expect("a protocol error")
}

fn ids(r: &Es11AuthenticateClientResponse) -> Vec<(&str, &str)> {
    r.event_entries
        .iter()
        .map(|e| (e.event_id.as_str(), e.rsp_server_address.as_str()))
        .collect()
}

// ------------------------------------------------------------------------------- ES11

#[test]
fn es11_answers_the_eids_records_in_arrival_order_and_never_another_eids() {
    for curve in [Curve::P256, Curve::BrainpoolP256r1] {
        arrival_order_on(&lab(curve, 2));
    }
}

fn arrival_order_on(pki: &LabPki) {
    let ds = smds_on(pki, |_| {});
    let mut a = TestEuicc::from_lab(pki, 0);
    let mut b = TestEuicc::from_lab(pki, 1);
    ds.register_event(&dp("dp1"), &register(&a.eid, "EV-2", DP), NOW)
        .unwrap();
    ds.register_event(&dp("dp2"), &register(&b.eid, "EV-B", "other.example"), NOW)
        .unwrap();
    ds.register_event(
        &dp("dp1"),
        &register(&a.eid, "EV-1", "smdp2.example"),
        NOW + 1,
    )
    .unwrap();

    let r = discover(&ds, &mut a, None, NOW + 2).unwrap();
    assert!(r.header.function_execution_status.is_executed());
    assert_eq!(ids(&r), [("EV-2", DP), ("EV-1", "smdp2.example")]);
    assert_eq!(r.transaction_id.as_ref(), a.tid.as_ref());
    // Retrieval does not remove a record (SMDS18): asked again, the same answer.
    assert_eq!(ids(&discover(&ds, &mut a, None, NOW + 3).unwrap()).len(), 2);

    let r = discover(&ds, &mut b, None, NOW + 2).unwrap();
    assert_eq!(ids(&r), [("EV-B", "other.example")]);
    // An empty matchingId (what an activation-code-less LPA signs) is no selection.
    assert_eq!(
        ids(&discover(&ds, &mut b, Some(""), NOW + 2).unwrap()).len(),
        1
    );
}

#[test]
fn an_eid_without_events_gets_an_empty_array() {
    let pki = lab(Curve::P256, 1);
    let ds = smds_on(&pki, |_| {});
    let mut e = TestEuicc::from_lab(&pki, 0);
    let r = discover(&ds, &mut e, None, NOW).unwrap();
    assert!(r.event_entries.is_empty());
    let text = json::to_json(&r).unwrap();
    // lpac fails unless eventEntries is an array: it is always sent.
    assert!(
        String::from_utf8_lossy(&text).contains(r#""eventEntries":[]"#),
        "{}",
        String::from_utf8_lossy(&text)
    );
    sgp22::check(
        "§6.5.2.11 response",
        sgp22::ES11_AUTHENTICATE_CLIENT.response.unwrap(),
        &text,
    );
}

#[test]
fn a_matching_id_selects_that_event_and_an_unknown_one_is_event_id_unknown() {
    let pki = lab(Curve::P256, 2);
    let ds = smds_on(&pki, |_| {});
    let mut a = TestEuicc::from_lab(&pki, 0);
    let b = TestEuicc::from_lab(&pki, 1);
    for id in ["EV-1", "EV-2"] {
        ds.register_event(&dp("dp1"), &register(&a.eid, id, DP), NOW)
            .unwrap();
    }
    ds.register_event(&dp("dp1"), &register(&b.eid, "EV-OTHER", DP), NOW)
        .unwrap();
    let r = discover(&ds, &mut a, Some("EV-2"), NOW).unwrap();
    assert_eq!(ids(&r), [("EV-2", DP)]);

    let e = discover(&ds, &mut a, Some("EV-9"), NOW).unwrap_err();
    assert_eq!(e, Error::EventUnknown);
    assert_eq!(code(&e), sc("8.9.5", "3.9"));
    // Another eUICC's EventID is unknown to this one.
    let e = discover(&ds, &mut a, Some("EV-OTHER"), NOW).unwrap_err();
    assert_eq!(e, Error::EventUnknown);
}

#[test]
fn a_wrong_euicc_signature_is_refused() {
    let pki = lab(Curve::P256, 1);
    let ds = smds_on(&pki, |_| {});
    let mut e = TestEuicc::from_lab(&pki, 0);
    ds.register_event(&dp("dp1"), &register(&e.eid, "EV-1", DP), NOW)
        .unwrap();
    e.corrupt_signature = true;
    let err = discover(&ds, &mut e, None, NOW).unwrap_err();
    assert_eq!(code(&err), StatusCode::EUICC_SIGNATURE_INVALID);
    assert_eq!(
        to_der(&es11_asn1(&Err(err))).unwrap(),
        hex::decode("BF4003810105").unwrap()
    );
}

#[test]
fn a_tampered_server_challenge_or_address_is_refused() {
    let pki = lab(Curve::P256, 1);
    let ds = smds_on(&pki, |_| {});
    let mut e = TestEuicc::from_lab(&pki, 0);
    // The eUICC signs another address than the session's (as if an SM-DP+'s session were
    // replayed here): re-signed, so only the address is wrong.
    let ia = ds
        .initiate_authentication(&e.initiate(DS_ADDRESS), NOW)
        .unwrap();
    let ac = e.authenticate_server(&ia, None);
    let ac = resign(&e, ac, |s| {
        s.server_address = DP.into();
    });
    let err = ds.authenticate_client(&ac, NOW).unwrap_err();
    assert_eq!(code(&err), StatusCode::INVALID_SMDS_ADDRESS);
    // Another serverChallenge: 8.1 / 6.1.
    let ia = ds
        .initiate_authentication(&e.initiate(DS_ADDRESS), NOW)
        .unwrap();
    let ac = e.authenticate_server(&ia, None);
    let ac = resign(&e, ac, |s| {
        s.server_challenge = [7u8; 16].into();
    });
    let err = ds.authenticate_client(&ac, NOW).unwrap_err();
    assert_eq!(code(&err), StatusCode::EUICC_SIGNATURE_INVALID);
}

/// `ac` with euiccSigned1 changed by `f` and signed again by the eUICC's key.
fn resign(
    e: &TestEuicc,
    ac: json::AuthenticateClientRequest,
    f: impl FnOnce(&mut rsp::EuiccSigned1),
) -> json::AuthenticateClientRequest {
    use simforge_crypto::Signer as _;
    let rsp::AuthenticateServerResponse::AuthenticateResponseOk(mut ok) =
        ac.authenticate_server_response.value().clone()
    else {
        panic!("not ok")
    };
    f(&mut ok.euicc_signed1);
    let sig = e.signer.sign(&to_der(&ok.euicc_signed1).unwrap()).unwrap();
    ok.euicc_signature1 = sig.as_bytes().to_vec().into();
    json::AuthenticateClientRequest {
        transaction_id: ac.transaction_id,
        authenticate_server_response: json::Asn1B64::new(
            rsp::AuthenticateServerResponse::AuthenticateResponseOk(ok),
        )
        .unwrap(),
    }
}

#[test]
fn an_unknown_ci_is_refused_at_either_step() {
    let pki = lab(Curve::P256, 1);
    let other = lab(Curve::P256, 1);
    let ds = smds_on(&pki, |_| {});
    // An eUICC offering only an unknown CI: InitiateAuthentication 8.9.2 / 3.1.
    let stranger = TestEuicc::from_lab(&other, 0);
    let err = ds
        .initiate_authentication(&stranger.initiate(DS_ADDRESS), NOW)
        .unwrap_err();
    assert_eq!(code(&err), sc("8.9.2", "3.1"));
    // One offering our CI but with a chain from an unknown CI: 8.11.1 / 3.9.
    let mut liar = TestEuicc::from_lab(&other, 0);
    liar.ci_pkid = pki.ci.subject_key_id().unwrap().to_vec();
    let err = discover(&ds, &mut liar, None, NOW).unwrap_err();
    assert_eq!(code(&err), StatusCode::UNKNOWN_CI_PUBLIC_KEY);
}

#[test]
fn an_expired_euicc_certificate_is_refused_on_the_injected_clock() {
    let pki = lab(Curve::P256, 1);
    let ds = smds_on(&pki, |_| {});
    let not_after = std::time::UNIX_EPOCH + std::time::Duration::from_secs((NOW + 100) as u64);
    let eid = simforge_pki::eid_from_prefix("89049032", 990).unwrap();
    let mut e = issue_euicc(&pki, &eid, Some(not_after));
    ds.register_event(&dp("dp1"), &register(&e.eid, "EV-1", DP), NOW)
        .unwrap();
    assert_eq!(ids(&discover(&ds, &mut e, None, NOW).unwrap()).len(), 1);
    let err = discover(&ds, &mut e, None, NOW + 101).unwrap_err();
    assert_eq!(code(&err), StatusCode::EUICC_CERTIFICATE_EXPIRED);
    assert_eq!(err.es11_error_code(), 4);
}

#[test]
fn a_transaction_id_is_used_once_and_expires() {
    let pki = lab(Curve::P256, 1);
    let ds = smds_on(&pki, |c| c.session_ttl_secs = 60);
    let mut e = TestEuicc::from_lab(&pki, 0);
    ds.register_event(&dp("dp1"), &register(&e.eid, "EV-1", DP), NOW)
        .unwrap();
    let ia = ds
        .initiate_authentication(&e.initiate(DS_ADDRESS), NOW)
        .unwrap();
    let ac = e.authenticate_server(&ia, None);
    assert_eq!(
        ds.authenticate_client(&ac, NOW)
            .unwrap()
            .event_entries
            .len(),
        1
    );
    // Replayed: unknown.
    let err = ds.authenticate_client(&ac, NOW).unwrap_err();
    assert_eq!(code(&err), StatusCode::UNKNOWN_TRANSACTION_ID);
    assert_eq!(err.es11_error_code(), 7);
    // A failed attempt consumes it too: the genuine answer after a forged one is refused.
    let ia = ds
        .initiate_authentication(&e.initiate(DS_ADDRESS), NOW)
        .unwrap();
    e.corrupt_signature = true;
    let forged = e.authenticate_server(&ia, None);
    let genuine = e.authenticate_server(&ia, None);
    assert_eq!(
        code(&ds.authenticate_client(&forged, NOW).unwrap_err()),
        StatusCode::EUICC_SIGNATURE_INVALID
    );
    assert_eq!(
        code(&ds.authenticate_client(&genuine, NOW).unwrap_err()),
        StatusCode::UNKNOWN_TRANSACTION_ID
    );
    // Past its lifetime.
    let ia = ds
        .initiate_authentication(&e.initiate(DS_ADDRESS), NOW)
        .unwrap();
    let ac = e.authenticate_server(&ia, None);
    assert_eq!(
        code(&ds.authenticate_client(&ac, NOW + 60).unwrap_err()),
        StatusCode::UNKNOWN_TRANSACTION_ID
    );
    assert_eq!(ds.store().session_count(), 0);
}

#[test]
fn initiate_authentication_checks_the_smds_address_and_signs_with_dsauth() {
    let pki = lab(Curve::BrainpoolP256r1, 1);
    let ds = smds_on(&pki, |_| {});
    let e = TestEuicc::from_lab(&pki, 0);
    for wrong in [DP, "smds.simforge.test:443", "evil.example"] {
        let err = ds
            .initiate_authentication(&e.initiate(wrong), NOW)
            .unwrap_err();
        assert_eq!(code(&err), sc("8.9.1", "3.8"), "{wrong}");
        assert_eq!(err.to_string(), "invalid SM-DS address");
    }
    let ia = ds
        .initiate_authentication(&e.initiate("SMDS.simforge.test:8443"), NOW)
        .unwrap();
    assert_eq!(
        ia.server_signed1.unwrap().value().server_address,
        "SMDS.simforge.test:8443"
    );
    let cert = simforge_pki::Certificate::from_der(&ia.server_certificate.unwrap().0).unwrap();
    assert_eq!(cert.role(), Some(simforge_pki::Role::DsAuth));
    // SVN 3: 8.9.3 / 3.1.
    let mut req = e.initiate(DS_ADDRESS);
    let mut info1 = req.euicc_info1.value().clone();
    info1.svn = simforge_asn1::rsp::VersionType::new(3, 0, 0);
    req.euicc_info1 = json::Asn1B64::new(info1).unwrap();
    let err = ds.initiate_authentication(&req, NOW).unwrap_err();
    assert_eq!(code(&err), sc("8.9.3", "3.1"));
}

#[test]
fn an_smds_without_dsauth_under_the_eiccs_ci_says_so() {
    let pki = lab(Curve::P256, 1);
    let other = lab(Curve::P256, 1);
    // Trusts both CIs, holds DSauth only under `other`.
    let mut keys = SmdsKeys::from_pkis(&[&other]).unwrap();
    keys.ci.add(pki.ci.clone()).unwrap();
    let mut cfg = SmdsConfig::new(DS_FQDN);
    cfg.port = 8443;
    let ds = Smds::new(cfg, keys, MemoryStore::new(), Arc::new(SystemRandom::new()));
    let e = TestEuicc::from_lab(&pki, 0);
    let err = ds
        .initiate_authentication(&e.initiate(DS_ADDRESS), NOW)
        .unwrap_err();
    assert_eq!(code(&err), sc("8.9.4", "3.7"));
}

// ------------------------------------------------------------------------------- ES12

#[test]
fn register_refuses_a_duplicate_and_bad_members() {
    let pki = lab(Curve::P256, 1);
    let ds = smds_on(&pki, |_| {});
    let eid = TestEuicc::from_lab(&pki, 0).eid;
    ds.register_event(&dp("dp1"), &register(&eid, "EV-1", DP), NOW)
        .unwrap();
    for who in ["dp1", "dp2"] {
        let err = ds
            .register_event(&dp(who), &register(&eid, "EV-1", "x.example"), NOW)
            .unwrap_err();
        assert_eq!(code(&err), sc("8.9.5", "3.3"));
    }
    for (id, addr) in [
        ("", DP),
        ("EV\n1", DP),
        ("EV-2", ""),
        ("EV-2", "https://smdp.example"),
        ("EV-2", "smdp..example"),
        ("EV-2", "smdp.example:0"),
    ] {
        let err = ds
            .register_event(&dp("dp1"), &register(&eid, id, addr), NOW)
            .unwrap_err();
        assert_eq!(
            code(&err),
            StatusCode::MANDATORY_ELEMENT_MISSING,
            "{id:?} {addr:?}"
        );
    }
    assert_eq!(ds.store().events_for(&eid).unwrap().len(), 1);
}

#[test]
fn only_the_registrant_deletes_and_another_is_told_unknown() {
    let pki = lab(Curve::P256, 1);
    let ds = smds_on(&pki, |_| {});
    let mut e = TestEuicc::from_lab(&pki, 0);
    ds.register_event(&dp("dp1"), &register(&e.eid, "EV-1", DP), NOW)
        .unwrap();
    let unknown = ds
        .delete_event(&dp("dp1"), &delete(&e.eid, "EV-404"), NOW)
        .unwrap_err();
    let not_yours = ds
        .delete_event(&dp("dp2"), &delete(&e.eid, "EV-1"), NOW)
        .unwrap_err();
    // Exactly the same answer: ES12 reveals nothing of other registrants' records.
    assert_eq!(unknown, not_yours);
    assert_eq!(code(&not_yours), sc("8.9.5", "3.9"));
    assert_eq!(unknown.to_string(), not_yours.to_string());
    assert_eq!(
        ids(&discover(&ds, &mut e, None, NOW).unwrap()),
        [("EV-1", DP)]
    );

    ds.delete_event(&dp("dp1"), &delete(&e.eid, "EV-1"), NOW)
        .unwrap();
    assert!(
        discover(&ds, &mut e, None, NOW)
            .unwrap()
            .event_entries
            .is_empty()
    );
    assert_eq!(
        ds.delete_event(&dp("dp1"), &delete(&e.eid, "EV-1"), NOW)
            .unwrap_err(),
        Error::EventUnknown
    );
}

#[test]
fn records_expire_on_the_injected_clock_and_are_purged() {
    let pki = lab(Curve::P256, 1);
    let ds = smds_on(&pki, |c| c.event_ttl_secs = Some(3600));
    let mut e = TestEuicc::from_lab(&pki, 0);
    ds.register_event(&dp("dp1"), &register(&e.eid, "EV-1", DP), NOW)
        .unwrap();
    ds.register_event(&dp("dp1"), &register(&e.eid, "EV-2", DP), NOW + 1800)
        .unwrap();
    assert_eq!(
        ids(&discover(&ds, &mut e, None, NOW + 3599).unwrap()).len(),
        2
    );
    assert_eq!(
        ids(&discover(&ds, &mut e, None, NOW + 3600).unwrap()),
        [("EV-2", DP)]
    );
    // Expired: no longer deletable, and its EventID may be registered again.
    assert_eq!(
        ds.delete_event(&dp("dp1"), &delete(&e.eid, "EV-1"), NOW + 3600)
            .unwrap_err(),
        Error::EventUnknown
    );
    let purged = ds.purge_expired(NOW + 3600).unwrap();
    assert_eq!(purged.len(), 1);
    assert_eq!(purged[0].event_id, "EV-1");
    ds.register_event(&dp("dp1"), &register(&e.eid, "EV-2", DP), NOW + 5400)
        .unwrap();
}

#[test]
fn an_eid_holds_a_bounded_number_of_records() {
    let pki = lab(Curve::P256, 1);
    let ds = smds_on(&pki, |c| c.max_events_per_eid = 2);
    let eid = TestEuicc::from_lab(&pki, 0).eid;
    for id in ["A", "B"] {
        ds.register_event(&dp("dp1"), &register(&eid, id, DP), NOW)
            .unwrap();
    }
    let err = ds
        .register_event(&dp("dp1"), &register(&eid, "C", DP), NOW)
        .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err}");
}

// ------------------------------------------------------------------------------- ES15

/// The root SM-DS an alternative SM-DS of these tests forwards to.
const ROOT: &str = "root.smds.test";

fn forwarded(eid: &Eid, event_id: &str) -> RegisterEventRequest {
    RegisterEventRequest {
        forwarding_indicator: Some(true),
        ..register(eid, event_id, DP)
    }
}

/// The alternative SM-DS's forwards, oldest first: (kind, EventID, due, state).
fn forwards(ds: &Smds<MemoryStore>) -> Vec<(SmdsOpKind, String, i64, SmdsOpState)> {
    let mut rows = ds.store().ops(100).unwrap();
    rows.reverse();
    rows.into_iter()
        .map(|r| {
            let o = r.entry.op;
            assert_eq!((o.smds_address.as_str(), o.operator_id), (ROOT, 0));
            assert_eq!(o.iccid, None);
            (o.kind, o.event_id.as_str().to_owned(), o.due, r.state)
        })
        .collect()
}

#[test]
fn an_alternative_smds_forwards_a_forwarded_registration_and_its_deletion() {
    use SmdsOpKind::{Delete, Register};
    use SmdsOpState::{Done, Pending};
    let pki = lab(Curve::P256, 1);
    let ds = smds_on(&pki, |c| c.root = Some(ROOT.into()));
    let mut e = TestEuicc::from_lab(&pki, 0);
    ds.register_event(&dp("dp1"), &forwarded(&e.eid, "EV-1"), NOW)
        .unwrap();
    // Without the indicator: kept here only.
    ds.register_event(&dp("dp1"), &register(&e.eid, "EV-2", DP), NOW)
        .unwrap();
    assert_eq!(forwards(&ds), [(Register, "EV-1".into(), NOW, Pending)]);
    let op = &ds.store().ops(1).unwrap()[0].entry.op;
    assert_eq!(op.eid, e.eid);
    // The alternative SM-DS itself still answers the SM-DP+'s address.
    assert_eq!(
        ids(&discover(&ds, &mut e, Some("EV-1"), NOW).unwrap()),
        [("EV-1", DP)]
    );

    // Another registrant's delete changes nothing; the registrant's is forwarded.
    assert_eq!(
        ds.delete_event(&dp("dp2"), &delete(&e.eid, "EV-1"), NOW + 5)
            .unwrap_err(),
        Error::EventUnknown
    );
    ds.delete_event(&dp("dp1"), &delete(&e.eid, "EV-1"), NOW + 5)
        .unwrap();
    ds.delete_event(&dp("dp1"), &delete(&e.eid, "EV-2"), NOW + 5)
        .unwrap();
    assert_eq!(
        forwards(&ds),
        [
            (Register, "EV-1".into(), NOW, Pending),
            (Delete, "EV-1".into(), NOW + 5, Pending)
        ]
    );

    // The delete waits for its register, as in the SM-DP+'s queue.
    let st = ds.store();
    let now_ms = (NOW + 5) * 1000;
    let c = st.claim_ops(now_ms, 60_000, 10).unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].op.kind, Register);
    st.op_done(c[0].id, now_ms).unwrap();
    let c = st.claim_ops(now_ms, 60_000, 10).unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].op.kind, Delete);
    st.op_done(c[0].id, now_ms).unwrap();
    assert_eq!(
        forwards(&ds).into_iter().map(|f| f.3).collect::<Vec<_>>(),
        [Done, Done]
    );
}

#[test]
fn a_root_smds_keeps_the_indicator_and_forwards_nothing() {
    let pki = lab(Curve::P256, 1);
    let eid = TestEuicc::from_lab(&pki, 0).eid;
    // A root (no root of its own), and an SM-DS whose "root" is its own address.
    for root in [None, Some(DS_ADDRESS.to_owned())] {
        let ds = smds_on(&pki, |c| c.root = root);
        ds.register_event(&dp("dp1"), &forwarded(&eid, "EV-1"), NOW)
            .unwrap();
        let rec = ds.store().events_for(&eid).unwrap();
        assert!(rec[0].forwarding_indicator);
        ds.delete_event(&dp("dp1"), &delete(&eid, "EV-1"), NOW)
            .unwrap();
        assert!(ds.store().ops(10).unwrap().is_empty());
    }
}

#[test]
fn an_eventid_to_forward_must_be_a_matching_id() {
    let pki = lab(Curve::P256, 1);
    let ds = smds_on(&pki, |c| c.root = Some(ROOT.into()));
    let eid = TestEuicc::from_lab(&pki, 0).eid;
    // The root's record sends the LPA back here with the EventID as matchingId.
    let err = ds
        .register_event(&dp("dp1"), &forwarded(&eid, "ev 1"), NOW)
        .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    assert_eq!(code(&err), sc("1.3.1", "2.2"));
    assert!(ds.store().events_for(&eid).unwrap().is_empty());
    assert!(ds.store().ops(10).unwrap().is_empty());
    // Not forwarded, any EventID of SGP.22's UTF8String is kept.
    ds.register_event(&dp("dp1"), &register(&eid, "ev 1", DP), NOW)
        .unwrap();
}

#[test]
fn an_expired_forwarded_record_is_deleted_at_the_root_too() {
    use SmdsOpKind::{Delete, Register};
    use SmdsOpState::Pending;
    let pki = lab(Curve::P256, 1);
    let ds = smds_on(&pki, |c| {
        c.root = Some(ROOT.into());
        c.event_ttl_secs = Some(3600);
    });
    let eid = TestEuicc::from_lab(&pki, 0).eid;
    ds.register_event(&dp("dp1"), &forwarded(&eid, "EV-1"), NOW)
        .unwrap();
    ds.register_event(&dp("dp1"), &forwarded(&eid, "EV-2"), NOW)
        .unwrap();
    // EV-1 registered again once expired (not purged yet): the old one's copy goes first.
    ds.register_event(&dp("dp1"), &forwarded(&eid, "EV-1"), NOW + 3600)
        .unwrap();
    // EV-2 purged.
    let purged = ds.purge_expired(NOW + 3601).unwrap();
    assert_eq!(purged.len(), 1);
    assert_eq!(
        forwards(&ds),
        [
            (Register, "EV-1".into(), NOW, Pending),
            (Register, "EV-2".into(), NOW, Pending),
            (Delete, "EV-1".into(), NOW + 3600, Pending),
            (Register, "EV-1".into(), NOW + 3600, Pending),
            (Delete, "EV-2".into(), NOW + 3601, Pending),
        ]
    );
}

#[test]
fn es15_requests_have_es12s_members_on_the_es15_paths() {
    use simforge_asn1::json::Es12Function;
    assert_eq!(
        Es12Function::RegisterEvent.es15_path(),
        sgp22::ES15_REGISTER_EVENT.path
    );
    assert_eq!(
        Es12Function::DeleteEvent.es15_path(),
        sgp22::ES15_DELETE_EVENT.path
    );
    // What an alternative SM-DS sends the root: its own address, no further forwarding.
    let fwd = RegisterEventRequest {
        header: RequestHeader {
            function_requester_identifier: DS_ADDRESS.into(),
            function_call_identifier: "simforge-es15-1".into(),
        },
        eid: "89049032123451234512345678901235".parse().unwrap(),
        rsp_server_address: DS_ADDRESS.into(),
        event_id: "EV-1".into(),
        forwarding_indicator: Some(false),
    };
    sgp22::check(
        "ES15 registerEvent request",
        sgp22::ES15_REGISTER_EVENT.request,
        &json::to_json(&fwd).unwrap(),
    );
    let del = DeleteEventRequest {
        header: fwd.header.clone(),
        eid: fwd.eid,
        event_id: fwd.event_id.clone(),
    };
    sgp22::check(
        "ES15 deleteEvent request",
        sgp22::ES15_DELETE_EVENT.request,
        &json::to_json(&del).unwrap(),
    );
}

// ------------------------------------------------------------- fixtures from the spec

/// SGP.22 §5.8.2 `AuthenticateClientResponseEs11`, DER with AUTOMATIC TAGS as an independent
/// codec (asn1tools, from the specification's module) writes it.
#[test]
fn the_es11_asn1_binding_matches_the_specifications_der() {
    let tid = TransactionId::from_bytes(&[0x01, 0x02]).unwrap();
    let ok = Es11AuthenticateClientResponse {
        header: ResponseHeader::success(),
        transaction_id: Some(tid.clone()),
        event_entries: vec![json::EventEntry {
            event_id: "EV-1".into(),
            rsp_server_address: "smdp.example".into(),
        }],
    };
    // BF40 1E A0 1C 80 02 0102 A1 16 30 14 80 04 "EV-1" 81 0C "smdp.example"
    let mut want = hex::decode("BF401EA01C80020102A1163014").unwrap();
    want.extend_from_slice(b"\x80\x04EV-1\x81\x0Csmdp.example");
    assert_eq!(to_der(&es11_asn1(&Ok(ok))).unwrap(), want);

    let empty = Es11AuthenticateClientResponse {
        header: ResponseHeader::success(),
        transaction_id: Some(tid),
        event_entries: Vec::new(),
    };
    assert_eq!(
        to_der(&es11_asn1(&Ok(empty))).unwrap(),
        hex::decode("BF4008A00680020102A100").unwrap()
    );
    assert_eq!(
        to_der(&es11_asn1(&Err(Error::EventUnknown))).unwrap(),
        hex::decode("BF4003810106").unwrap()
    );
}

/// The ES11/ES12 JSON as deployed peers send it (smds-notes §2, §3; json-bindings ES11 rows).
#[test]
fn es11_and_es12_json_from_real_peers_is_read() {
    // lpac, euicc-go, G+D: the SM-DS address in `smdpAddress`; Eastcompeace: `smdsAddress`.
    let pki = lab(Curve::P256, 1);
    let e = TestEuicc::from_lab(&pki, 0);
    let lpac = json::to_json(&e.initiate(DS_ADDRESS)).unwrap();
    let ecp = String::from_utf8(lpac.clone())
        .unwrap()
        .replace("smdpAddress", "smdsAddress");
    sgp22::check("ES11 (lpac)", sgp22::INITIATE_AUTHENTICATION.request, &lpac);
    sgp22::check(
        "ES11 (Eastcompeace)",
        sgp22::ES11_INITIATE_AUTHENTICATION.request,
        ecp.as_bytes(),
    );
    for body in [lpac, ecp.into_bytes()] {
        let r: json::InitiateAuthenticationRequest = json::from_json(&body).unwrap();
        assert_eq!(r.smdp_address, DS_ADDRESS);
    }

    let reg = br#"{"header":{"functionRequesterIdentifier":"smdp1","functionCallIdentifier":"c1"},"eid":"89049032123451234512345678901235","rspServerAddress":"smdp.example.com","eventId":"EV-1","forwardingIndicator":false}"#;
    sgp22::check(
        "ES12 registerEvent request",
        sgp22::ES12_REGISTER_EVENT.request,
        reg,
    );
    let r: RegisterEventRequest = json::from_json(reg).unwrap();
    // What we send (an SM-DP+ of ours) has the same members.
    sgp22::check(
        "ES12 registerEvent request (ours)",
        sgp22::ES12_REGISTER_EVENT.request,
        &json::to_json(&r).unwrap(),
    );
    assert_eq!(r.eid.to_string(), "89049032123451234512345678901235");
    assert_eq!(r.rsp_server_address, "smdp.example.com");
    assert_eq!(r.event_id, "EV-1");
    assert_eq!(r.forwarding_indicator, Some(false));
    let del = br#"{"header":{"functionRequesterIdentifier":"smdp1","functionCallIdentifier":"c2"},"eid":"89049032123451234512345678901235","eventId":"EV-1"}"#;
    sgp22::check(
        "ES12 deleteEvent request",
        sgp22::ES12_DELETE_EVENT.request,
        del,
    );
    let d: DeleteEventRequest = json::from_json(del).unwrap();
    sgp22::check(
        "ES12 deleteEvent request (ours)",
        sgp22::ES12_DELETE_EVENT.request,
        &json::to_json(&d).unwrap(),
    );
    assert_eq!(d.event_id, "EV-1");
    // An EID that is not 32 digits is refused by the JSON layer.
    let bad = String::from_utf8_lossy(del).replace("8904903212345", "8904903212");
    assert!(json::from_json::<DeleteEventRequest>(bad.as_bytes()).is_err());

    // The ES11 answer as euicc-go and the Eastcompeace SDK read it.
    let text = br#"{"header":{"functionExecutionStatus":{"status":"Executed-Success"}},"transactionId":"0102","eventEntries":[{"eventId":"EV-1","rspServerAddress":"smdp.example"}]}"#;
    sgp22::check(
        "§6.5.2.11 response",
        sgp22::ES11_AUTHENTICATE_CLIENT.response.unwrap(),
        text,
    );
    let r: Es11AuthenticateClientResponse = json::from_json(text).unwrap();
    assert_eq!(ids(&r), [("EV-1", "smdp.example")]);
}
