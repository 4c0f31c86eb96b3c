//! Blocking transports that put the virtual eUICC behind standard tools (feature `transports`).
//!
//! Each has a pure core ([`stdio::handle_request`], [`vpcd::handle_frame`]) and a small
//! blocking loop over `std::io` streams. After every command the loops call `after`, where the
//! caller persists the state when [`crate::Euicc::take_dirty`] says so.

pub mod stdio;
pub mod vpcd;
