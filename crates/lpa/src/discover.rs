//! SM-DS event retrieval (SGP.22 §3.6.1, ES11): the common mutual authentication with the SM-DS,
//! then its event records for this eUICC. Posted, as lpac, euicc-go and the G+D IPA post it,
//! to the ES9+ paths with the SM-DS address in `smdpAddress` and no matchingId.

use simforge_asn1::json::{self, Asn1B64, Es11AuthenticateClientResponse, EventEntry};

use crate::download::post_json;
use crate::{Card, Error, Es9Function, Es9Transport, Lpa};

impl<C: Card, T: Es9Transport> Lpa<C, T> {
    /// Asks the SM-DS at `smds_address` for this eUICC's events (ES11 InitiateAuthentication
    /// and AuthenticateClient): each names an RSP server and the EventID to send it as
    /// matchingId ([`Lpa::download_at`]).
    ///
    /// # Errors
    /// [`Error::Es9Status`] / [`Error::Http`] for SM-DS refusals, [`Error::Euicc`] when the
    /// eUICC refuses the SM-DS's certificate or signature, [`Error::Protocol`] for an answer
    /// without its members.
    pub fn discover(&mut self, smds_address: &str) -> Result<Vec<EventEntry>, Error> {
        let (tid, asr_raw) = self.authenticate(smds_address, None)?;
        let body = json::to_json(&json::AuthenticateClientRequest {
            transaction_id: tid,
            authenticate_server_response: Asn1B64::from_bytes(asr_raw)
                .map_err(|e| Error::Asn1(e.to_string()))?,
        })
        .map_err(|e| Error::Asn1(e.to_string()))?;
        let r: Es11AuthenticateClientResponse = post_json(
            &mut self.es9,
            smds_address,
            Es9Function::AuthenticateClient,
            &body,
            |r: &Es11AuthenticateClientResponse| &r.header,
        )?;
        Ok(r.event_entries)
    }
}
