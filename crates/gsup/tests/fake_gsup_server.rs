//! The GSUP client against a scripted fake HLR (runs without osmo-hlr): handshake bytes,
//! PING handling, vector truncation, and hostile answers.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use simforge_gsup::{Error, GsupCause, GsupClient, gsup, ipa};

/// libosmocore's ipa_id_req_msg[] (src/gsm/ipa.c), as osmo-hlr sends it on accept.
const ID_GET: [u8; 20] = [
    0, 17, 0xfe, 0x04, 0x01, 0x08, 0x01, 0x07, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x01, 0x05,
    0x01, 0x01, 0x01, 0x00,
];

fn read_frame(s: &mut TcpStream) -> ipa::Frame {
    let mut h = [0u8; 3];
    s.read_exact(&mut h).expect("header");
    let mut p = vec![0u8; usize::from(u16::from_be_bytes([h[0], h[1]]))];
    s.read_exact(&mut p).expect("payload");
    ipa::Frame {
        stream: h[2],
        payload: p,
    }
}

fn tlv(out: &mut Vec<u8>, t: u8, v: &[u8]) {
    out.push(t);
    out.push(v.len() as u8);
    out.extend_from_slice(v);
}

fn sai_result(imsi: &str, n: u8) -> Vec<u8> {
    let mut m = vec![gsup::MSGT_SEND_AUTH_INFO_RESULT];
    tlv(
        &mut m,
        gsup::IEI_IMSI,
        &gsup::encode_imsi(imsi).expect("imsi"),
    );
    for i in 0..n {
        let mut t = Vec::new();
        tlv(&mut t, gsup::IEI_RAND, &[i; 16]);
        tlv(&mut t, gsup::IEI_SRES, &[i; 4]);
        tlv(&mut t, gsup::IEI_KC, &[i; 8]);
        tlv(&mut t, gsup::IEI_IK, &[i; 16]);
        tlv(&mut t, gsup::IEI_CK, &[i; 16]);
        tlv(&mut t, gsup::IEI_AUTN, &[i; 16]);
        tlv(&mut t, gsup::IEI_RES, &[i; 8]);
        tlv(&mut m, gsup::IEI_AUTH_TUPLE, &t);
    }
    ipa::encode_osmo_frame(ipa::EXT_GSUP, &m).expect("frame")
}

/// Accepts one client, does the handshake and hands the socket to `script`.
fn fake_hlr(script: impl FnOnce(TcpStream) + Send + 'static) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.write_all(&ID_GET).expect("id get");
        let resp = read_frame(&mut s);
        assert_eq!(resp.stream, ipa::STREAM_CCM);
        assert_eq!(resp.payload[0], ipa::CCM_ID_RESP);
        let ids = ipa::parse_id_resp(&resp.payload[1..]).expect("id resp");
        assert!(
            ids.contains(&(ipa::IDTAG_SERNR, b"test-msc".to_vec())),
            "{ids:?}"
        );
        assert!(
            ids.contains(&(ipa::IDTAG_UNIT, b"0/0/0".to_vec())),
            "{ids:?}"
        );
        // every requested tag is answered
        assert_eq!(ids.len(), 8, "{ids:?}");
        script(s);
    });
    addr
}

fn client(addr: std::net::SocketAddr) -> GsupClient {
    GsupClient::connect_with(addr, "test-msc", Duration::from_secs(5)).expect("connect")
}

#[test]
fn handshake_ping_and_truncation() {
    let addr = fake_hlr(|mut s| {
        let req = read_frame(&mut s);
        assert_eq!(req.stream, ipa::STREAM_OSMO);
        assert_eq!(
            req.payload,
            [
                0x05, 0x08, 0x01, 0x08, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0xf1
            ]
        );
        // PING first: the client must PONG before the answer arrives.
        s.write_all(&[0, 1, 0xfe, 0x00]).expect("ping");
        let pong = read_frame(&mut s);
        assert_eq!((pong.stream, pong.payload), (0xfe, vec![0x01]));
        // An answer for another IMSI is ignored.
        s.write_all(&sai_result("999990000000001", 1))
            .expect("other");
        s.write_all(&sai_result("001010000000001", 5))
            .expect("result");

        let req = read_frame(&mut s);
        assert_eq!(req.payload[1], gsup::MSGT_SEND_AUTH_INFO_REQUEST);
        let mut err = vec![gsup::MSGT_SEND_AUTH_INFO_ERROR];
        tlv(
            &mut err,
            gsup::IEI_IMSI,
            &gsup::encode_imsi("001010000000002").expect("imsi"),
        );
        tlv(&mut err, gsup::IEI_CAUSE, &[0x11]);
        s.write_all(&ipa::encode_osmo_frame(ipa::EXT_GSUP, &err).expect("frame"))
            .expect("error");
        thread::sleep(Duration::from_millis(200));
    });
    let mut c = client(addr);
    let v = c.send_auth_info("001010000000001", 3).expect("vectors");
    assert_eq!(v.len(), 3);
    assert_eq!(v[2].rand, [2; 16]);
    assert_eq!(v[2].res.as_deref(), Some(&[2u8; 8][..]));
    let e = c
        .send_auth_info("001010000000002", 1)
        .expect_err("network failure");
    assert_eq!(e.gsup_cause(), Some(GsupCause::NETWORK_FAILURE));
}

#[test]
fn hostile_answer_is_an_error_and_poisons_the_connection() {
    let addr = fake_hlr(|mut s| {
        let _ = read_frame(&mut s);
        // AUTH_TUPLE claiming more bytes than present.
        let frame =
            ipa::encode_osmo_frame(ipa::EXT_GSUP, &[0x0a, 0x03, 0x30, 0x20, 0x10]).expect("frame");
        s.write_all(&frame).expect("garbage");
        thread::sleep(Duration::from_millis(200));
    });
    let mut c = client(addr);
    let e = c.send_auth_info("001010000000001", 1).expect_err("garbage");
    assert!(matches!(e, Error::Malformed { layer: "GSUP", .. }), "{e:?}");
    assert!(matches!(
        c.send_auth_info("001010000000001", 1),
        Err(Error::ConnectionClosed(_))
    ));
}

#[test]
fn silent_or_closing_servers_time_out_cleanly() {
    // Never sends ID_GET.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let t = thread::spawn(move || {
        let (_s, _) = l.accept().expect("accept");
        thread::sleep(Duration::from_millis(600));
    });
    let e = GsupClient::connect_with(addr, "x", Duration::from_millis(200)).expect_err("silent");
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    t.join().expect("join");

    // Closes after the handshake.
    let addr = fake_hlr(drop);
    let mut c = client(addr);
    let e = c.send_auth_info("001010000000001", 1).expect_err("closed");
    assert!(
        matches!(e, Error::ConnectionClosed(_) | Error::Io { .. }),
        "{e:?}"
    );
}
