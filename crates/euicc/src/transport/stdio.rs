//! lpac's stdio APDU driver protocol (`LPAC_APDU=stdio`), card side.
//!
//! lpac writes one JSON object per line on its stdout and reads one reply line on its stdin:
//! `{"type":"apdu","payload":{"func":"connect|disconnect|logic_channel_open|logic_channel_close|transmit","param":HEX|null}}`
//! → `{"type":"apdu","payload":{"ecode":N,"data":HEX}}`. For `logic_channel_open` the param is
//! the AID and the reply's `ecode` the channel number; the card side opens the channel and
//! selects the AID itself. Lines of any other `type` (lpac's results, `http` requests when
//! `LPAC_HTTP=stdio`) are not ours: [`serve`] hands them to a callback.

use std::io::{BufRead, Write};

use serde_json::{Value, json};

use crate::{Error, Euicc};

fn reply(ecode: i64, data: &[u8]) -> String {
    json!({"type": "apdu", "payload": {"ecode": ecode, "data": hex::encode_upper(data)}})
        .to_string()
}

fn sw_of(resp: &[u8]) -> u16 {
    match resp {
        [.., a, b] => u16::from_be_bytes([*a, *b]),
        _ => 0x6F00,
    }
}

/// Answers one request line. Returns `None` if the line is not an `apdu` request (the caller
/// then deals with it), otherwise the reply line (without newline).
pub fn handle_request(euicc: &mut Euicc, line: &str) -> Option<String> {
    let v: Value = serde_json::from_str(line).ok()?;
    if v.get("type")?.as_str()? != "apdu" {
        return None;
    }
    let payload = v.get("payload")?;
    let func = payload.get("func").and_then(Value::as_str).unwrap_or("");
    let param = payload.get("param");
    let param_hex = param
        .and_then(Value::as_str)
        .and_then(|s| hex::decode(s).ok());
    Some(match func {
        "connect" => {
            euicc.reset();
            reply(0, &[])
        }
        "disconnect" => reply(0, &[]),
        "logic_channel_open" => {
            let Some(aid) = param_hex.filter(|a| !a.is_empty() && a.len() <= 16) else {
                return Some(reply(-1, &[]));
            };
            let r = euicc.process(&[0x00, 0x70, 0x00, 0x00, 0x01]);
            let [ch, 0x90, 0x00] = r.as_slice() else {
                return Some(reply(-1, &[]));
            };
            let ch = *ch;
            let mut select = vec![
                ch & 0x03,
                0xA4,
                0x04,
                0x00,
                u8::try_from(aid.len()).unwrap_or(0),
            ];
            select.extend_from_slice(&aid);
            let r = euicc.process(&select);
            let sw = sw_of(&r);
            if sw == 0x9000 || sw >> 8 == 0x61 {
                reply(i64::from(ch), &[])
            } else {
                euicc.process(&[0x00, 0x70, 0x80, ch]);
                reply(-1, &[])
            }
        }
        "logic_channel_close" => {
            let ch = param
                .and_then(|p| {
                    p.as_u64().or_else(|| {
                        p.as_str().and_then(|s| {
                            u64::from_str_radix(s, 16).ok().or_else(|| s.parse().ok())
                        })
                    })
                })
                .and_then(|c| u8::try_from(c).ok());
            match ch {
                Some(ch) if ch > 0 => {
                    euicc.process(&[0x00, 0x70, 0x80, ch]);
                    reply(0, &[])
                }
                _ => reply(-1, &[]),
            }
        }
        "transmit" => match param_hex {
            Some(apdu) => reply(0, &euicc.process(&apdu)),
            None => reply(-1, &[]),
        },
        _ => reply(-1, &[]),
    })
}

/// Serves lpac's requests read from `input` (lpac's stdout), writing replies to `output`
/// (lpac's stdin) until end of input. `other` receives every line that is not an `apdu`
/// request (it may answer `http` requests itself by returning a reply line). `after` runs
/// after each APDU request.
///
/// # Errors
/// [`Error::Transport`] on I/O failure.
pub fn serve(
    euicc: &mut Euicc,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
    other: &mut dyn FnMut(&str) -> Option<String>,
    after: &mut dyn FnMut(&mut Euicc),
) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Transport(e.to_string());
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line).map_err(io)? == 0 {
            return Ok(());
        }
        let l = line.trim_end();
        if l.is_empty() {
            continue;
        }
        let answer = match handle_request(euicc, l) {
            Some(r) => {
                after(euicc);
                Some(r)
            }
            None => other(l),
        };
        if let Some(r) = answer {
            output.write_all(r.as_bytes()).map_err(io)?;
            output.write_all(b"\n").map_err(io)?;
            output.flush().map_err(io)?;
        }
    }
}
