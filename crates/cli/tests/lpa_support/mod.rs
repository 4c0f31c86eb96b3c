//! Helpers shared by the end-to-end eSIM tests (in-process, PC/SC, stdio): a `simforge serve
//! --demo` on a given lab PKI, the subscriber data of the demo batch, and the USIM check against
//! MILENAGE and osmo-hlr.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{Lab, Server, file, free_port, unhex};

/// A running `simforge serve --demo` and what it printed.
pub struct Demo {
    pub server: Server,
    /// The released demo profile's activation code (`LPA:1$localhost:port$…`).
    pub activation_code: String,
    pub iccid: String,
    pub batch_dir: PathBuf,
    /// The PEM bundle to trust for the SM-DP+ TLS.
    pub ca: PathBuf,
    pub stderr: PathBuf,
}

/// Starts `simforge serve --demo` with the lab PKI `pki` (`simforge pki init --dir pki
/// --fqdn localhost`) and waits until it accepts TLS.
pub fn serve_demo(lab: &Lab, pki: &Path) -> Demo {
    let port = free_port();
    let stderr = lab.path().join("serve.stderr");
    let mut server = Server::spawn(
        lab.cmd()
            .args([
                "--json",
                "serve",
                "--public-metrics",
                "--demo",
                "--demo-profiles",
                "2",
                "--pki",
            ])
            .arg(pki)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("SIMFORGE_LOG", "info"),
        &stderr,
    );
    let demo = server.json_with("demo", &stderr)["demo"].clone();
    let listening = server.json_with("listening", &stderr);
    let ca = PathBuf::from(listening["ca"].as_str().unwrap());
    let address = listening["smdpAddress"].as_str().unwrap().to_owned();
    // Wait until the server accepts TLS.
    let client = crate::common::https(&ca);
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("https://{address}/metrics"))
        .send()
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "server at {address} never accepted TLS; stderr:\n{}",
            std::fs::read_to_string(&stderr).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Demo {
        server,
        activation_code: demo["activationCode"].as_str().unwrap().to_owned(),
        iccid: demo["iccid"].as_str().unwrap().to_owned(),
        batch_dir: PathBuf::from(demo["batchDir"].as_str().unwrap()),
        ca,
        stderr,
    }
}

/// The card side of one subscriber, from the batch's electrical file.
pub struct Subscriber {
    pub imsi_ef: Vec<u8>,
    pub ki: [u8; 16],
    pub opc: [u8; 16],
}

pub fn subscriber(batch_dir: &Path, iccid: &str) -> Subscriber {
    let want = simforge_sim::Iccid::parse(iccid).unwrap().to_ef();
    let text = std::fs::read_to_string(file(batch_dir, ".elec.csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| head.iter().position(|h| *h == n).unwrap();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        if unhex(f[col("ICCID")]) == want {
            return Subscriber {
                imsi_ef: unhex(f[col("IMSI")]),
                ki: unhex(f[col("KI")]).try_into().unwrap(),
                opc: unhex(f[col("OPC")]).try_into().unwrap(),
            };
        }
    }
    panic!("ICCID {iccid} not in the batch's electrical file");
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// SELECT ADF.USIM, then AUTHENTICATE (3G context) through `transmit`, following `61xx`;
/// returns (RES, CK, IK).
pub fn usim_authenticate(
    transmit: &mut dyn FnMut(&[u8]) -> Vec<u8>,
    rand: &[u8; 16],
    autn: &[u8; 16],
) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let r = transmit(&[
        0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02,
    ]);
    assert_eq!(r, [0x90, 0x00], "SELECT ADF.USIM");
    let mut apdu = vec![0x00, 0x88, 0x00, 0x81, 0x22, 0x10];
    apdu.extend_from_slice(rand);
    apdu.push(0x10);
    apdu.extend_from_slice(autn);
    apdu.push(0x00);
    let mut r = transmit(&apdu);
    if r.len() == 2 && r[0] == 0x61 {
        r = transmit(&[0x00, 0xC0, 0x00, 0x00, r[1]]);
    }
    assert_eq!(&r[r.len() - 2..], [0x90, 0x00], "AUTHENTICATE: {}", hex(&r));
    assert_eq!(r[0], 0xDB, "successful 3G authentication: {}", hex(&r));
    let res_len = usize::from(r[1]);
    let res = r[2..2 + res_len].to_vec();
    let ck = r[3 + res_len..3 + res_len + 16].to_vec();
    let ik = r[4 + res_len + 16..4 + res_len + 32].to_vec();
    (res, ck, ik)
}

/// READ BINARY of EF.IMSI (6F07) under ADF.USIM through `transmit`.
pub fn read_imsi(transmit: &mut dyn FnMut(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let r = transmit(&[
        0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02,
    ]);
    assert_eq!(r, [0x90, 0x00], "SELECT ADF.USIM");
    let r = transmit(&[0x00, 0xA4, 0x00, 0x0C, 0x02, 0x6F, 0x07]);
    assert_eq!(r, [0x90, 0x00], "SELECT EF.IMSI");
    let r = transmit(&[0x00, 0xB0, 0x00, 0x00, 0x09]);
    assert_eq!(&r[r.len() - 2..], [0x90, 0x00], "READ BINARY: {}", hex(&r));
    r[..r.len() - 2].to_vec()
}

/// Checks the USIM against MILENAGE from the batch's K/OPc, then (if osmo-hlr is installed)
/// against osmo-hlr's vectors over GSUP for the same subscriber.
pub fn check_usim_against_batch_and_hlr(
    lab: &Lab,
    sub: &Subscriber,
    transmit: &mut dyn FnMut(&[u8]) -> Vec<u8>,
) {
    use simforge_gsup::{HlrDatabase, OsmoHlr};
    assert_eq!(read_imsi(transmit), sub.imsi_ef, "EF.IMSI is the batch's");
    let k = simforge_aka::K::new_128(sub.ki);
    let alg = simforge_aka::Algorithm::milenage(simforge_aka::Opc::from_bytes(sub.opc));
    let rand = [0x5A; 16];
    // SQN 34: IND 2, SEQ 1 (osmo-hlr's own vectors below use IND 1).
    let av = alg
        .generate_vector(&k, &rand, &simforge_aka::sqn_from_u64(34), &[0x80, 0x00])
        .unwrap();
    let autn: [u8; 16] = av.autn.as_ref().try_into().unwrap();
    let (res, ck, ik) = usim_authenticate(transmit, &rand, &autn);
    assert_eq!(res.as_slice(), av.xres.as_ref());
    assert_eq!(ck.as_slice(), av.ck.as_bytes());
    assert_eq!(ik.as_slice(), av.ik.as_bytes());

    if !OsmoHlr::available() {
        println!("skipped (osmo-hlr part): osmo-hlr not installed");
        return;
    }
    let plmn = simforge_sim::Plmn::new("001", "01").unwrap();
    let imsi = simforge_sim::Imsi::from_ef(&sub.imsi_ef, &plmn)
        .unwrap()
        .to_string();
    let hlr_dir = lab.path().join("hlr");
    std::fs::create_dir_all(&hlr_dir).unwrap();
    let hlr = OsmoHlr::start_with(&hlr_dir, HlrDatabase::InMemory).unwrap();
    hlr.vty()
        .unwrap()
        .run_script(&format!(
            "subscriber imsi {imsi} create\nsubscriber imsi {imsi} update aud3g milenage k {} opc {}\n",
            hex(&sub.ki),
            hex(&sub.opc)
        ))
        .unwrap();
    let tuples = hlr.gsup().unwrap().send_auth_info(&imsi, 2).unwrap();
    assert!(!tuples.is_empty(), "{}", hlr.log_tail());
    for t in &tuples {
        let (res, ck, ik) = usim_authenticate(transmit, &t.rand, &t.autn.unwrap());
        assert_eq!(Some(res), t.res, "RES osmo-hlr expects");
        assert_eq!(ck.as_slice(), t.ck.unwrap().as_slice(), "CK");
        assert_eq!(ik.as_slice(), t.ik.unwrap().as_slice(), "IK");
    }
    println!(
        "USIM AUTHENTICATE agrees with {} osmo-hlr vector(s)",
        tuples.len()
    );
}
