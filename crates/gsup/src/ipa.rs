//! IPA multiplex framing (the ip.access / Osmocom "IPA" protocol that carries GSUP).
//!
//! A frame is a 2-byte big-endian payload length, a 1-byte stream id, then the payload.
//! Stream [`STREAM_CCM`] (0xFE) carries the connection-management messages (PING, PONG,
//! ID_GET, ID_RESP, ID_ACK); stream [`STREAM_OSMO`] (0xEE) carries Osmocom extensions, whose
//! first payload byte says which one ([`EXT_GSUP`] = 0x05 for GSUP).
//!
//! Numbers from libosmocore `include/osmocom/gsm/protocol/ipaccess.h`; the ID_RESP layout
//! from `ipa_ccm_make_id_resp()` in libosmocore `src/gsm/ipa.c`.

use crate::Error;

/// Stream id of IPA connection management (CCM) messages.
pub const STREAM_CCM: u8 = 0xFE;
/// Stream id of Osmocom extensions (the payload starts with an extension byte).
pub const STREAM_OSMO: u8 = 0xEE;
/// Osmocom extension byte for GSUP.
pub const EXT_GSUP: u8 = 0x05;

/// CCM message type PING.
pub const CCM_PING: u8 = 0x00;
/// CCM message type PONG.
pub const CCM_PONG: u8 = 0x01;
/// CCM message type ID_GET (identity request).
pub const CCM_ID_GET: u8 = 0x04;
/// CCM message type ID_RESP (identity response).
pub const CCM_ID_RESP: u8 = 0x05;
/// CCM message type ID_ACK.
pub const CCM_ID_ACK: u8 = 0x06;

/// Identity tag: serial number. osmo-hlr routes GSUP answers by this tag.
pub const IDTAG_SERNR: u8 = 0x00;
/// Identity tag: unit name.
pub const IDTAG_UNITNAME: u8 = 0x01;
/// Identity tag: MAC address.
pub const IDTAG_MACADDR: u8 = 0x07;
/// Identity tag: unit id (`site/bts/trx`).
pub const IDTAG_UNIT: u8 = 0x08;

/// Largest payload an IPA frame can carry (the length field is 16 bits).
pub const MAX_PAYLOAD: usize = u16::MAX as usize;

/// One IPA frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Stream id (e.g. [`STREAM_CCM`], [`STREAM_OSMO`]).
    pub stream: u8,
    /// Payload after the 3-byte header.
    pub payload: Vec<u8>,
}

/// Encodes one IPA frame.
///
/// Fails with [`Error::InvalidArgument`] if the payload is longer than [`MAX_PAYLOAD`].
pub fn encode_frame(stream: u8, payload: &[u8]) -> Result<Vec<u8>, Error> {
    let len = u16::try_from(payload.len())
        .map_err(|_| Error::InvalidArgument("IPA payload longer than 65535 bytes"))?;
    let mut out = Vec::with_capacity(3 + payload.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.push(stream);
    out.extend_from_slice(payload);
    Ok(out)
}

/// Decodes the first IPA frame in `buf`, returning it and the number of bytes it used.
///
/// Fails with [`Error::Malformed`] if `buf` does not hold a complete frame.
pub fn decode_frame(buf: &[u8]) -> Result<(Frame, usize), Error> {
    let Some((header, rest)) = buf.split_first_chunk::<3>() else {
        return Err(Error::malformed_ipa(format!(
            "truncated header ({} of 3 bytes)",
            buf.len()
        )));
    };
    let len = usize::from(u16::from_be_bytes([header[0], header[1]]));
    let payload = rest.get(..len).ok_or_else(|| {
        Error::malformed_ipa(format!("truncated payload ({} of {len} bytes)", rest.len()))
    })?;
    Ok((
        Frame {
            stream: header[2],
            payload: payload.to_vec(),
        },
        3 + len,
    ))
}

/// Encodes an Osmocom-extension frame (stream 0xEE) carrying `ext` and `payload`.
pub fn encode_osmo_frame(ext: u8, payload: &[u8]) -> Result<Vec<u8>, Error> {
    let mut p = Vec::with_capacity(1 + payload.len());
    p.push(ext);
    p.extend_from_slice(payload);
    encode_frame(STREAM_OSMO, &p)
}

/// Parses the body of a CCM ID_GET (the payload after the message-type byte) into the list of
/// requested identity tags.
///
/// The body is a list of `(length, tag)` pairs, where `length` counts the tag and any
/// following bytes (always 1 in practice).
pub fn parse_id_get(body: &[u8]) -> Result<Vec<u8>, Error> {
    let mut tags = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let [len, tag, tail @ ..] = rest else {
            return Err(Error::malformed_ipa("ID_GET: dangling byte"));
        };
        let skip = usize::from(*len).saturating_sub(1);
        rest = tail
            .get(skip..)
            .ok_or_else(|| Error::malformed_ipa("ID_GET: entry longer than the message"))?;
        if *len == 0 {
            return Err(Error::malformed_ipa("ID_GET: zero-length entry"));
        }
        tags.push(*tag);
    }
    Ok(tags)
}

/// Encodes a complete CCM ID_RESP frame (header included) carrying the given
/// `(tag, value)` identities.
///
/// Each entry is a 2-byte big-endian length (tag + value + NUL), the tag, the value and a
/// terminating NUL, as libosmocore's `ipa_ccm_make_id_resp()` writes it.
pub fn encode_id_resp(idents: &[(u8, &str)]) -> Result<Vec<u8>, Error> {
    let mut p = vec![CCM_ID_RESP];
    for (tag, value) in idents {
        if value.bytes().any(|b| b == 0) {
            return Err(Error::InvalidArgument("IPA identity contains a NUL byte"));
        }
        let len = u16::try_from(value.len() + 2)
            .map_err(|_| Error::InvalidArgument("IPA identity too long"))?;
        p.extend_from_slice(&len.to_be_bytes());
        p.push(*tag);
        p.extend_from_slice(value.as_bytes());
        p.push(0);
    }
    encode_frame(STREAM_CCM, &p)
}

/// Parses the body of a CCM ID_RESP (after the message-type byte) into `(tag, value)` pairs;
/// the value has its trailing NUL removed.
pub fn parse_id_resp(body: &[u8]) -> Result<Vec<(u8, Vec<u8>)>, Error> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let [hi, lo, tail @ ..] = rest else {
            return Err(Error::malformed_ipa("ID_RESP: dangling byte"));
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let (entry, tail) = (len <= tail.len())
            .then(|| tail.split_at(len))
            .ok_or_else(|| Error::malformed_ipa("ID_RESP: entry longer than the message"))?;
        let [tag, value @ ..] = entry else {
            return Err(Error::malformed_ipa("ID_RESP: zero-length entry"));
        };
        let value = value.strip_suffix(&[0]).unwrap_or(value);
        out.push((*tag, value.to_vec()));
        rest = tail;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_roundtrip() {
        let f = encode_frame(STREAM_CCM, &[CCM_PING]).unwrap();
        assert_eq!(f, [0, 1, 0xFE, 0]);
        let (d, used) = decode_frame(&[0, 1, 0xFE, 0, 9, 9]).unwrap();
        assert_eq!(used, 4);
        assert_eq!(d.stream, STREAM_CCM);
        assert_eq!(d.payload, [CCM_PING]);
    }

    #[test]
    fn truncated_frames_are_errors() {
        assert!(decode_frame(&[]).is_err());
        assert!(decode_frame(&[0, 2]).is_err());
        assert!(decode_frame(&[0, 2, 0xEE, 5]).is_err());
        assert!(encode_frame(0, &vec![0; MAX_PAYLOAD + 1]).is_err());
    }

    #[test]
    fn id_get_as_sent_by_libosmocore() {
        // ipa_id_req_msg[] from libosmocore src/gsm/ipa.c, without header and message type.
        let body = [
            0x01, 0x08, 0x01, 0x07, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x01, 0x05, 0x01, 0x01,
            0x01, 0x00,
        ];
        assert_eq!(
            parse_id_get(&body).unwrap(),
            [8, 7, 2, 3, 4, 5, 1, IDTAG_SERNR]
        );
        assert!(parse_id_get(&[0x01]).is_err());
        assert!(parse_id_get(&[0x05, 0x08]).is_err());
    }

    #[test]
    fn id_resp_roundtrip() {
        let f = encode_id_resp(&[(IDTAG_SERNR, "SF"), (IDTAG_UNIT, "0/0/0")]).unwrap();
        assert_eq!(&f[..10], &[0, 16, 0xFE, 0x05, 0, 4, 0, b'S', b'F', 0]);
        let (frame, _) = decode_frame(&f).unwrap();
        let ids = parse_id_resp(&frame.payload[1..]).unwrap();
        assert_eq!(
            ids,
            vec![(0, b"SF".to_vec()), (IDTAG_UNIT, b"0/0/0".to_vec())]
        );
        assert!(encode_id_resp(&[(0, "a\0b")]).is_err());
        assert!(parse_id_resp(&[0, 9, 1]).is_err());
        assert!(parse_id_resp(&[0, 0]).is_err());
    }
}
