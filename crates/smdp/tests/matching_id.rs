//! Issue 16 item 4: matchingIds an operator chooses in ES2+.ConfirmOrder must be hard to
//! guess (SGP.22 §5.3.2: a refused one is 8.2.6 / 3.8), generated ones have 100 bits, and
//! ConfirmOrder does not tell an operator that another tenant uses a matchingId.

use simforge_asn1::json::{ConfirmOrderRequest, DownloadOrderRequest, RequestHeader};
use simforge_asn1::{MatchingId, StatusCode};
use simforge_smdp::es2::{check_matching_id_entropy, matching_id_entropy_bits};
use simforge_smdp::{MemoryStore, NewProfile, ProfileMetadata, Smdp};
use simforge_testkit::prelude::*;
use zeroize::Zeroizing;

fn header(op: i64) -> RequestHeader {
    RequestHeader {
        function_requester_identifier: format!("op{op}"),
        function_call_identifier: "call-1".into(),
    }
}

async fn add(smdp: &Smdp<MemoryStore>, op: i64, iccid: &str) {
    smdp.add_profile(
        op,
        NewProfile {
            iccid: iccid.parse().expect("iccid"),
            profile_type: "ts48".into(),
            metadata: ProfileMetadata {
                service_provider_name: "Simforge".into(),
                profile_name: "Test profile".into(),
                profile_class: 2,
                notification_address: Some(FQDN.into()),
            },
            package: Zeroizing::new(synthetic_package()),
            reuse_on_delete: true,
            radio_access: Vec::new(),
        },
        NOW,
    )
    .await
    .expect("add profile");
}

/// DownloadOrder then ConfirmOrder of `op`'s `iccid` with `matching_id` (None: generated).
async fn confirm(
    smdp: &Smdp<MemoryStore>,
    op: i64,
    iccid: &str,
    matching_id: Option<&str>,
) -> Result<MatchingId, StatusCode> {
    smdp.download_order(
        op,
        &DownloadOrderRequest {
            header: header(op),
            eid: None,
            iccid: Some(iccid.into()),
            profile_type: None,
        },
        NOW,
    )
    .await
    .expect("download order");
    smdp.confirm_order(
        op,
        &ConfirmOrderRequest {
            header: header(op),
            iccid: iccid.parse().expect("iccid"),
            eid: None,
            matching_id: matching_id.map(|m| MatchingId::parse(m).expect("syntax")),
            confirmation_code: None,
            smds_address: None,
            release_flag: true,
        },
        NOW,
    )
    .await
    .map(|(r, _)| r.matching_id.expect("matchingId"))
    .map_err(|e| e.status_code().expect("a protocol error"))
}

/// One operator-chosen matchingId against the default minimum (64 bits).
fn check(input: &str, accepted: bool) {
    let m = MatchingId::parse(input).expect("syntax");
    let r = check_matching_id_entropy(&m, 64);
    assert_eq!(
        r.is_ok(),
        accepted,
        "{input}: estimated {:.1} bits, {r:?}",
        matching_id_entropy_bits(input)
    );
    if let Err(e) = r {
        assert_eq!(e.status_code(), Some(StatusCode::MATCHING_ID_REFUSED));
    }
}

#[test]
fn operator_chosen_matching_ids_need_64_bits() {
    // The example, and other guessable forms.
    check("ORDER1", false);
    check("ORDER-000000000001", false);
    check("ORDER1ORDER1ORDER1ORDER1", false);
    check("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false);
    check("ABCDEFGHIJKLMNOPQRSTUVWXYZ", false);
    check("12345678901234567890", false);
    check("2026120700000001", false);
    check("X7K2M", false);
    // Random forms of at least 64 bits: 13 of A-Z0-9 (67 bits), 24 digits (75 bits), the
    // SGP.22 example form (5-character groups), 22 hex digits.
    check("Q8ZK3VH7MW2RT", true);
    check("739150284639172058364917", true);
    check("04386-AGYFT-A74Y8-3F815", true);
    check("9F3A7C1E5B2D8F4A6C0E9B", true);
}

#[tokio::test]
async fn confirm_order_refuses_a_guessable_matching_id() {
    let pki = lab(simforge_pki::Curve::P256, 4);
    let smdp = service(&[&pki]);
    add(&smdp, 1, "8949449999999990023").await;
    // Before: accepted, and downloadable with it.
    assert_eq!(
        confirm(&smdp, 1, "8949449999999990023", Some("ORDER1")).await,
        Err(StatusCode::MATCHING_ID_REFUSED)
    );
    // A random one is accepted.
    add(&smdp, 1, "8949449999999990031").await;
    let m = confirm(&smdp, 1, "8949449999999990031", Some("Q8ZK3-VH7MW-2RT4P"))
        .await
        .expect("accepted");
    assert_eq!(m.as_str(), "Q8ZK3-VH7MW-2RT4P");
}

#[tokio::test]
async fn generated_matching_ids_have_100_bits() {
    let pki = lab(simforge_pki::Curve::P256, 4);
    let smdp = service(&[&pki]);
    let mut seen = std::collections::HashSet::new();
    for i in 0..16 {
        let iccid = format!("89494499999999900{i:02}");
        add(&smdp, 1, &iccid).await;
        let m = confirm(&smdp, 1, &iccid, None).await.expect("generated");
        // Four groups of five characters of a 32-letter alphabet without I, O, 0, 1.
        let groups: Vec<&str> = m.as_str().split('-').collect();
        assert_eq!(groups.len(), 4, "{m:?}");
        for g in groups {
            assert_eq!(g.len(), 5, "{m:?}");
            assert!(
                g.bytes()
                    .all(|b| b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789".contains(&b)),
                "{m:?}"
            );
        }
        assert!(seen.insert(m.as_str().to_owned()));
        // What an operator could reuse passes the operator minimum.
        check_matching_id_entropy(&m, 64).expect("generated ids pass the minimum");
    }
}

#[tokio::test]
async fn another_tenants_matching_id_is_refused_not_conflicting() {
    let pki = lab(simforge_pki::Curve::P256, 4);
    let smdp = service(&[&pki]);
    add(&smdp, 1, "8949449999999990023").await;
    add(&smdp, 1, "8949449999999990031").await;
    add(&smdp, 2, "8949449999999990049").await;
    let m = "Q8ZK3-VH7MW-2RT4P";
    confirm(&smdp, 1, "8949449999999990023", Some(m))
        .await
        .expect("operator 1 takes it");
    // Operator 2 gets the answer any refused matchingId gets (before: 8.2.6/3.3
    // "conflicting", which told it operator 1 uses the id).
    assert_eq!(
        confirm(&smdp, 2, "8949449999999990049", Some(m)).await,
        Err(StatusCode::MATCHING_ID_REFUSED)
    );
    // Its own conflict is still reported as one.
    assert_eq!(
        confirm(&smdp, 1, "8949449999999990031", Some(m)).await,
        Err(StatusCode::MATCHING_ID_CONFLICT)
    );
}
