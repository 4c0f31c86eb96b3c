//! APDU level: command parsing, logical channels, SELECT, STORE DATA chaining, GET RESPONSE.

use crate::Euicc;

/// ISD-R AID (SGP.22 §2.2.3).
pub const AID_ISD_R: [u8; 16] = [
    0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00,
];
/// ECASD AID.
pub const AID_ECASD: [u8; 16] = [
    0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x02, 0x00,
];
/// The ATR: direct convention, T=0 offered (TD1 = 0x80), then T=15 global bytes (TD2 = 0x1F,
/// TA3 = 0xC7: class A/B/C, clock stop), card-capability historical bytes, and the TCK (required
/// because T=15 is indicated). `pcsc_scan` decodes it and checks the TCK (tests/pcsc_vpcd.rs).
pub const ATR: &[u8] = &[
    0x3B, 0x9F, 0x96, 0x80, 0x1F, 0xC7, 0x80, 0x31, 0xE0, 0x73, 0xFE, 0x21, 0x1B, 0x63, 0x3A, 0x20,
    0x4E, 0x83, 0x00, 0x90, 0x00, 0x93,
];

/// Status words used by the eUICC.
pub mod sw {
    /// Normal ending.
    pub const OK: u16 = 0x9000;
    /// Warning: end of file reached before reading Le bytes.
    pub const END_OF_FILE: u16 = 0x6282;
    /// Wrong length.
    pub const WRONG_LENGTH: u16 = 0x6700;
    /// Logical channel not supported.
    pub const CHANNEL_NOT_SUPPORTED: u16 = 0x6881;
    /// Secure messaging not supported.
    pub const SM_NOT_SUPPORTED: u16 = 0x6882;
    /// Command incompatible with file structure.
    pub const INCOMPATIBLE_FILE: u16 = 0x6981;
    /// Conditions of use not satisfied.
    pub const CONDITIONS: u16 = 0x6985;
    /// Command not allowed (no current EF).
    pub const NO_CURRENT_EF: u16 = 0x6986;
    /// Incorrect parameters in the data field.
    pub const WRONG_DATA: u16 = 0x6A80;
    /// Function not supported.
    pub const FUNC_NOT_SUPPORTED: u16 = 0x6A81;
    /// File or application not found.
    pub const NOT_FOUND: u16 = 0x6A82;
    /// Not enough memory space.
    pub const NO_MEMORY: u16 = 0x6A84;
    /// Incorrect P1-P2.
    pub const WRONG_P1P2: u16 = 0x6A86;
    /// Referenced data not found.
    pub const DATA_NOT_FOUND: u16 = 0x6A88;
    /// Wrong parameters P1-P2 (offset outside the EF).
    pub const WRONG_OFFSET: u16 = 0x6B00;
    /// Instruction not supported.
    pub const INS_NOT_SUPPORTED: u16 = 0x6D00;
    /// Class not supported.
    pub const CLA_NOT_SUPPORTED: u16 = 0x6E00;
    /// Authentication error, incorrect MAC (TS 31.102).
    pub const AUTH_MAC: u16 = 0x9862;
    /// Technical problem.
    pub const TECHNICAL: u16 = 0x6F00;
}

/// Logical channels 0..3.
pub(crate) const MAX_CHANNELS: usize = 4;
/// Largest ES10 command the eUICC accepts (a BPP piece is at most ~1 KiB; 64 KiB is plenty).
pub(crate) const MAX_STORE_DATA: usize = 65_536;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Selected {
    /// The MF (or nothing selected yet).
    #[default]
    Mf,
    IsdR,
    Ecasd,
    Usim,
}

#[derive(Debug, Default)]
pub(crate) struct Channel {
    pub selected: Selected,
    /// Current EF (fid, under_mf).
    pub current_ef: Option<(u16, bool)>,
    /// STORE DATA blocks received so far (next expected block number, data).
    pub store_data: Option<(u8, Vec<u8>)>,
    /// Response data waiting for GET RESPONSE.
    pub pending: Vec<u8>,
}

pub(crate) struct Command<'a> {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: &'a [u8],
    /// Le (0 meaning 256), if present.
    pub le: Option<usize>,
}

fn parse(apdu: &[u8]) -> Result<Command<'_>, u16> {
    let [cla, ins, p1, p2, rest @ ..] = apdu else {
        return Err(sw::WRONG_LENGTH);
    };
    let (data, le): (&[u8], Option<usize>) = match rest {
        [] => (&[], None),
        [le] => (&[], Some(if *le == 0 { 256 } else { usize::from(*le) })),
        [lc, body @ ..] => {
            let lc = usize::from(*lc);
            if lc == 0 {
                // Extended length is not supported.
                return Err(sw::WRONG_LENGTH);
            }
            if body.len() == lc {
                (body, None)
            } else if body.len() == lc + 1 {
                let le = body[lc];
                (
                    &body[..lc],
                    Some(if le == 0 { 256 } else { usize::from(le) }),
                )
            } else {
                return Err(sw::WRONG_LENGTH);
            }
        }
    };
    Ok(Command {
        cla: *cla,
        ins: *ins,
        p1: *p1,
        p2: *p2,
        data,
        le,
    })
}

pub(crate) fn with_sw(mut data: Vec<u8>, status: u16) -> Vec<u8> {
    data.extend_from_slice(&status.to_be_bytes());
    data
}

fn only_sw(status: u16) -> Vec<u8> {
    status.to_be_bytes().to_vec()
}

/// Logical channel number from the class byte (ISO 7816-4 §5.4.1), or an error status word.
fn channel_of(cla: u8) -> Result<usize, u16> {
    if cla == 0xFF {
        return Err(sw::CLA_NOT_SUPPORTED);
    }
    if cla & 0x40 == 0 {
        // First interindustry (0x0X) or proprietary GlobalPlatform (0x8X) coding.
        if cla & 0x0C != 0 {
            return Err(sw::SM_NOT_SUPPORTED);
        }
        if cla & 0x60 != 0 {
            return Err(sw::CLA_NOT_SUPPORTED);
        }
        Ok(usize::from(cla & 0x03))
    } else {
        if cla & 0x20 != 0 {
            return Err(sw::SM_NOT_SUPPORTED);
        }
        let ch = 4 + usize::from(cla & 0x0F);
        if ch >= MAX_CHANNELS {
            return Err(sw::CHANNEL_NOT_SUPPORTED);
        }
        Ok(ch)
    }
}

/// Answers `data` with `9000`, or with `61xx` for GET RESPONSE when it exceeds what the
/// command may carry back (256 bytes, or Le if smaller).
fn respond(ch: &mut Channel, data: Vec<u8>, status: u16, le: Option<usize>) -> Vec<u8> {
    if data.is_empty() {
        return only_sw(status);
    }
    if data.len() <= 256 && le.is_none_or(|l| l >= data.len()) {
        return with_sw(data, status);
    }
    ch.pending = data;
    let avail = ch.pending.len().min(256);
    only_sw(0x6100 | u16::from((avail % 256) as u8))
}

pub(crate) fn process(e: &mut Euicc, apdu: &[u8]) -> Vec<u8> {
    let cmd = match parse(apdu) {
        Ok(c) => c,
        Err(s) => return only_sw(s),
    };
    let ch_no = match channel_of(cmd.cla) {
        Ok(c) => c,
        Err(s) => return only_sw(s),
    };
    let Some(mut ch) = e.channels[ch_no].take() else {
        return only_sw(sw::CHANNEL_NOT_SUPPORTED);
    };
    let out = dispatch(e, &mut ch, ch_no, &cmd);
    // MANAGE CHANNEL close of the current channel leaves the slot empty on purpose.
    if !(cmd.ins == 0x70 && cmd.p1 == 0x80 && usize::from(cmd.p2) == ch_no && ch_no != 0) {
        e.channels[ch_no] = Some(ch);
    }
    out
}

fn dispatch(e: &mut Euicc, ch: &mut Channel, ch_no: usize, cmd: &Command<'_>) -> Vec<u8> {
    let proprietary = cmd.cla & 0x80 != 0;
    if cmd.ins == 0xC0 {
        return get_response(ch, cmd);
    }
    // Any other command discards an unread response.
    ch.pending.clear();
    if cmd.ins != 0xE2 {
        ch.store_data = None;
    }
    match (proprietary, cmd.ins) {
        (false, 0x70) => manage_channel(e, ch_no, cmd),
        (false, 0xA4) => select(e, ch, cmd),
        (true, 0xE2) => store_data(e, ch, cmd),
        (false, 0xF2) | (true, 0xF2) => {
            // STATUS: answer with the selected application's AID when asked for it.
            if cmd.p2 == 0x0C || ch.selected != Selected::Usim {
                return only_sw(sw::OK);
            }
            let aid = crate::usim::enabled_usim(e)
                .map(|u| u.aid.clone())
                .unwrap_or_default();
            let mut fci = vec![0x84, u8::try_from(aid.len()).unwrap_or(0)];
            fci.extend_from_slice(&aid);
            let mut out = vec![0x6F, u8::try_from(fci.len()).unwrap_or(0)];
            out.extend_from_slice(&fci);
            respond(ch, out, sw::OK, cmd.le)
        }
        (false, 0xB0) | (false, 0x88) | (false, 0xB2) | (false, 0x20) => {
            match crate::usim::command(e, ch, cmd) {
                Ok(data) => respond(ch, data, sw::OK, cmd.le),
                Err((data, s)) => with_sw(data, s),
            }
        }
        (true, 0xCA) | (false, 0xCA) => {
            // GET DATA of the EID (tag 5A) from the ISD-R / ECASD.
            if matches!(ch.selected, Selected::IsdR | Selected::Ecasd)
                && cmd.p1 == 0x00
                && cmd.p2 == 0x5A
            {
                let mut out = vec![0x5A, 0x10];
                out.extend_from_slice(&e.id.eid_bytes);
                respond(ch, out, sw::OK, cmd.le)
            } else {
                only_sw(sw::DATA_NOT_FOUND)
            }
        }
        (true, _) if matches!(cmd.ins, 0x70 | 0xA4 | 0xB0 | 0x88 | 0xB2) => {
            only_sw(sw::CLA_NOT_SUPPORTED)
        }
        _ => only_sw(sw::INS_NOT_SUPPORTED),
    }
}

fn get_response(ch: &mut Channel, cmd: &Command<'_>) -> Vec<u8> {
    if cmd.p1 != 0 || cmd.p2 != 0 {
        return only_sw(sw::WRONG_P1P2);
    }
    if ch.pending.is_empty() {
        return only_sw(sw::CONDITIONS);
    }
    let want = cmd.le.unwrap_or(256);
    let n = want.min(ch.pending.len());
    let chunk: Vec<u8> = ch.pending.drain(..n).collect();
    if ch.pending.is_empty() {
        with_sw(chunk, sw::OK)
    } else {
        let next = ch.pending.len().min(256);
        with_sw(chunk, 0x6100 | u16::from((next % 256) as u8))
    }
}

fn manage_channel(e: &mut Euicc, ch_no: usize, cmd: &Command<'_>) -> Vec<u8> {
    match (cmd.p1, cmd.p2) {
        (0x00, 0x00) => {
            if !cmd.data.is_empty() || cmd.le.is_some_and(|l| l != 1) {
                return only_sw(sw::WRONG_LENGTH);
            }
            match (1..MAX_CHANNELS).find(|i| e.channels[*i].is_none()) {
                Some(n) => {
                    e.channels[n] = Some(Channel::default());
                    with_sw(vec![u8::try_from(n).unwrap_or(0)], sw::OK)
                }
                None => only_sw(sw::FUNC_NOT_SUPPORTED),
            }
        }
        (0x00, n) => {
            let n = usize::from(n);
            if n == 0 || n >= MAX_CHANNELS {
                return only_sw(sw::WRONG_P1P2);
            }
            if e.channels[n].is_some() {
                return only_sw(sw::CONDITIONS);
            }
            e.channels[n] = Some(Channel::default());
            only_sw(sw::OK)
        }
        (0x80, n) => {
            let n = usize::from(n);
            if n == 0 || n >= MAX_CHANNELS {
                return only_sw(sw::WRONG_P1P2);
            }
            if n != ch_no && e.channels[n].take().is_none() {
                return only_sw(sw::WRONG_P1P2);
            }
            only_sw(sw::OK)
        }
        _ => only_sw(sw::WRONG_P1P2),
    }
}

fn fci(aid: &[u8]) -> Vec<u8> {
    let mut inner = vec![0x84, u8::try_from(aid.len()).unwrap_or(0)];
    inner.extend_from_slice(aid);
    inner.extend_from_slice(&[0xA5, 0x00]);
    let mut out = vec![0x6F, u8::try_from(inner.len()).unwrap_or(0)];
    out.extend_from_slice(&inner);
    out
}

fn select(e: &mut Euicc, ch: &mut Channel, cmd: &Command<'_>) -> Vec<u8> {
    match cmd.p1 {
        0x04 => {
            if cmd.data.is_empty() || cmd.data.len() > 16 {
                return only_sw(sw::WRONG_LENGTH);
            }
            // P2: 00 first/only occurrence with FCI, 04 FCP, 0C no data.
            if cmd.p2 & 0xF0 != 0 || cmd.p2 & 0x03 != 0 {
                return only_sw(sw::WRONG_P1P2);
            }
            let (sel, aid) = if AID_ISD_R.starts_with(cmd.data) && cmd.data.len() >= 5 {
                (Selected::IsdR, AID_ISD_R.to_vec())
            } else if AID_ECASD.starts_with(cmd.data) && cmd.data.len() >= 5 {
                (Selected::Ecasd, AID_ECASD.to_vec())
            } else if let Some(u) = crate::usim::enabled_usim(e)
                && u.aid.starts_with(cmd.data)
                && cmd.data.len() >= 5
            {
                (Selected::Usim, u.aid.clone())
            } else {
                return only_sw(sw::NOT_FOUND);
            };
            ch.selected = sel;
            ch.current_ef = None;
            if cmd.p2 == 0x0C {
                only_sw(sw::OK)
            } else {
                respond(ch, fci(&aid), sw::OK, cmd.le)
            }
        }
        0x00 | 0x08 | 0x09 => match crate::usim::select_file(e, ch, cmd) {
            Ok(data) => respond(ch, data, sw::OK, cmd.le),
            Err(s) => only_sw(s),
        },
        _ => only_sw(sw::WRONG_P1P2),
    }
}

fn store_data(e: &mut Euicc, ch: &mut Channel, cmd: &Command<'_>) -> Vec<u8> {
    if ch.selected != Selected::IsdR {
        ch.store_data = None;
        return only_sw(sw::CONDITIONS);
    }
    // P1: b8 last block, b5-b4 = 01 (BER-TLV); 0x11 more, 0x91 last.
    let last = match cmd.p1 {
        0x11 => false,
        0x91 => true,
        _ => {
            ch.store_data = None;
            return only_sw(sw::WRONG_P1P2);
        }
    };
    let (expected, mut buf) = ch.store_data.take().unwrap_or((0, Vec::new()));
    if cmd.p2 != expected {
        return only_sw(sw::WRONG_P1P2);
    }
    if buf.len() + cmd.data.len() > MAX_STORE_DATA {
        return only_sw(sw::NO_MEMORY);
    }
    buf.extend_from_slice(cmd.data);
    if !last {
        let Some(next) = expected.checked_add(1) else {
            return only_sw(sw::WRONG_P1P2);
        };
        ch.store_data = Some((next, buf));
        return only_sw(sw::OK);
    }
    match crate::es10::handle(e, &buf) {
        Ok(resp) => respond(ch, resp, sw::OK, None),
        Err(s) => only_sw(s),
    }
}
