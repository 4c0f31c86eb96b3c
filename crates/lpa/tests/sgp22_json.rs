//! The LPA's ES9+ JSON against SGP.22's member table (`simforge_testkit::sgp22`): every request it
//! sends has exactly the specification's members (§6.5.2.6–10), and it downloads a profile
//! from responses re-written member by member under the specification's names — so a member
//! the LPA looked for under another spelling (as `euiccCiPkIdToBeUsed` once) fails the
//! download.

use simforge_testkit::sgp22;

use simforge_euicc::EuiccState;
use simforge_lpa::{Error, Es9Transport, Es10, Lpa};
use simforge_testkit::card::{InProc, euicc};
use simforge_testkit::profiles::{built, iccid};
use simforge_testkit::stand_in::*;

/// Checks the LPA's requests against the table; re-writes every JSON response of the test
/// SM-DP+ with the table's member names (values matched by name, ignoring case), so that
/// only the specification's spelling reaches the LPA.
struct SpecNames<'a> {
    inner: &'a mut TestSmdp,
    checked: Vec<String>,
}

impl Es9Transport for SpecNames<'_> {
    fn post(
        &mut self,
        address: &str,
        typed: simforge_lpa::Es9Function,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), Error> {
        let function = typed.name();
        let f = sgp22::es9(function);
        // The path the LPA posts to is the one SGP.22's function definition names.
        assert_eq!(typed.path(), f.path);
        sgp22::check(&format!("LPA §{} request", f.section), f.request, body);
        self.checked.push(function.to_owned());
        let (status, resp) = self.inner.post(address, typed, body)?;
        let Some(members) = f.response else {
            assert_eq!(status, 204, "{function}");
            return Ok((status, resp));
        };
        let v: serde_json::Value = serde_json::from_slice(&resp).expect("JSON response");
        let obj = v.as_object().expect("object");
        let mut out = serde_json::Map::new();
        for m in members {
            if let Some((_, value)) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(m.name)) {
                out.insert(m.name.to_owned(), value.clone());
            }
        }
        // What a deployed SM-DP+ may add: a member SGP.22 does not define is ignored.
        out.insert("vendorExtension".into(), serde_json::json!({"x": 1}));
        let text = serde_json::to_vec(&serde_json::Value::Object(out)).expect("json");
        Ok((status, text))
    }
}

#[test]
fn lpa_requests_and_spec_named_responses() {
    let upp = built(&iccid(1)).to_vec();
    let pki = lab_pki();
    let mut smdp = TestSmdp::new(pki.clone(), upp);
    let ac = smdp.activation_code();
    let iccid = smdp.iccid.clone();
    let mut euicc = euicc(&pki, EuiccState::default());
    let mut card = InProc::new(&mut euicc);
    let es10 = Es10::open(&mut card).expect("open ISD-R");
    let mut spec = SpecNames {
        inner: &mut smdp,
        checked: Vec::new(),
    };
    let mut lpa = Lpa::new(es10, &mut spec);
    let out = lpa
        .download(&ac, None)
        .expect("download from spec-named responses");
    assert_eq!(out.iccid, iccid);
    assert!(out.notification_sent);
    drop(lpa);
    assert_eq!(
        spec.checked,
        [
            "initiateAuthentication",
            "authenticateClient",
            "getBoundProfilePackage",
            "handleNotification"
        ]
    );
}
