//! The PKCS#11 provider against SoftHSM2, one token of its own per test
//! (`simforge_testkit::softhsm`): signatures on both curves checked by the software verifier,
//! keys generated and imported with the right attributes (and `pkcs11-tool` agreeing), the
//! vault's seal/unseal in the token, and whole downloads with DPauth and DPpb in the token.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::sync::Arc;

use simforge_crypto::{Curve, EcPrivateKey, Signer, SoftwareSigner, SystemRandom, verify};
use simforge_hsm::{Export, HsmError, HsmSigner, HsmVault, KeyKind, Pin, Token};
use simforge_smdp::{DpKey, ProfileState, SmdpKeys};
use simforge_testkit::Pair;
use simforge_testkit::lab::{crypto_curve, lab};
use simforge_testkit::profiles::iccid;
use simforge_testkit::softhsm::TestToken;
use simforge_vault::{MasterKey, Vault, VaultError, seal_check, verify_check};

fn open(t: &TestToken) -> Arc<Token> {
    Token::open(&t.module, &t.label, &Pin::from_file(&t.pin_file).unwrap()).unwrap()
}

fn kind(curve: Curve) -> KeyKind {
    match curve {
        Curve::NistP256 => KeyKind::EcP256,
        Curve::BrainpoolP256r1 => KeyKind::EcBrainpoolP256r1,
    }
}

#[test]
fn generated_keys_sign_on_both_curves_and_the_software_verifier_agrees() {
    let Some(t) = TestToken::new("generated_keys_sign_on_both_curves") else {
        return;
    };
    let token = open(&t);
    for curve in Curve::ALL {
        let label = format!("dpauth-{curve:?}");
        let info = token.generate(kind(curve), &label).unwrap();
        assert_eq!(info.class, "private-key");
        assert_eq!(info.curve, Some(curve));
        assert_eq!(
            (info.sensitive, info.extractable),
            (Some(true), Some(false))
        );
        let signer = HsmSigner::open(Arc::clone(&token), &label).unwrap();
        assert_eq!(signer.curve(), curve);
        let pk = signer.public_key();
        assert_eq!(pk.len(), 65);
        for msg in [&b""[..], b"serverSigned1", &[0xA5; 5000]] {
            let sig = signer.sign(msg).unwrap();
            verify(curve, &pk, msg, &sig).unwrap();
            assert!(verify(curve, &pk, b"another message", &sig).is_err());
        }
        assert!(!format!("{signer:?}").contains(&t.pin));
    }
    // A label that is taken is refused, one that is absent is named.
    assert!(matches!(
        token.generate(KeyKind::EcP256, "dpauth-NistP256"),
        Err(HsmError::Exists(_))
    ));
    let e = HsmSigner::open(Arc::clone(&token), "nope").unwrap_err();
    assert!(matches!(e, HsmError::NoKey { .. }), "{e}");
}

#[test]
fn an_imported_key_is_the_same_key_and_cannot_be_read_back() {
    let Some(t) = TestToken::new("an_imported_key_is_the_same_key") else {
        return;
    };
    let token = open(&t);
    for curve in Curve::ALL {
        let soft = SoftwareSigner::generate(curve, &SystemRandom::new()).unwrap();
        // The software signer does not hand out its scalar: make the key from a PKI key.
        let pki_key = simforge_pki::PrivateKey::generate(match curve {
            Curve::NistP256 => simforge_pki::Curve::P256,
            Curve::BrainpoolP256r1 => simforge_pki::Curve::BrainpoolP256r1,
        })
        .unwrap();
        let key = EcPrivateKey::from_pkcs8_der(&pki_key.to_pkcs8_der().unwrap()).unwrap();
        let label = format!("imported-{curve:?}");
        let info = token.import_ec(&key, &label).unwrap();
        assert_eq!(
            (info.sensitive, info.extractable),
            (Some(true), Some(false))
        );
        let signer = HsmSigner::open(Arc::clone(&token), &label).unwrap();
        assert_eq!(signer.public_key(), pki_key.public_key_sec1());
        let sig = signer.sign(b"hello").unwrap();
        verify(curve, &pki_key.public_key_sec1(), b"hello", &sig).unwrap();
        assert!(verify(curve, &soft.public_key(), b"hello", &sig).is_err());
    }
}

#[test]
fn extractable_keys_are_refused_for_signing_and_sealing() {
    let Some(t) = TestToken::new("extractable_keys_are_refused") else {
        return;
    };
    let token = open(&t);
    token
        .generate_with(KeyKind::EcP256, "loose-ec", Export::Allowed)
        .unwrap();
    token
        .generate_with(KeyKind::Aes256, "loose-aes", Export::Allowed)
        .unwrap();
    let e = HsmSigner::open(Arc::clone(&token), "loose-ec").unwrap_err();
    assert!(matches!(e, HsmError::BadKey { .. }), "{e}");
    let e = HsmVault::open(Arc::clone(&token), "loose-aes").unwrap_err();
    assert!(matches!(e, HsmError::BadKey { .. }), "{e}");
    // An AES key is no signing key, an EC key no master key.
    token.generate(KeyKind::Aes256, "aes").unwrap();
    token.generate(KeyKind::EcP256, "ec").unwrap();
    assert!(HsmSigner::open(Arc::clone(&token), "aes").is_err());
    assert!(HsmVault::open(Arc::clone(&token), "ec").is_err());
}

#[test]
fn the_vault_seals_in_the_token_and_binds_the_context() {
    let Some(t) = TestToken::new("the_vault_seals_in_the_token") else {
        return;
    };
    let token = open(&t);
    token.generate(KeyKind::Aes256, "master").unwrap();
    let vault = HsmVault::open(Arc::clone(&token), "master").unwrap();
    let sealed = vault
        .seal("op:1:transport:135", b"sixteen byte key")
        .unwrap();
    assert_eq!(sealed[0], simforge_hsm::SEALED_VERSION);
    assert_eq!(sealed.len(), 1 + 12 + 16 + 16);
    assert_eq!(
        &vault.unseal("op:1:transport:135", &sealed).unwrap()[..],
        b"sixteen byte key"
    );
    // Sealing twice gives two values (a fresh IV each time).
    assert_ne!(
        sealed,
        vault
            .seal("op:1:transport:135", b"sixteen byte key")
            .unwrap()
    );
    assert!(matches!(
        vault.unseal("op:2:transport:135", &sealed),
        Err(VaultError::Unseal)
    ));
    let mut tampered = sealed.clone();
    tampered[20] ^= 1;
    assert!(matches!(
        vault.unseal("op:1:transport:135", &tampered),
        Err(VaultError::Unseal)
    ));
    assert!(matches!(
        vault.unseal("x", &sealed[..20]),
        Err(VaultError::Unseal)
    ));
    // The two vaults never take each other's values.
    let soft = MasterKey::from_bytes([7; 32]);
    let soft_sealed = soft.seal("op:1:transport:135", b"k").unwrap();
    assert!(matches!(
        vault.unseal("op:1:transport:135", &soft_sealed),
        Err(VaultError::Unseal)
    ));
    assert!(soft.unseal("op:1:transport:135", &sealed).is_err());
    // Another key in the token: the check value tells them apart, and so does the fingerprint,
    // which is stable for one key.
    token.generate(KeyKind::Aes256, "other").unwrap();
    let other = HsmVault::open(Arc::clone(&token), "other").unwrap();
    let check = seal_check(&vault).unwrap();
    verify_check(&vault, &check).unwrap();
    assert!(verify_check(&other, &check).is_err());
    assert_ne!(vault.fingerprint(), other.fingerprint());
    assert_eq!(
        vault.fingerprint(),
        HsmVault::open(Arc::clone(&token), "master")
            .unwrap()
            .fingerprint()
    );
    assert_eq!(vault.fingerprint().len(), 16);
}

#[test]
fn a_wrong_pin_and_a_loose_pin_file_are_refused() {
    let Some(t) = TestToken::new("a_wrong_pin_is_refused") else {
        return;
    };
    // A first login of this process may be alive already (another test's token): open a
    // token of its own with a wrong PIN.
    let e = Token::open(&t.module, &t.label, &Pin::new("000000")).unwrap_err();
    assert!(e.to_string().contains("C_Login"), "{e}");
    assert!(!e.to_string().contains("000000"), "{e}");
    let e = Token::open(&t.module, "no-such-token", &Pin::new(&t.pin)).unwrap_err();
    assert!(matches!(e, HsmError::NoToken(_)), "{e}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&t.pin_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Pin::from_file(&t.pin_file).unwrap_err();
        assert!(e.to_string().contains("chmod 600"), "{e}");
        assert!(!e.to_string().contains(&t.pin), "{e}");
    }
}

#[test]
fn signing_from_many_threads_at_once() {
    let Some(t) = TestToken::new("signing_from_many_threads_at_once") else {
        return;
    };
    let token = open(&t);
    token.generate(KeyKind::EcP256, "k").unwrap();
    let signer = Arc::new(HsmSigner::open(Arc::clone(&token), "k").unwrap());
    let pk = signer.public_key();
    std::thread::scope(|s| {
        for i in 0..8u8 {
            let signer = Arc::clone(&signer);
            let pk = pk.clone();
            s.spawn(move || {
                for j in 0..20u8 {
                    let msg = [i, j];
                    verify(Curve::NistP256, &pk, &msg, &signer.sign(&msg).unwrap()).unwrap();
                }
            });
        }
    });
}

#[test]
fn pkcs11_tool_shows_the_keys_sensitive_and_never_extractable() {
    let Some(t) = TestToken::new("pkcs11_tool_shows_the_keys") else {
        return;
    };
    let token = open(&t);
    token.generate(KeyKind::EcP256, "dpauth").unwrap();
    token.generate(KeyKind::EcBrainpoolP256r1, "dppb").unwrap();
    token.generate(KeyKind::Aes256, "master").unwrap();
    let Some(out) = t.pkcs11_tool(&["--list-objects"]) else {
        return;
    };
    // pkcs11-tool prints one block per object: a header line, then indented attributes.
    let mut blocks: Vec<String> = Vec::new();
    for line in out.lines() {
        if line.starts_with(char::is_whitespace) {
            if let Some(b) = blocks.last_mut() {
                b.push_str(line);
                b.push('\n');
            }
        } else {
            blocks.push(format!("{line}\n"));
        }
    }
    blocks.retain(|b| b.starts_with("Private Key Object") || b.starts_with("Secret Key Object"));
    assert_eq!(blocks.len(), 3, "{out}");
    for label in ["dpauth", "dppb", "master"] {
        let block = blocks
            .iter()
            .find(|b| b.contains(&format!("label:      {label}")))
            .unwrap_or_else(|| panic!("{label} not listed: {out}"));
        let access = block
            .lines()
            .find(|l| l.trim_start().starts_with("Access:"))
            .unwrap_or_else(|| panic!("no Access line: {block}"));
        assert!(access.contains("sensitive"), "{block}");
        assert!(access.contains("never extractable"), "{block}");
        // Each key does one job: signing, or sealing (encrypt and decrypt).
        let usage = block
            .lines()
            .find(|l| l.trim_start().starts_with("Usage:"))
            .unwrap_or_else(|| panic!("no Usage line: {block}"));
        let want = if label == "master" {
            "encrypt, decrypt"
        } else {
            "sign"
        };
        assert_eq!(
            usage.trim_start().trim_start_matches("Usage:").trim(),
            want,
            "{block}"
        );
    }
    assert!(!out.contains(&t.pin));
}

/// SGP.22 end to end with DPauth (serverSigned1) and DPpb (smdpSigned2, the BPP) signing in
/// the token: the lab PKI's keys are imported into it, and the SM-DP+ is given only the
/// token's signers.
#[test]
fn a_whole_download_with_dpauth_and_dppb_in_the_hsm_on_both_curves() {
    let Some(t) = TestToken::new("a_whole_download_with_dpauth_and_dppb_in_the_hsm") else {
        return;
    };
    let token = open(&t);
    for curve in [
        simforge_pki::Curve::P256,
        simforge_pki::Curve::BrainpoolP256r1,
    ] {
        let pki = lab(curve, 1);
        let mut keys = SmdpKeys::default();
        keys.ci.add(pki.ci.clone()).unwrap();
        for (role, issued, list) in [
            ("dpauth", &pki.smdp.auth, &mut keys.auth),
            ("dppb", &pki.smdp.pb, &mut keys.pb),
        ] {
            let label = format!("{role}-{curve:?}");
            let key = EcPrivateKey::from_pkcs8_der(&issued.key.to_pkcs8_der().unwrap()).unwrap();
            token.import_ec(&key, &label).unwrap();
            let signer = HsmSigner::open(Arc::clone(&token), &label).unwrap();
            assert_eq!(signer.curve(), crypto_curve(curve));
            list.push(DpKey::with_signer(issued.cert.der(), Arc::new(signer)).unwrap());
        }
        let mut pair = Pair::with_keys(pki, keys, |_| {});
        let id = iccid(1);
        pair.add_profiles(&[&id], false);
        let order = pair.order(Some(&id), None, None).unwrap();
        let out = pair
            .drive_download(0, &order.activation_code(), None)
            .unwrap();
        assert_eq!(out.iccid, id);
        assert_eq!(pair.profile(&id).unwrap().state, ProfileState::Installed);
    }
}

mod transport {
    use std::sync::Arc;

    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use simforge_hsm::{HsmError, HsmTransportKey, KeyKind};
    use simforge_sim::{
        BatchCipher, BatchPlan, BlockCipher, CardFormat, CardMaker, CardProfile, Column,
        ElectricalFile, OperatorProfile, OperatorVariant, OrderSpec, OutFile, Plmn, Start,
        TransportKey, kcv, run,
    };
    use simforge_testkit::softhsm::TestToken;

    const TRANSPORT: &str = "8f3c2a1b0d9e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f801928374";

    fn plan(quantity: u64) -> BatchPlan {
        let op = OperatorProfile {
            name: "lab".into(),
            plmn: Plmn::new("001", "01").unwrap(),
            iccid_prefix: "8988211".into(),
            iccid_len: 20,
            spn: "Lab".into(),
        };
        let profile = CardProfile {
            ota_key_sets: 1,
            ..CardProfile::default()
        };
        OrderSpec {
            quantity,
            iccid_start: Start::Next,
            imsi_start: Start::Next,
            msisdn_start: None,
            kid: 1,
            opid: 1,
            profile,
            name: Some("hsm".into()),
        }
        .plan(&op, "8988211000000000001", "001010000000001", "x")
        .unwrap()
    }

    /// The `.out` and electrical files of `plan` with `transport`, one thread, a fixed seed.
    fn generate(plan: &BatchPlan, transport: Arc<dyn BatchCipher>) -> (String, String) {
        let variant = OperatorVariant::from_hex("cdc202d5123e20f62b6d676ac72cb318").unwrap();
        let maker = CardMaker::new(plan, &variant).unwrap();
        let mut columns = Column::defaults(1);
        columns.push(Column::Eopc);
        let out = OutFile::new(plan, columns, transport);
        let elec = ElectricalFile::new(plan);
        let formats: Vec<&dyn CardFormat> = vec![&out, &elec];
        let mut sinks = vec![Vec::new(), Vec::new()];
        run(
            &maker,
            plan.quantity,
            &formats,
            &mut sinks,
            1,
            || Ok(ChaCha20Rng::seed_from_u64(42)),
            |_| {},
        )
        .unwrap();
        let [o, e] = <[Vec<u8>; 2]>::try_from(sinks).unwrap();
        (String::from_utf8(o).unwrap(), String::from_utf8(e).unwrap())
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The check: a batch whose EKI column the HSM computed decrypts, with the
    /// transport key outside the HSM (the operator's copy), to the electrical file's Ki; and
    /// the whole `.out` is the one the software key writes.
    #[test]
    fn the_eki_column_computed_in_the_hsm_decrypts_to_the_electrical_files_ki() {
        let Some(t) = TestToken::new("the_eki_column_computed_in_the_hsm") else {
            return;
        };
        let token = super::open(&t);
        let bytes = unhex(TRANSPORT);
        let info = token.import_aes(&bytes, "transport-op1-kid1").unwrap();
        assert_eq!(
            (info.sensitive, info.extractable),
            (Some(true), Some(false))
        );
        let hsm =
            Arc::new(HsmTransportKey::open(Arc::clone(&token), "transport-op1-kid1").unwrap());
        let soft = TransportKey::from_bytes(&bytes).unwrap();
        assert_eq!(hsm.check_value(), kcv(&soft));

        // Three chunks and a bit (the pipeline's chunk is 2,048 cards): one C_Encrypt each.
        let plan = plan(7000);
        let (out, elec) = generate(&plan, hsm);
        let (soft_out, soft_elec) =
            generate(&plan, Arc::new(TransportKey::from_bytes(&bytes).unwrap()));
        assert_eq!(elec, soft_elec);
        assert_eq!(
            out, soft_out,
            "the HSM's .out is the software key's, byte for byte"
        );

        // Independently: EKI decrypted with the operator's copy of the key is the card's Ki.
        let names = out
            .lines()
            .find_map(|l| l.strip_prefix("var_out:"))
            .unwrap()
            .split(' ')
            .collect::<Vec<_>>();
        let eki = names.iter().position(|n| *n == "EKI").unwrap();
        let imsi = names.iter().position(|n| *n == "IMSI").unwrap();
        let records: Vec<Vec<&str>> = out
            .lines()
            .skip_while(|l| !l.starts_with("var_out:"))
            .skip(1)
            .map(|l| l.split(' ').collect())
            .collect();
        let mut elec_lines = elec.lines();
        let head: Vec<&str> = elec_lines.next().unwrap().split(',').collect();
        let ki = head.iter().position(|n| *n == "KI").unwrap();
        let elec_imsi = head.iter().position(|n| *n == "IMSI").unwrap();
        let elec_records: Vec<Vec<&str>> = elec_lines.map(|l| l.split(',').collect()).collect();
        assert_eq!(records.len(), 7000);
        assert_eq!(elec_records.len(), 7000);
        for (r, e) in records.iter().zip(&elec_records) {
            let mut block: [u8; 16] = unhex(r[eki]).try_into().unwrap();
            soft.decrypt_block(&mut block);
            assert_eq!(hex(&block), e[ki].to_ascii_lowercase());
            // The same card: EF.IMSI in the electrical file holds the IMSI's digits.
            assert!(!r[imsi].is_empty() && !e[elec_imsi].is_empty());
        }
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn a_transport_key_must_be_a_sensitive_aes_key() {
        let Some(t) = TestToken::new("a_transport_key_must_be_a_sensitive_aes_key") else {
            return;
        };
        let token = super::open(&t);
        assert!(matches!(
            token.import_aes(&[1; 15], "short"),
            Err(HsmError::BadKey { .. })
        ));
        token
            .generate_with(KeyKind::Aes256, "loose", simforge_hsm::Export::Allowed)
            .unwrap();
        token.generate(KeyKind::EcP256, "ec").unwrap();
        for label in ["loose", "ec"] {
            let e = HsmTransportKey::open(Arc::clone(&token), label).unwrap_err();
            assert!(
                matches!(e, HsmError::BadKey { .. } | HsmError::NoKey { .. }),
                "{e}"
            );
        }
    }
}

/// The DPtls key in the token signs a real TLS handshake (rustls on both ends, in memory): the
/// client trusts only the lab CI and checks the SM-DP+'s name.
#[test]
fn a_tls_handshake_signed_by_the_dptls_key_in_the_hsm() {
    use rustls::pki_types::{CertificateDer, ServerName};
    use rustls::server::{ClientHello, ResolvesServerCert};
    use rustls::sign::CertifiedKey;

    #[derive(Debug)]
    struct One(Arc<CertifiedKey>);
    impl ResolvesServerCert for One {
        fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
            Some(Arc::clone(&self.0))
        }
    }

    let Some(t) = TestToken::new("a_tls_handshake_signed_by_the_dptls_key_in_the_hsm") else {
        return;
    };
    let token = open(&t);
    let pki = lab(simforge_pki::Curve::P256, 1);
    let key = EcPrivateKey::from_pkcs8_der(&pki.smdp.tls.key.to_pkcs8_der().unwrap()).unwrap();
    token.import_ec(&key, "dptls").unwrap();
    let signer = Arc::new(HsmSigner::open(Arc::clone(&token), "dptls").unwrap());
    let tls_key = simforge_hsm::HsmTlsKey::new(signer).unwrap();
    let chain = vec![
        CertificateDer::from(pki.smdp.tls.cert.der().to_vec()),
        CertificateDer::from(pki.ci.der().to_vec()),
    ];
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(One(Arc::new(CertifiedKey::new(
            chain,
            Arc::new(tls_key),
        )))));
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(pki.ci.der().to_vec()))
        .unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(simforge_testkit::lab::FQDN).unwrap();
    let mut c = rustls::ClientConnection::new(Arc::new(client), name).unwrap();
    let mut s = rustls::ServerConnection::new(Arc::new(server)).unwrap();
    for _ in 0..10 {
        let mut buf = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        s.read_tls(&mut buf.as_slice()).unwrap();
        s.process_new_packets().unwrap();
        let mut buf = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut buf).unwrap();
        }
        c.read_tls(&mut buf.as_slice()).unwrap();
        c.process_new_packets().unwrap();
        if !c.is_handshaking() && !s.is_handshaking() {
            break;
        }
    }
    assert!(
        !c.is_handshaking() && !s.is_handshaking(),
        "handshake did not finish"
    );
    // A brainpool key is no TLS key.
    token.generate(KeyKind::EcBrainpoolP256r1, "bp").unwrap();
    let bp = Arc::new(HsmSigner::open(Arc::clone(&token), "bp").unwrap());
    assert!(simforge_hsm::HsmTlsKey::new(bp).is_err());
}

/// A running server whose token loses its login (every session closed under it, as a token
/// reset or a network HSM's reconnection does) keeps signing and unsealing: the next
/// operation logs in again with the PIN and runs once more.
#[test]
fn the_token_losing_its_login_logs_in_again() {
    let Some(t) = TestToken::new("the_token_losing_its_login") else {
        return;
    };
    let token = open(&t);
    token.generate(KeyKind::EcP256, "dpauth").unwrap();
    token.generate(KeyKind::Aes256, "master").unwrap();
    let signer = HsmSigner::open(Arc::clone(&token), "dpauth").unwrap();
    let vault = HsmVault::open(Arc::clone(&token), "master").unwrap();
    let sealed = vault.seal("ctx", b"secret").unwrap();
    for round in 0..3 {
        token.logout().unwrap();
        let msg = format!("after reset {round}");
        let sig = signer.sign(msg.as_bytes()).unwrap();
        verify(Curve::NistP256, &signer.public_key(), msg.as_bytes(), &sig).unwrap();
        token.logout().unwrap();
        assert_eq!(&vault.unseal("ctx", &sealed).unwrap()[..], b"secret");
    }
}
