//! eUICC ⟷ LPA through real APDU bytes in-process, with the stand-in ES9+ responder of the
//! test kit and a profile built by the project (`simforge_testkit::profiles::built`).

use simforge_aka::{Algorithm, K as AkaK, Opc};
use simforge_asn1::rsp::{FinalResult, PendingNotification, ProfileInstallationResult};
use simforge_euicc::EuiccState;
use simforge_lpa::{Card, Error, Es10, Lpa};
use simforge_testkit::card::{self, InProc, euicc};
use simforge_testkit::profiles::{K, OPC, built, iccid};
use simforge_testkit::stand_in::*;

fn transmit(card: &mut impl Card, apdu: &[u8]) -> Vec<u8> {
    card.transmit(apdu).expect("transmit")
}

/// SELECT the USIM, AUTHENTICATE with SQN `sqn`; returns the response (data ‖ SW).
fn authenticate(card: &mut impl Card, rand: &[u8; 16], autn: &[u8]) -> Vec<u8> {
    let r = transmit(
        card,
        &[
            0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02,
        ],
    );
    assert_eq!(r, [0x90, 0x00], "SELECT ADF.USIM");
    let mut apdu = vec![0x00, 0x88, 0x00, 0x81, 0x22, 0x10];
    apdu.extend_from_slice(rand);
    apdu.push(0x10);
    apdu.extend_from_slice(autn);
    apdu.push(0x00);
    transmit(card, &apdu)
}

fn milenage() -> Algorithm {
    Algorithm::milenage(Opc::from_slice(&OPC).expect("opc"))
}

#[test]
fn download_list_enable_authenticate_and_persist() {
    let upp = built(&iccid(1)).to_vec();
    let pki = lab_pki();
    let mut smdp = TestSmdp::new(pki.clone(), upp.clone());
    let mut euicc = euicc(&pki, EuiccState::default());
    let iccid = smdp.iccid.clone();
    let mut card = InProc::new(&mut euicc);
    {
        let es10 = Es10::open(&mut card).expect("open ISD-R");
        let mut lpa = Lpa::new(es10, &mut smdp);
        let ac = lpa.es9.activation_code();
        let out = lpa.download(&ac, None).expect("download");
        assert_eq!(out.iccid, iccid);
        assert!(out.notification_sent);

        let list = lpa.list_profiles().expect("list");
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].state, "disabled");
        assert_eq!(
            list[0].service_provider_name.as_deref(),
            Some("Simforge Test")
        );
        assert!(lpa.list_notifications().expect("notifications").is_empty());

        lpa.enable(&iccid).expect("enable");
        assert!(matches!(
            lpa.enable(&iccid),
            Err(Error::Euicc {
                function: "EnableProfile",
                code: 2
            })
        ));
        let list = lpa.list_profiles().expect("list");
        assert_eq!(list[0].state, "enabled");
        lpa.set_nickname(&iccid, "work").expect("nickname");
        let n = lpa.list_notifications().expect("notifications");
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].operation, "enable");
        let sent = lpa.process_notifications().expect("process");
        assert!(sent.iter().all(|d| d.delivered));
        assert!(lpa.list_notifications().expect("notifications").is_empty());
        let info = lpa.chip_info().expect("info");
        assert_eq!(info.eid, pki.euiccs[0].eid);
        assert_eq!(info.profiles, 1);
        lpa.es10.close();
    }
    assert!(
        card.get_responses > 0,
        "long responses went through 61xx / GET RESPONSE"
    );
    // The SM-DP+ got the successful PIR and the enable notification.
    assert_eq!(smdp.notifications.len(), 2);
    let pir: ProfileInstallationResult =
        simforge_asn1::from_ber(&smdp.notifications[0]).expect("PIR");
    assert!(matches!(
        pir.profile_installation_result_data.final_result,
        FinalResult::SuccessResult(_)
    ));
    let other: PendingNotification = simforge_asn1::from_ber(&smdp.notifications[1]).expect("n");
    assert!(matches!(
        other,
        PendingNotification::OtherSignedNotification(_)
    ));

    // USIM: files and AUTHENTICATE against a MILENAGE vector from K/OPc.
    let r = transmit(
        &mut card,
        &[
            0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02,
        ],
    );
    assert_eq!(r, [0x90, 0x00]);
    let r = transmit(&mut card, &[0x00, 0xA4, 0x00, 0x0C, 0x02, 0x6F, 0x07]);
    assert_eq!(r, [0x90, 0x00]);
    let r = transmit(&mut card, &[0x00, 0xB0, 0x00, 0x00, 0x09]);
    let imsi = simforge_saip::Profile::decode(&upp)
        .expect("p")
        .imsi()
        .expect("imsi");
    assert_eq!(
        &r[..9],
        simforge_saip::profile::encode_ef_imsi(&imsi)
            .expect("ef")
            .as_slice()
    );
    assert_eq!(&r[9..], [0x90, 0x00]);

    let k = AkaK::from_slice(&K).expect("k");
    let alg = milenage();
    let rand = [0x5A; 16];
    let av = alg
        .generate_vector(&k, &rand, &simforge_aka::sqn_from_u64(33), &[0x80, 0x00])
        .expect("vector");
    let r = authenticate(&mut card, &rand, &av.autn);
    assert_eq!(&r[r.len() - 2..], [0x90, 0x00]);
    assert_eq!(r[0], 0xDB);
    let res_len = usize::from(r[1]);
    assert_eq!(&r[2..2 + res_len], av.xres.as_ref());
    let ck = &r[3 + res_len..3 + res_len + 16];
    let ik = &r[4 + res_len + 16..4 + res_len + 32];
    assert_eq!(ck, av.ck.as_bytes());
    assert_eq!(ik, av.ik.as_bytes());
    // Replaying the same SQN: synchronisation failure with AUTS carrying SQN_MS = 33.
    let r = authenticate(&mut card, &rand, &av.autn);
    assert_eq!(r[0], 0xDC);
    assert_eq!(usize::from(r[1]), 14);
    let sqn_ms = alg.resync(&k, &rand, &r[2..16]).expect("resync");
    assert_eq!(simforge_aka::sqn_to_u64(&sqn_ms), 33);
    // A wrong MAC: 9862.
    let mut bad = av.autn.as_ref().to_vec();
    bad[15] ^= 1;
    assert_eq!(authenticate(&mut card, &rand, &bad), [0x98, 0x62]);

    // Persist and reload: the profile is still there, enabled, and SQN 65 is accepted.
    let _ = card;
    assert!(euicc.take_dirty());
    let saved = serde_json::to_string(euicc.state()).expect("save");
    let state: EuiccState = serde_json::from_str(&saved).expect("load");
    state.check_consistency().expect("consistent");
    let mut euicc2 = card::euicc(&pki, state);
    let mut card2 = InProc::new(&mut euicc2);
    let av = alg
        .generate_vector(&k, &rand, &simforge_aka::sqn_from_u64(65), &[0x80, 0x00])
        .expect("vector");
    let r = authenticate(&mut card2, &rand, &av.autn);
    assert_eq!(r[0], 0xDB);

    // Delete needs the profile disabled first.
    let es10 = Es10::open(&mut card2).expect("open");
    let mut lpa = Lpa::new(es10, &mut smdp);
    assert!(matches!(
        lpa.delete(&iccid),
        Err(Error::Euicc { code: 2, .. })
    ));
    lpa.disable(&iccid).expect("disable");
    lpa.delete(&iccid).expect("delete");
    assert!(lpa.list_profiles().expect("list").is_empty());
    let n = lpa.list_notifications().expect("n");
    assert_eq!(
        n.iter().map(|x| x.operation.as_str()).collect::<Vec<_>>(),
        ["disable", "delete"]
    );
}

#[test]
fn confirmation_code() {
    let upp = built(&iccid(1)).to_vec();
    let pki = lab_pki();
    let mut smdp = TestSmdp::new(pki.clone(), upp);
    smdp.cc = Some("1234".into());
    let mut euicc = euicc(&pki, EuiccState::default());
    let mut card = InProc::new(&mut euicc);
    let es10 = Es10::open(&mut card).expect("open");
    let mut lpa = Lpa::new(es10, &mut smdp);
    let ac = lpa.es9.activation_code();
    assert!(matches!(
        lpa.download(&ac, None),
        Err(Error::ConfirmationCodeRequired)
    ));
    match lpa.download(&ac, Some("9999")) {
        Err(Error::Es9Status {
            subject_code,
            reason_code,
            ..
        }) => {
            assert_eq!(
                (subject_code.as_str(), reason_code.as_str()),
                ("8.2.7", "3.8")
            );
        }
        other => panic!("wrong CC accepted: {other:?}"),
    }
    assert!(lpa.list_profiles().expect("list").is_empty());
    // Without the `LPA:` prefix, with the right code.
    let ac = ac.trim_start_matches("LPA:").to_owned();
    lpa.download(&ac, Some("1234")).expect("download with CC");
    assert_eq!(lpa.list_profiles().expect("list").len(), 1);
}

/// Runs a download with `tamper`; returns the error and checks nothing was installed.
fn failing_download(tamper: Tamper) -> Option<(Error, TestSmdp)> {
    let upp = built(&iccid(1)).to_vec();
    let pki = lab_pki();
    let mut smdp = TestSmdp::new(pki.clone(), upp);
    smdp.tamper = tamper;
    let mut euicc = euicc(&pki, EuiccState::default());
    let err;
    {
        let mut card = InProc::new(&mut euicc);
        let es10 = Es10::open(&mut card).expect("open");
        let mut lpa = Lpa::new(es10, &mut smdp);
        let ac = lpa.es9.activation_code();
        err = lpa.download(&ac, None).expect_err("must fail");
        assert!(
            lpa.list_profiles().expect("list").is_empty(),
            "nothing installed"
        );
        // The same eUICC then installs a good BPP: nothing half-installed blocks it.
        lpa.es9.tamper = Tamper::None;
        let ac = lpa.es9.activation_code();
        lpa.download(&ac, None)
            .expect("clean download after a failure");
        assert_eq!(lpa.list_profiles().expect("list").len(), 1);
    }
    euicc.state().check_consistency().expect("consistent");
    Some((err, smdp))
}

fn install_error(tamper: Tamper, cmd: i64, reason: i64) {
    let Some((err, smdp)) = failing_download(tamper) else {
        return;
    };
    match err {
        Error::Install {
            bpp_command_id,
            error_reason,
        } => {
            assert_eq!((bpp_command_id, error_reason), (cmd, reason), "{tamper:?}");
        }
        other => panic!("{tamper:?}: {other:?}"),
    }
    // The failed PIR reached the SM-DP+ as a notification, signed, with the error.
    let pir: ProfileInstallationResult =
        simforge_asn1::from_ber(&smdp.notifications[0]).expect("PIR");
    assert!(matches!(
        pir.profile_installation_result_data.final_result,
        FinalResult::ErrorResult(_)
    ));
}

#[test]
fn untrusted_ci_is_rejected() {
    let Some((err, _)) = failing_download(Tamper::UntrustedCi) else {
        return;
    };
    // invalidCertificate(1)
    assert!(
        matches!(
            err,
            Error::Euicc {
                function: "AuthenticateServer",
                code: 1
            }
        ),
        "{err:?}"
    );
}

#[test]
fn wrong_server_signature_is_rejected() {
    let Some((err, _)) = failing_download(Tamper::BadServerSignature) else {
        return;
    };
    // invalidSignature(2)
    assert!(
        matches!(
            err,
            Error::Euicc {
                function: "AuthenticateServer",
                code: 2
            }
        ),
        "{err:?}"
    );
}

#[test]
fn tampered_segment_bad_mac() {
    // loadProfileElements(5) / scp03tSecurityError(8)
    install_error(Tamper::BadMac, 5, 8);
}

#[test]
fn bpp_for_another_eid() {
    // configureISDP(1) / scp03tSecurityError(8): keys derived for another EID.
    install_error(Tamper::OtherEid, 1, 8);
}

#[test]
fn segments_out_of_order() {
    // loadProfileElements(5) / scp03tSecurityError(8): the MAC chain breaks.
    install_error(Tamper::SwapSegments, 5, 8);
}
