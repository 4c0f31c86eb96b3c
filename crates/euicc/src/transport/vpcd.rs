//! vsmartcard vpcd client: the eUICC connects to pcscd's vpcd reader (TCP, default port
//! 35963), so every PC/SC client (lpac's pcsc driver, pySim, pcsc_scan, pyscard) sees a card.
//!
//! Every message is a 2-byte big-endian length then the payload. A 1-byte payload is control:
//! `00` power off, `01` power on, `02` reset (no answer), `04` get ATR (answered with the ATR);
//! anything longer is a command APDU answered with the response APDU.

use std::io::{Read, Write};

use crate::{ATR, Error, Euicc};

/// Default vpcd port of pcscd's vsmartcard reader.
pub const DEFAULT_PORT: u16 = 35963;

/// Handles one vpcd payload; returns the payload to send back, if any.
pub fn handle_frame(euicc: &mut Euicc, payload: &[u8]) -> Option<Vec<u8>> {
    match payload {
        [0x00] => {
            euicc.reset();
            None
        }
        [0x01] | [0x02] => {
            euicc.reset();
            None
        }
        [0x04] => Some(ATR.to_vec()),
        [_] | [] => None,
        apdu => Some(euicc.process(apdu)),
    }
}

/// Runs the vpcd protocol over `stream` (a TCP connection to pcscd) until it closes.
/// `after` runs after each APDU.
///
/// # Errors
/// [`Error::Transport`] on I/O failure.
pub fn run<S: Read + Write>(
    euicc: &mut Euicc,
    stream: &mut S,
    after: &mut dyn FnMut(&mut Euicc),
) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Transport(e.to_string());
    loop {
        let mut len = [0u8; 2];
        match stream.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(io(e)),
        }
        let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut payload).map_err(io)?;
        let is_apdu = payload.len() > 1;
        if let Some(out) = handle_frame(euicc, &payload) {
            let n = u16::try_from(out.len())
                .map_err(|_| Error::Transport("response too long".into()))?;
            let mut frame = n.to_be_bytes().to_vec();
            frame.extend_from_slice(&out);
            stream.write_all(&frame).map_err(io)?;
            stream.flush().map_err(io)?;
        }
        if is_apdu {
            after(euicc);
        }
    }
}
