//! ES2+.ConfirmOrder with `smdsAddress` (SGP.22 §5.3.2): the event it asks for is registered
//! for one EID, so the EID becomes mandatory (8.1.1 / 2.2 without it, from the request or
//! the order).

use simforge_asn1::json::{ConfirmOrderRequest, DownloadOrderRequest, RequestHeader};
use simforge_asn1::{Eid, StatusCode};
use simforge_smdp::{MemoryStore, NewProfile, ProfileMetadata, Smdp};
use simforge_testkit::prelude::*;
use zeroize::Zeroizing;

fn header() -> RequestHeader {
    RequestHeader {
        function_requester_identifier: "op1".into(),
        function_call_identifier: "call-1".into(),
    }
}

async fn ordered(smdp: &Smdp<MemoryStore>, iccid: &str, eid: Option<Eid>) {
    smdp.add_profile(
        1,
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
    smdp.download_order(
        1,
        &DownloadOrderRequest {
            header: header(),
            eid,
            iccid: Some(iccid.into()),
            profile_type: None,
        },
        NOW,
    )
    .await
    .expect("download order");
}

async fn confirm(
    smdp: &Smdp<MemoryStore>,
    iccid: &str,
    eid: Option<Eid>,
) -> Result<(), StatusCode> {
    smdp.confirm_order(
        1,
        &ConfirmOrderRequest {
            header: header(),
            iccid: iccid.parse().expect("iccid"),
            eid,
            matching_id: None,
            confirmation_code: None,
            smds_address: Some("smds.example.com".into()),
            release_flag: true,
        },
        NOW,
    )
    .await
    .map(|_| ())
    .map_err(|e| e.status_code().expect("a protocol error"))
}

#[tokio::test]
async fn confirm_order_with_an_smds_address_needs_an_eid() {
    let pki = lab(simforge_pki::Curve::P256, 1);
    let smdp = service(&[&pki]);
    let eid = Eid::parse(&pki.euiccs[0].eid).expect("eid");
    ordered(&smdp, "8949449999999990023", None).await;
    assert_eq!(
        confirm(&smdp, "8949449999999990023", None).await,
        Err(StatusCode::EID_MISSING)
    );
    // Given in ConfirmOrder, or already in DownloadOrder: accepted.
    assert_eq!(
        confirm(&smdp, "8949449999999990023", Some(eid)).await,
        Ok(())
    );
    ordered(&smdp, "8949449999999990031", Some(eid)).await;
    assert_eq!(confirm(&smdp, "8949449999999990031", None).await, Ok(()));
}
