//! The in-process card: `simforge_lpa::Card` over the real `simforge_euicc::Euicc`, through
//! APDU bytes, and the lab eUICCs it wraps.

use simforge_crypto::{Clock, FixedClock, SystemRandom};
use simforge_euicc::{Euicc, EuiccIdentity, EuiccState};
use simforge_lpa::{Card, Error};
use simforge_pki::LabPki;

use crate::lab::NOW;

/// A fresh virtual eUICC of the lab PKI (its eUICC number 0), its clock fixed at [`NOW`].
pub fn euicc(pki: &LabPki, state: EuiccState) -> Euicc {
    euicc_at(pki, 0, state, Box::new(FixedClock(NOW)))
}

/// The virtual eUICC number `index` of the lab PKI, reading time from `clock`.
pub fn euicc_at(pki: &LabPki, index: usize, state: EuiccState, clock: Box<dyn Clock>) -> Euicc {
    let id = EuiccIdentity::from_lab_pki(pki, index).expect("identity");
    Euicc::new(&id, state, Box::new(SystemRandom::new()), clock).expect("eUICC")
}

/// The eUICC as a card, in-process through APDU bytes; counts APDUs and GET RESPONSEs.
#[derive(Debug)]
pub struct InProc<'a> {
    /// The eUICC.
    pub euicc: &'a mut Euicc,
    /// GET RESPONSE commands seen.
    pub get_responses: usize,
    /// APDUs seen.
    pub apdus: usize,
}

impl<'a> InProc<'a> {
    /// The card over `euicc`.
    pub fn new(euicc: &'a mut Euicc) -> Self {
        Self {
            euicc,
            get_responses: 0,
            apdus: 0,
        }
    }
}

impl Card for InProc<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error> {
        self.apdus += 1;
        if apdu.get(1) == Some(&0xC0) {
            self.get_responses += 1;
        }
        Ok(self.euicc.process(apdu))
    }
}
