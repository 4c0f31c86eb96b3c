//! # simforge-smds
//!
//! The SM-DS (Subscription Manager Discovery Server, GSMA SGP.22 §3.6, §5.8, §5.9) without
//! I/O, in the style of the SM-DP+ crate: requests, state through the [`SmdsStore`] trait,
//! time and randomness in; responses (or an [`Error`] with its SGP.22 status code) out.
//!
//! - ES12 (SM-DP+ → SM-DS): [`Smds::register_event`] and [`Smds::delete_event`]. Event
//!   records are keyed by (EID, EventID); each keeps the identity of its registrant (the
//!   mutual-TLS identity the HTTP edge authenticated, a [`Registrant`]), and only that
//!   registrant can delete it: another's record is answered exactly like an unknown one
//!   (8.9.5 / 3.9), so ES12 cannot be used to learn which EIDs have events. A duplicate is
//!   8.9.5 / 3.3. Records expire after [`SmdsConfig::event_ttl_secs`] (local policy: ES12 has
//!   no expiry member) and are purged, with a log line each, by [`Smds::purge_expired`].
//! - ES11 (LPA → SM-DS): [`Smds::initiate_authentication`] and
//!   [`Smds::authenticate_client`], the same common mutual authentication as ES9+, through
//!   the SM-DP+'s own code ([`simforge_smdp::es9::open_session`],
//!   [`simforge_smdp::es9::verify_client_with`]) with the SM-DS's address and its DSauth
//!   keys. AuthenticateClient answers the authenticated EID's live records in arrival order
//!   (only the one whose EventID the eUICC signed as matchingId, when it did; an unknown one
//!   is 8.9.5 / 3.9), never another EID's; every transactionId is single use.
//! - [`es11_asn1`]: the ASN.1 binding of an ES11 answer (`AuthenticateClientResponseEs11`,
//!   `BF40`).
//!
//! - ES15 (alternative SM-DS → root SM-DS, [`forward`]): with [`SmdsConfig::root`], a
//!   registration carrying `forwardingIndicator` true is registered at the root too (same
//!   EID and EventID, rspServerAddress = this SM-DS), and its deletion (by its registrant or
//!   by expiry) deleted there; both queued in the store in the step that changes the
//!   record ([`SmdsStore::insert_event`], [`SmdsStore::remove_event`]) and delivered by the
//!   SM-DP+'s SM-DS worker through [`ForwardQueue`].

mod error;
pub mod forward;
mod service;
mod store;

pub use error::{Error, Result};
pub use forward::ForwardQueue;
pub use service::{
    EventRecord, Registrant, Smds, SmdsConfig, SmdsKeys, es11_asn1, valid_rsp_server_address,
};
pub use store::{MemoryStore, SmdsStore};
