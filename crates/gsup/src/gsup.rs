//! GSUP (Osmocom Generic Subscriber Update Protocol) message codec, limited to what a
//! SendAuthInfo client needs.
//!
//! A GSUP message is one message-type byte followed by TLV information elements with a 1-byte
//! tag and a 1-byte length. An AUTH_TUPLE IE nests the per-vector TLVs (RAND, SRES, Kc, IK,
//! CK, AUTN, RES). IMSIs are TBCD-encoded (low nibble first, `F` filler for an odd count).
//!
//! Numbers from libosmocore `include/osmocom/gsm/gsup.h` (`enum osmo_gsup_iei`,
//! `enum osmo_gsup_message_type`) and the GMM causes from
//! `include/osmocom/gsm/protocol/gsm_04_08_gprs.h` (`enum gsm48_gmm_cause`).

use std::fmt;

use crate::Error;

/// IE: IMSI (TBCD).
pub const IEI_IMSI: u8 = 0x01;
/// IE: cause (GMM cause, 1 byte).
pub const IEI_CAUSE: u8 = 0x02;
/// IE: one authentication tuple (nested IEs).
pub const IEI_AUTH_TUPLE: u8 = 0x03;
/// IE: RAND (16 bytes).
pub const IEI_RAND: u8 = 0x20;
/// IE: SRES (4 bytes).
pub const IEI_SRES: u8 = 0x21;
/// IE: Kc (8 bytes).
pub const IEI_KC: u8 = 0x22;
/// IE: IK (16 bytes).
pub const IEI_IK: u8 = 0x23;
/// IE: CK (16 bytes).
pub const IEI_CK: u8 = 0x24;
/// IE: AUTN (16 bytes).
pub const IEI_AUTN: u8 = 0x25;
/// IE: AUTS (14 bytes), for re-synchronisation.
pub const IEI_AUTS: u8 = 0x26;
/// IE: RES / XRES (4 to 16 bytes).
pub const IEI_RES: u8 = 0x27;

/// Message type SEND_AUTH_INFO_REQUEST.
pub const MSGT_SEND_AUTH_INFO_REQUEST: u8 = 0x08;
/// Message type SEND_AUTH_INFO_ERROR.
pub const MSGT_SEND_AUTH_INFO_ERROR: u8 = 0x09;
/// Message type SEND_AUTH_INFO_RESULT.
pub const MSGT_SEND_AUTH_INFO_RESULT: u8 = 0x0a;

/// Length of RAND.
pub const RAND_LEN: usize = 16;
/// Length of AUTS.
pub const AUTS_LEN: usize = 14;

/// One authentication vector as handed out by the HLR.
///
/// `rand`, `sres` and `kc` are always present (osmo-hlr derives SRES/Kc from the UMTS
/// vector with the c2/c3 conversion functions when the subscriber only has 3G data); the UMTS
/// parts are `None` for a 2G-only (COMP128/XOR `aud2g`) subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthTuple {
    /// RAND, the challenge.
    pub rand: [u8; 16],
    /// SRES, the expected GSM response.
    pub sres: [u8; 4],
    /// Kc, the GSM cipher key.
    pub kc: [u8; 8],
    /// IK, the UMTS integrity key.
    pub ik: Option<[u8; 16]>,
    /// CK, the UMTS cipher key.
    pub ck: Option<[u8; 16]>,
    /// AUTN, the network authentication token (SQN⊕AK ‖ AMF ‖ MAC-A).
    pub autn: Option<[u8; 16]>,
    /// RES (XRES), the expected UMTS response, 4 to 16 bytes.
    pub res: Option<Vec<u8>>,
}

/// A GSUP cause value (the GMM cause of TS 24.008 §10.5.5.14, as osmo-hlr uses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GsupCause(pub u8);

impl GsupCause {
    /// "IMSI unknown in HLR" (2): osmo-hlr's answer for an unknown IMSI and for a subscriber
    /// without authentication data.
    pub const IMSI_UNKNOWN: GsupCause = GsupCause(0x02);
    /// "Network failure" (17).
    pub const NETWORK_FAILURE: GsupCause = GsupCause(0x11);
    /// "Invalid mandatory information" (96), e.g. an invalid IMSI.
    pub const INVALID_MANDATORY_INFO: GsupCause = GsupCause(0x60);

    /// The libosmocore name of the cause, if known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x02 => "IMSI unknown in HLR",
            0x03 => "Illegal MS",
            0x06 => "Illegal ME",
            0x07 => "GPRS services not allowed",
            0x08 => "GPRS services and non-GPRS services not allowed",
            0x09 => "MS identity cannot be derived by the network",
            0x0a => "Implicitly detached",
            0x0b => "PLMN not allowed",
            0x0c => "Location Area not allowed",
            0x0d => "Roaming not allowed in this location area",
            0x0e => "GPRS services not allowed in this PLMN",
            0x10 => "MSC temporarily not reachable",
            0x11 => "Network failure",
            0x16 => "Congestion",
            0x5f => "Semantically incorrect message",
            0x60 => "Invalid mandatory information",
            0x61 => "Message type non-existent or not implemented",
            0x62 => "Message type not compatible with the protocol state",
            0x63 => "Information element non-existent or not implemented",
            0x64 => "Conditional IE error",
            0x65 => "Message not compatible with the protocol state",
            0x6f => "Protocol error, unspecified",
            _ => return None,
        })
    }
}

impl fmt::Display for GsupCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} (cause {})", self.0),
            None => write!(f, "cause {}", self.0),
        }
    }
}

/// A decoded GSUP message (only the IEs a SendAuthInfo client needs; others are skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The message type byte.
    pub message_type: u8,
    /// The IMSI IE, decoded to digits.
    pub imsi: Option<String>,
    /// The cause IE.
    pub cause: Option<GsupCause>,
    /// The AUTH_TUPLE IEs, in order.
    pub auth_tuples: Vec<AuthTuple>,
    /// The RAND IE at message level (resync request).
    pub rand: Option<[u8; 16]>,
    /// The AUTS IE at message level (resync request).
    pub auts: Option<[u8; 14]>,
}

/// Iterates over the 1-byte-tag, 1-byte-length TLVs of `buf`.
fn tlvs(buf: &[u8]) -> impl Iterator<Item = Result<(u8, &[u8]), Error>> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let [tag, len, tail @ ..] = rest else {
            rest = &[];
            return Some(Err(Error::malformed_gsup("truncated IE header")));
        };
        let len = usize::from(*len);
        if tail.len() < len {
            let tag = *tag;
            rest = &[];
            return Some(Err(Error::malformed_gsup(format!(
                "IE 0x{tag:02x} claims {len} bytes, only {} left",
                tail.len()
            ))));
        }
        let (value, tail) = tail.split_at(len);
        rest = tail;
        Some(Ok((*tag, value)))
    })
}

fn fixed<const N: usize>(iei: u8, value: &[u8]) -> Result<[u8; N], Error> {
    value.try_into().map_err(|_| {
        Error::malformed_gsup(format!(
            "IE 0x{iei:02x} has length {}, expected {N}",
            value.len()
        ))
    })
}

fn decode_auth_tuple(buf: &[u8]) -> Result<AuthTuple, Error> {
    let (mut rand, mut sres, mut kc) = (None, None, None);
    let (mut ik, mut ck, mut autn, mut res) = (None, None, None, None);
    for tlv in tlvs(buf) {
        let (iei, v) = tlv?;
        match iei {
            IEI_RAND => rand = Some(fixed::<16>(iei, v)?),
            IEI_SRES => sres = Some(fixed::<4>(iei, v)?),
            IEI_KC => kc = Some(fixed::<8>(iei, v)?),
            IEI_IK => ik = Some(fixed::<16>(iei, v)?),
            IEI_CK => ck = Some(fixed::<16>(iei, v)?),
            IEI_AUTN => autn = Some(fixed::<16>(iei, v)?),
            IEI_RES => {
                if !(4..=16).contains(&v.len()) {
                    return Err(Error::malformed_gsup(format!(
                        "RES has length {}, expected 4 to 16",
                        v.len()
                    )));
                }
                res = Some(v.to_vec());
            }
            _ => {}
        }
    }
    Ok(AuthTuple {
        rand: rand.ok_or_else(|| Error::malformed_gsup("auth tuple without RAND"))?,
        sres: sres.ok_or_else(|| Error::malformed_gsup("auth tuple without SRES"))?,
        kc: kc.ok_or_else(|| Error::malformed_gsup("auth tuple without Kc"))?,
        ik,
        ck,
        autn,
        res,
    })
}

/// Decodes one GSUP message (the payload after the IPA header and the 0x05 extension byte).
///
/// Unknown IEs are skipped; malformed, truncated or wrongly sized known IEs are an
/// [`Error::Malformed`].
pub fn decode(buf: &[u8]) -> Result<Message, Error> {
    let [message_type, ies @ ..] = buf else {
        return Err(Error::malformed_gsup("empty message"));
    };
    let mut msg = Message {
        message_type: *message_type,
        imsi: None,
        cause: None,
        auth_tuples: Vec::new(),
        rand: None,
        auts: None,
    };
    for tlv in tlvs(ies) {
        let (iei, v) = tlv?;
        match iei {
            IEI_IMSI => msg.imsi = Some(decode_imsi(v)?),
            IEI_CAUSE => {
                let [c] = v else {
                    return Err(Error::malformed_gsup("cause IE is not 1 byte"));
                };
                msg.cause = Some(GsupCause(*c));
            }
            IEI_AUTH_TUPLE => msg.auth_tuples.push(decode_auth_tuple(v)?),
            IEI_RAND => msg.rand = Some(fixed::<16>(iei, v)?),
            IEI_AUTS => msg.auts = Some(fixed::<14>(iei, v)?),
            _ => {}
        }
    }
    Ok(msg)
}

/// Checks that `imsi` is 1 to 15 decimal digits.
pub fn validate_imsi(imsi: &str) -> Result<(), Error> {
    if imsi.is_empty() || imsi.len() > 15 {
        return Err(Error::InvalidImsi("must be 1 to 15 digits"));
    }
    if !imsi.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidImsi("must contain decimal digits only"));
    }
    Ok(())
}

/// TBCD-encodes an IMSI (low nibble first, `F` filler for an odd number of digits).
pub fn encode_imsi(imsi: &str) -> Result<Vec<u8>, Error> {
    validate_imsi(imsi)?;
    Ok(imsi
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let lo = pair[0] - b'0';
            let hi = pair.get(1).map_or(0x0f, |d| d - b'0');
            (hi << 4) | lo
        })
        .collect())
}

/// Decodes a TBCD IMSI; a `F` nibble may only appear as the very last nibble.
pub fn decode_imsi(bcd: &[u8]) -> Result<String, Error> {
    let mut out = String::with_capacity(bcd.len() * 2);
    for (i, b) in bcd.iter().enumerate() {
        let last = i + 1 == bcd.len();
        for (n, nibble) in [b & 0x0f, b >> 4].into_iter().enumerate() {
            match nibble {
                0..=9 => out.push(char::from(b'0' + nibble)),
                0x0f if last && n == 1 => {}
                _ => return Err(Error::malformed_gsup("IMSI IE holds a non-digit nibble")),
            }
        }
    }
    if out.is_empty() || out.len() > 15 {
        return Err(Error::malformed_gsup("IMSI IE is not 1 to 15 digits"));
    }
    Ok(out)
}

fn put_tlv(out: &mut Vec<u8>, iei: u8, value: &[u8]) -> Result<(), Error> {
    let len = u8::try_from(value.len()).map_err(|_| Error::InvalidArgument("GSUP IE too long"))?;
    out.push(iei);
    out.push(len);
    out.extend_from_slice(value);
    Ok(())
}

/// Encodes a SEND_AUTH_INFO_REQUEST for `imsi`; with `resync = Some((rand, auts))` it is the
/// re-synchronisation request (RAND of the failed challenge and the card's AUTS).
pub fn encode_send_auth_info_request(
    imsi: &str,
    resync: Option<(&[u8; 16], &[u8; 14])>,
) -> Result<Vec<u8>, Error> {
    let mut out = vec![MSGT_SEND_AUTH_INFO_REQUEST];
    put_tlv(&mut out, IEI_IMSI, &encode_imsi(imsi)?)?;
    if let Some((rand, auts)) = resync {
        put_tlv(&mut out, IEI_AUTS, auts)?;
        put_tlv(&mut out, IEI_RAND, rand)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imsi_tbcd() {
        assert_eq!(
            encode_imsi("001010000000001").unwrap(),
            [0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0xf1]
        );
        assert_eq!(encode_imsi("1234").unwrap(), [0x21, 0x43]);
        assert_eq!(
            decode_imsi(&[0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0xf1]).unwrap(),
            "001010000000001"
        );
        assert_eq!(decode_imsi(&[0x21, 0x43]).unwrap(), "1234");
        assert!(decode_imsi(&[]).is_err());
        assert!(decode_imsi(&[0xf1, 0x21]).is_err());
        assert!(decode_imsi(&[0x1a]).is_err());
        assert!(decode_imsi(&[0x11; 9]).is_err());
        assert!(encode_imsi("").is_err());
        assert!(encode_imsi("12a").is_err());
        assert!(encode_imsi("1234567890123456").is_err());
    }

    #[test]
    fn request_layout() {
        let r = encode_send_auth_info_request("1234", None).unwrap();
        assert_eq!(r, [0x08, 0x01, 0x02, 0x21, 0x43]);
        let r = encode_send_auth_info_request("1", Some((&[0xaa; 16], &[0xbb; 14]))).unwrap();
        assert_eq!(&r[..6], &[0x08, 0x01, 0x01, 0xf1, 0x26, 14]);
        assert_eq!(r[20], 0x20);
        assert_eq!(r[21], 16);
        assert_eq!(r.len(), 22 + 16);
        let d = decode(&r).unwrap();
        assert_eq!(d.rand, Some([0xaa; 16]));
        assert_eq!(d.auts, Some([0xbb; 14]));
    }

    #[test]
    fn decode_result_and_error() {
        let mut tuple = Vec::new();
        put_tlv(&mut tuple, IEI_RAND, &[1; 16]).unwrap();
        put_tlv(&mut tuple, IEI_SRES, &[2; 4]).unwrap();
        put_tlv(&mut tuple, IEI_KC, &[3; 8]).unwrap();
        put_tlv(&mut tuple, 0x7f, &[9; 3]).unwrap(); // unknown IE is skipped
        put_tlv(&mut tuple, IEI_RES, &[4; 8]).unwrap();
        let mut m = vec![MSGT_SEND_AUTH_INFO_RESULT];
        put_tlv(&mut m, IEI_IMSI, &[0x21, 0x43]).unwrap();
        put_tlv(&mut m, IEI_AUTH_TUPLE, &tuple).unwrap();
        let d = decode(&m).unwrap();
        assert_eq!(d.imsi.as_deref(), Some("1234"));
        assert_eq!(d.auth_tuples.len(), 1);
        assert_eq!(d.auth_tuples[0].res.as_deref(), Some(&[4u8; 8][..]));
        assert_eq!(d.auth_tuples[0].ck, None);

        let e = decode(&[MSGT_SEND_AUTH_INFO_ERROR, IEI_CAUSE, 1, 2]).unwrap();
        assert_eq!(e.cause, Some(GsupCause::IMSI_UNKNOWN));
        assert_eq!(
            GsupCause::IMSI_UNKNOWN.to_string(),
            "IMSI unknown in HLR (cause 2)"
        );

        assert!(decode(&[]).is_err());
        assert!(decode(&[0x0a, IEI_AUTH_TUPLE]).is_err());
        assert!(decode(&[0x0a, IEI_AUTH_TUPLE, 5, 1]).is_err());
        assert!(decode(&[0x0a, IEI_CAUSE, 2, 1, 1]).is_err());
        assert!(decode(&[0x0a, IEI_AUTH_TUPLE, 2, IEI_SRES, 0]).is_err());
        let mut short = vec![MSGT_SEND_AUTH_INFO_RESULT];
        put_tlv(&mut short, IEI_AUTH_TUPLE, &tuple[..tuple.len() - 1]).unwrap();
        assert!(decode(&short).is_err());
    }
}
