//! Discovery end to end in memory: the real virtual eUICC (`simforge_euicc`, through APDUs)
//! and the real LPA (`Lpa::discover`, posting ES11 to the ES9+ paths as lpac does) against the
//! SM-DS, then the download of the discovered event from the SM-DP+ of `testkit::Pair` with
//! matchingId = EventID, all on one clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use simforge_asn1::json::{
    self, DeleteEventRequest, Es9Function, HeaderOnlyResponse, RegisterEventRequest, RequestHeader,
};
use simforge_asn1::status::ResponseHeader;
use simforge_crypto::SystemRandom;
use simforge_lpa::{Es9Transport, Es10, Lpa};
use simforge_smds::{Error, MemoryStore, Registrant, Smds, SmdsConfig, SmdsKeys};
use simforge_testkit::card::InProc;
use simforge_testkit::es9::DirectEs9;
use simforge_testkit::lab::ADDRESS;
use simforge_testkit::{Pair, TestClock};

const DS_ADDRESS: &str = "smds.simforge.test:8443";

/// ES11 into the SM-DS (its JSON, at the clock's time); anything else into the SM-DP+.
struct Routed<'a> {
    ds: &'a Smds<MemoryStore>,
    dp: &'a mut DirectEs9,
    clock: TestClock,
    ds_calls: Vec<&'static str>,
}

fn answer<T: serde::Serialize>(r: Result<T, Error>) -> (u16, Vec<u8>) {
    match r {
        Ok(v) => (200, json::to_json(&v).unwrap()),
        Err(e) => (
            200,
            json::to_json(&HeaderOnlyResponse {
                header: ResponseHeader::failed(&e.status_code().unwrap(), Some(e.to_string())),
            })
            .unwrap(),
        ),
    }
}

impl Es9Transport for Routed<'_> {
    fn post(
        &mut self,
        address: &str,
        function: Es9Function,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), simforge_lpa::Error> {
        if !self.ds.config().accepts_address(address) {
            return self.dp.post(address, function, body);
        }
        self.ds_calls.push(function.name());
        let now = self.clock.now();
        Ok(match function {
            Es9Function::InitiateAuthentication => answer(
                self.ds
                    .initiate_authentication(&json::from_json(body).unwrap(), now),
            ),
            Es9Function::AuthenticateClient => answer(
                self.ds
                    .authenticate_client(&json::from_json(body).unwrap(), now),
            ),
            _ => (404, Vec::new()),
        })
    }
}

fn header() -> RequestHeader {
    RequestHeader {
        function_requester_identifier: "smdp1".into(),
        function_call_identifier: "c".into(),
    }
}

#[test]
fn the_virtual_euicc_discovers_its_event_and_downloads_it() {
    let mut pair = Pair::new();
    let mut cfg = SmdsConfig::new("smds.simforge.test");
    cfg.port = 8443;
    let ds = Smds::new(
        cfg,
        SmdsKeys::from_pkis(&[&pair.pki]).unwrap(),
        MemoryStore::new(),
        Arc::new(SystemRandom::new()),
    );
    pair.add_profiles(&["8949449999999990031"], false);
    let order = pair.order(None, None, None).unwrap();
    let eid = pair.eid(0);
    // The SM-DP+ registers the order's event: EventID = its matchingId.
    let smdp1 = Registrant::parse("smdp1").unwrap();
    ds.register_event(
        &smdp1,
        &RegisterEventRequest {
            header: header(),
            eid,
            rsp_server_address: ADDRESS.into(),
            event_id: order.matching_id.as_str().into(),
            forwarding_indicator: None,
        },
        pair.now(),
    )
    .unwrap();

    let clock = pair.clock.clone();
    let Pair { euiccs, es9, .. } = &mut pair;
    let mut routed = Routed {
        ds: &ds,
        dp: es9,
        clock,
        ds_calls: Vec::new(),
    };
    let mut lpa = Lpa::new(
        Es10::open(InProc::new(&mut euiccs[0])).unwrap(),
        &mut routed,
    );
    // The eUICC checks DSauth (a CERT.XXauth under its CI) and signs for the SM-DS.
    let events = lpa.discover(DS_ADDRESS).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_id, order.matching_id.as_str());
    assert_eq!(events[0].rsp_server_address, ADDRESS);
    let outcome = lpa
        .download_at(&events[0].rsp_server_address, &events[0].event_id, None)
        .unwrap();
    assert_eq!(outcome.iccid, order.iccid);
    drop(lpa);
    assert_eq!(
        routed.ds_calls,
        ["initiateAuthentication", "authenticateClient"]
    );

    // Downloaded: the SM-DP+ deletes its event, and the next discovery finds none.
    ds.delete_event(
        &smdp1,
        &DeleteEventRequest {
            header: header(),
            eid,
            event_id: order.matching_id.as_str().into(),
        },
        routed.clock.now(),
    )
    .unwrap();
    let mut lpa = Lpa::new(
        Es10::open(InProc::new(&mut euiccs[0])).unwrap(),
        &mut routed,
    );
    assert!(lpa.discover(DS_ADDRESS).unwrap().is_empty());
}

/// The default SM-DP+ route (SGP.22 §3.1.3 with no activation code): the address set in the
/// eUICC (ES10a SetDefaultDpAddress, read back with GetEuiccConfiguredAddresses), an empty
/// matchingId, and the SM-DP+ answering with the order made for this EID.
#[test]
fn the_default_smdp_address_and_an_empty_matching_id_find_the_eids_order() {
    let mut pair = Pair::new();
    pair.add_profiles(&["8949449999999990049"], false);
    let eid = pair.eid(0);
    let order = pair.order(None, Some(eid), None).unwrap();
    let mut lpa = pair.lpa(0).unwrap();
    assert_eq!(lpa.es10.set_default_dp_address(ADDRESS).unwrap().0, 0);
    let addresses = lpa.es10.configured_addresses().unwrap();
    let dp = addresses.default_dp_address.unwrap();
    assert_eq!(dp, ADDRESS);
    let outcome = lpa.download_at(&dp, "", None).unwrap();
    assert_eq!(outcome.iccid, order.iccid);
}
