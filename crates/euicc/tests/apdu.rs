//! APDU-level behaviour and robustness of the virtual eUICC.

use std::sync::OnceLock;

use proptest::prelude::*;
use simforge_crypto::{FixedClock, SystemRandom};
use simforge_euicc::{AID_ISD_R, Euicc, EuiccIdentity, EuiccState};
use simforge_pki::{LabPkiOptions, generate_lab_pki};

fn identity() -> &'static EuiccIdentity {
    static ID: OnceLock<EuiccIdentity> = OnceLock::new();
    ID.get_or_init(|| {
        let pki = generate_lab_pki(&LabPkiOptions::new(
            simforge_pki::Curve::P256,
            "smdp.example",
        ))
        .expect("pki");
        EuiccIdentity::from_lab_pki(&pki, 0).expect("identity")
    })
}

fn euicc() -> Euicc {
    Euicc::new(
        identity(),
        EuiccState::default(),
        Box::new(SystemRandom::new()),
        Box::new(FixedClock(1_800_000_000)),
    )
    .expect("eUICC")
}

fn select_isd_r(e: &mut Euicc, cla: u8) -> Vec<u8> {
    let mut apdu = vec![cla, 0xA4, 0x04, 0x00, 0x10];
    apdu.extend_from_slice(&AID_ISD_R);
    e.process(&apdu)
}

fn sw(r: &[u8]) -> u16 {
    u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
}

#[test]
fn channels_select_and_store_data_chaining() {
    let mut e = euicc();
    // STORE DATA without the ISD-R selected.
    assert_eq!(
        e.process(&[0x80, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x2E, 0x00]),
        [0x69, 0x85]
    );
    // Open a logical channel, select the ISD-R there.
    assert_eq!(
        e.process(&[0x00, 0x70, 0x00, 0x00, 0x01]),
        [0x01, 0x90, 0x00]
    );
    assert_eq!(sw(&select_isd_r(&mut e, 0x01)), 0x9000);
    // GetEUICCChallenge in one block.
    let r = e.process(&[0x81, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x2E, 0x00]);
    assert_eq!(sw(&r), 0x9000);
    assert_eq!(&r[..5], [0xBF, 0x2E, 0x12, 0x80, 0x10]);
    // GetEUICCInfo1 split over two blocks.
    assert_eq!(
        e.process(&[0x81, 0xE2, 0x11, 0x00, 0x02, 0xBF, 0x20]),
        [0x90, 0x00]
    );
    // Wrong block number.
    assert_eq!(
        e.process(&[0x81, 0xE2, 0x91, 0x05, 0x01, 0x00]),
        [0x6A, 0x86]
    );
    assert_eq!(
        e.process(&[0x81, 0xE2, 0x11, 0x00, 0x02, 0xBF, 0x20]),
        [0x90, 0x00]
    );
    let r = e.process(&[0x81, 0xE2, 0x91, 0x01, 0x01, 0x00]);
    assert_eq!(sw(&r), 0x9000);
    assert_eq!(&r[..2], [0xBF, 0x20]);
    // GetEID.
    let r = e.process(&[
        0x81, 0xE2, 0x91, 0x00, 0x06, 0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A,
    ]);
    assert_eq!(&r[..5], [0xBF, 0x3E, 0x12, 0x5A, 0x10]);
    assert_eq!(hex::encode_upper(&r[5..21]), identity().eid);
    // The basic channel has nothing selected: STORE DATA refused there.
    assert_eq!(
        e.process(&[0x80, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x2E, 0x00]),
        [0x69, 0x85]
    );
    // Close channel 1; using it again fails.
    assert_eq!(e.process(&[0x00, 0x70, 0x80, 0x01]), [0x90, 0x00]);
    assert_eq!(
        e.process(&[0x81, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x2E, 0x00]),
        [0x68, 0x81]
    );
    // Unknown things.
    assert_eq!(e.process(&[0x00, 0x12, 0x00, 0x00]), [0x6D, 0x00]);
    assert_eq!(e.process(&[0x0C, 0xA4, 0x04, 0x00]), [0x68, 0x82]);
    assert_eq!(e.process(&[0x00, 0xA4]), [0x67, 0x00]);
    assert_eq!(e.process(&[0x00, 0xC0, 0x00, 0x00, 0x00]), [0x69, 0x85]);
    let mut apdu = vec![0x00, 0xA4, 0x04, 0x00, 0x05];
    apdu.extend_from_slice(&[0xA0, 0x00, 0x00, 0x00, 0x99]);
    assert_eq!(e.process(&apdu), [0x6A, 0x82]);
}

#[test]
fn long_response_via_get_response_with_either_class() {
    for gr_cla in [0x80u8, 0x00] {
        let mut e = euicc();
        assert_eq!(sw(&select_isd_r(&mut e, 0x00)), 0x9000);
        // An AuthenticateServer without a challenge: small error. Use ListNotification with
        // a STORE DATA of GetEUICCInfo2 instead (about 100 bytes) — then a padded
        // SetDefaultDpAddress makes the configured addresses response long.
        let addr = "a".repeat(240);
        let mut body = vec![0x80, 0x81, 240];
        body.extend_from_slice(addr.as_bytes());
        let mut req = vec![0xBF, 0x3F, 0x81, u8::try_from(body.len()).expect("len")];
        req.extend_from_slice(&body);
        let mut apdu = vec![
            0x80,
            0xE2,
            0x91,
            0x00,
            u8::try_from(req.len()).expect("len"),
        ];
        apdu.extend_from_slice(&req);
        assert_eq!(sw(&e.process(&apdu)), 0x9000);
        e.state().check_consistency().expect("ok");
        // GetEuiccConfiguredAddresses: 240-byte default address + root DS > 256 bytes.
        let r = e.process(&[0x80, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x3C, 0x00]);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0], 0x61);
        let mut data = Vec::new();
        let mut s = sw(&r);
        while s >> 8 == 0x61 {
            let r = e.process(&[gr_cla, 0xC0, 0x00, 0x00, (s & 0xFF) as u8]);
            data.extend_from_slice(&r[..r.len() - 2]);
            s = sw(&r);
        }
        assert_eq!(s, 0x9000);
        assert!(data.len() > 256);
        let resp: simforge_asn1::rsp::EuiccConfiguredAddressesResponse =
            simforge_asn1::from_ber(&data).expect("decodes");
        assert_eq!(resp.default_dp_address.as_deref(), Some(addr.as_str()));
    }
}

#[test]
fn vpcd_frames_and_stdio_lines() {
    let mut e = euicc();
    assert_eq!(
        simforge_euicc::transport::vpcd::handle_frame(&mut e, &[0x04]).as_deref(),
        Some(simforge_euicc::ATR)
    );
    assert_eq!(
        simforge_euicc::transport::vpcd::handle_frame(&mut e, &[0x01]),
        None
    );
    let line = format!(
        r#"{{"type":"apdu","payload":{{"func":"logic_channel_open","param":"{}"}}}}"#,
        hex::encode_upper(AID_ISD_R)
    );
    let r = simforge_euicc::transport::stdio::handle_request(&mut e, &line).expect("reply");
    let v: serde_json::Value = serde_json::from_str(&r).expect("json");
    assert_eq!(v["payload"]["ecode"], 1);
    let r = simforge_euicc::transport::stdio::handle_request(
        &mut e,
        r#"{"type":"apdu","payload":{"func":"transmit","param":"81E2910003BF2E00"}}"#,
    )
    .expect("reply");
    let v: serde_json::Value = serde_json::from_str(&r).expect("json");
    let data = v["payload"]["data"].as_str().expect("data");
    assert!(
        data.starts_with("BF2E12") && data.ends_with("9000"),
        "{data}"
    );
    assert!(
        simforge_euicc::transport::stdio::handle_request(&mut e, r#"{"type":"lpa","payload":{}}"#)
            .is_none()
    );
}

fn store_data_apdus(payload: &[u8], cla: u8) -> Vec<Vec<u8>> {
    let chunks: Vec<&[u8]> = payload.chunks(255).collect();
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let mut a = vec![
                cla,
                0xE2,
                if i + 1 == n { 0x91 } else { 0x11 },
                i as u8,
                c.len() as u8,
            ];
            a.extend_from_slice(c);
            a
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Random APDUs never panic, always end in a status word, and leave a consistent state.
    #[test]
    fn random_apdus(apdus in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..20)) {
        let mut e = euicc();
        for a in &apdus {
            let r = e.process(a);
            prop_assert!(r.len() >= 2);
        }
        prop_assert!(e.state().check_consistency().is_ok());
        let s = serde_json::to_string(e.state()).expect("serialise");
        let back: EuiccState = serde_json::from_str(&s).expect("deserialise");
        prop_assert_eq!(&back, e.state());
    }

    /// Random ES10 payloads (random tags from the ES10 set, random bodies) through STORE DATA
    /// sequences on the ISD-R: never a panic, never an inconsistent state.
    #[test]
    fn random_store_data(
        cmds in proptest::collection::vec(
            (prop::sample::select(vec![0x20u8, 0x22, 0x2E, 0x38, 0x21, 0x36, 0x41, 0x2D, 0x31, 0x32, 0x33, 0x34, 0x3E, 0x29, 0x3C, 0x3F, 0x43, 0x28, 0x2B, 0x30]),
             proptest::collection::vec(any::<u8>(), 0..600)),
            1..12)
    ) {
        let mut e = euicc();
        select_isd_r(&mut e, 0x00);
        for (tag, body) in &cmds {
            let mut payload = vec![0xBF, *tag];
            if body.len() < 128 {
                payload.push(body.len() as u8);
            } else {
                payload.extend_from_slice(&[0x82, (body.len() >> 8) as u8, body.len() as u8]);
            }
            payload.extend_from_slice(body);
            for a in store_data_apdus(&payload, 0x80) {
                let r = e.process(&a);
                prop_assert!(r.len() >= 2);
            }
        }
        prop_assert!(e.state().check_consistency().is_ok());
        prop_assert!(e.state().profiles.is_empty());
    }
}
