//! The JSON members of every ES9+, ES11, ES12, ES15 and ES2+ function, written from SGP.22's own
//! function definitions (§6.5.2.1–6.5.2.11, headers §6.5.1.3/§6.5.1.4), as independent
//! implementations spell them (the member names, mandatory/optional, and value encodings of
//! `shared/json-bindings.md`) — literal strings, not our serde types. One boundary, one
//! helper: [`check`] compares a JSON text (decoded as `serde_json::Value`) with a table.
//!
//! Shared by the tests of several crates (`simforge_testkit::sgp22`).

use serde_json::Value;

/// How a member's value is written.
#[derive(Clone, Copy, Debug)]
pub enum Enc {
    /// Standard base64 (padded) of a whole DER TLV starting with one of these tags (hex).
    B64Tlv(&'static [&'static str]),
    /// Standard base64 of exactly this many raw octets (no tag).
    B64Raw(usize),
    /// Upper-case hex text of 1 to 16 octets (a transactionId as the SM-DP+ writes it).
    HexUpper,
    /// A JSON string.
    Str,
    /// Decimal digits, this many (EID: 32).
    Digits(usize),
    /// An ICCID: 19 or 20 digits, or 19 digits and `F`.
    Iccid,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// A JSON boolean.
    Bool,
    /// A JSON integer.
    Int,
    /// A JSON object with these members.
    Object(&'static [Member]),
    /// A JSON array of objects with these members.
    Array(&'static [Member]),
}

/// One member: its name as SGP.22 spells it, mandatory or not, its encoding.
#[derive(Clone, Copy, Debug)]
pub struct Member {
    pub name: &'static str,
    pub mandatory: bool,
    pub enc: Enc,
}

const fn m(name: &'static str, enc: Enc) -> Member {
    Member {
        name,
        mandatory: true,
        enc,
    }
}

const fn o(name: &'static str, enc: Enc) -> Member {
    Member {
        name,
        mandatory: false,
        enc,
    }
}

// ------------------------------------------------------------------- §6.5.1.3/4 headers

/// §6.5.1.4 `statusCodeData`.
pub const STATUS_CODE_DATA: &[Member] = &[
    m("subjectCode", Enc::Str),
    m("reasonCode", Enc::Str),
    o("subjectIdentifier", Enc::Str),
    o("message", Enc::Str),
];

/// §6.5.1.4 `functionExecutionStatus`.
pub const FUNCTION_EXECUTION_STATUS: &[Member] = &[
    m(
        "status",
        Enc::OneOf(&[
            "Executed-Success",
            "Executed-WithWarning",
            "Failed",
            "Expired",
        ]),
    ),
    o("statusCodeData", Enc::Object(STATUS_CODE_DATA)),
];

/// §6.5.1.4 response header.
pub const RESPONSE_HEADER: &[Member] = &[m(
    "functionExecutionStatus",
    Enc::Object(FUNCTION_EXECUTION_STATUS),
)];

/// §6.5.1.3 request header (ES2+).
pub const REQUEST_HEADER: &[Member] = &[
    m("functionRequesterIdentifier", Enc::Str),
    m("functionCallIdentifier", Enc::Str),
];

const HEADER: Member = m("header", Enc::Object(RESPONSE_HEADER));
const REQ_HEADER: Member = m("header", Enc::Object(REQUEST_HEADER));
const TID: Member = m("transactionId", Enc::HexUpper);
const EID: Enc = Enc::Digits(32);

/// One function of the JSON binding: request members, response members (`None`: HTTP 204,
/// no body) on success.
#[derive(Clone, Copy, Debug)]
pub struct Function {
    /// SGP.22 section of the JSON binding.
    pub section: &'static str,
    pub path: &'static str,
    pub request: &'static [Member],
    pub response: Option<&'static [Member]>,
}

// ------------------------------------------------------------------------------ ES9+

/// §6.5.2.6 ES9+.InitiateAuthentication (also ES11).
pub const INITIATE_AUTHENTICATION: Function = Function {
    section: "6.5.2.6",
    path: "/gsma/rsp2/es9plus/initiateAuthentication",
    request: &[
        m("euiccChallenge", Enc::B64Raw(16)),
        m("euiccInfo1", Enc::B64Tlv(&["BF20"])),
        m("smdpAddress", Enc::Str),
    ],
    response: Some(&[
        HEADER,
        TID,
        m("serverSigned1", Enc::B64Tlv(&["30"])),
        m("serverSignature1", Enc::B64Tlv(&["5F37"])),
        m("euiccCiPKIdToBeUsed", Enc::B64Tlv(&["04"])),
        m("serverCertificate", Enc::B64Tlv(&["30"])),
    ]),
};

/// §6.5.2.7 ES9+.AuthenticateClient.
pub const AUTHENTICATE_CLIENT: Function = Function {
    section: "6.5.2.7",
    path: "/gsma/rsp2/es9plus/authenticateClient",
    request: &[TID, m("authenticateServerResponse", Enc::B64Tlv(&["BF38"]))],
    response: Some(&[
        HEADER,
        TID,
        m("profileMetadata", Enc::B64Tlv(&["BF25"])),
        m("smdpSigned2", Enc::B64Tlv(&["30"])),
        m("smdpSignature2", Enc::B64Tlv(&["5F37"])),
        m("smdpCertificate", Enc::B64Tlv(&["30"])),
    ]),
};

/// §6.5.2.8 ES9+.GetBoundProfilePackage.
pub const GET_BOUND_PROFILE_PACKAGE: Function = Function {
    section: "6.5.2.8",
    path: "/gsma/rsp2/es9plus/getBoundProfilePackage",
    request: &[TID, m("prepareDownloadResponse", Enc::B64Tlv(&["BF21"]))],
    response: Some(&[
        HEADER,
        TID,
        m("boundProfilePackage", Enc::B64Tlv(&["BF36"])),
    ]),
};

/// §6.5.2.9 ES9+.HandleNotification: answered 204.
pub const HANDLE_NOTIFICATION: Function = Function {
    section: "6.5.2.9",
    path: "/gsma/rsp2/es9plus/handleNotification",
    request: &[m("pendingNotification", Enc::B64Tlv(&["BF37", "30"]))],
    response: None,
};

/// §6.5.2.10 ES9+.CancelSession.
pub const CANCEL_SESSION: Function = Function {
    section: "6.5.2.10",
    path: "/gsma/rsp2/es9plus/cancelSession",
    request: &[TID, m("cancelSessionResponse", Enc::B64Tlv(&["BF41"]))],
    response: Some(&[HEADER]),
};

/// §6.5.2.11 ES11.AuthenticateClient (SM-DS): the response carries event entries.
pub const ES11_AUTHENTICATE_CLIENT: Function = Function {
    section: "6.5.2.11",
    path: "/gsma/rsp2/es9plus/authenticateClient",
    request: &[TID, m("authenticateServerResponse", Enc::B64Tlv(&["BF38"]))],
    response: Some(&[
        HEADER,
        o("transactionId", Enc::HexUpper),
        m(
            "eventEntries",
            Enc::Array(&[m("eventId", Enc::Str), m("rspServerAddress", Enc::Str)]),
        ),
    ]),
};

/// ES11.InitiateAuthentication as the Eastcompeace SDK posts it: the ES11 path, the SM-DS
/// address in `smdsAddress` (lpac, euicc-go and the G+D IPA use [`INITIATE_AUTHENTICATION`]).
pub const ES11_INITIATE_AUTHENTICATION: Function = Function {
    section: "5.8.1",
    path: "/gsma/rsp2/es11/initiateAuthentication",
    request: &[
        m("euiccChallenge", Enc::B64Raw(16)),
        m("euiccInfo1", Enc::B64Tlv(&["BF20"])),
        m("smdsAddress", Enc::Str),
    ],
    response: INITIATE_AUTHENTICATION.response,
};

// ------------------------------------------------------------------------------ ES12

/// ES12.RegisterEvent (SM-DP+ → SM-DS), ES2+-style header; members and path as a public
/// ES12 client sends them (the specification's section number is not confirmed).
pub const ES12_REGISTER_EVENT: Function = Function {
    section: "ES12.RegisterEvent",
    path: "/gsma/rsp2/es12/registerEvent",
    request: &[
        REQ_HEADER,
        m("eid", EID),
        m("rspServerAddress", Enc::Str),
        m("eventId", Enc::Str),
        o("forwardingIndicator", Enc::Bool),
    ],
    response: Some(&[HEADER]),
};

/// ES12.DeleteEvent (SM-DP+ → SM-DS).
pub const ES12_DELETE_EVENT: Function = Function {
    section: "ES12.DeleteEvent",
    path: "/gsma/rsp2/es12/deleteEvent",
    request: &[REQ_HEADER, m("eid", EID), m("eventId", Enc::Str)],
    response: Some(&[HEADER]),
};

// ------------------------------------------------------------------------------ ES15

/// ES15.RegisterEvent (alternative SM-DS → root SM-DS, SGP.22 §3.6 cascading): the members of
/// ES12.RegisterEvent (EID, EventID, the RSP server address — here the alternative SM-DS's
/// own — and the forwarding indicator); the path by the bindings' `/gsma/rsp2/<interface>/`
/// pattern (no public ES15 client was found to confirm it).
pub const ES15_REGISTER_EVENT: Function = Function {
    section: "ES15.RegisterEvent",
    path: "/gsma/rsp2/es15/registerEvent",
    request: ES12_REGISTER_EVENT.request,
    response: Some(&[HEADER]),
};

/// ES15.DeleteEvent (alternative SM-DS → root SM-DS): ES12.DeleteEvent's members.
pub const ES15_DELETE_EVENT: Function = Function {
    section: "ES15.DeleteEvent",
    path: "/gsma/rsp2/es15/deleteEvent",
    request: ES12_DELETE_EVENT.request,
    response: Some(&[HEADER]),
};

// ------------------------------------------------------------------------------ ES2+

/// §6.5.2.1 ES2+.DownloadOrder (`iccid` is mandatory in a success response).
pub const DOWNLOAD_ORDER: Function = Function {
    section: "6.5.2.1",
    path: "/gsma/rsp2/es2plus/downloadOrder",
    request: &[
        REQ_HEADER,
        o("eid", EID),
        o("iccid", Enc::Iccid),
        o("profileType", Enc::Str),
    ],
    response: Some(&[HEADER, m("iccid", Enc::Iccid)]),
};

/// §6.5.2.2 ES2+.ConfirmOrder (`matchingId` is mandatory in a success response).
pub const CONFIRM_ORDER: Function = Function {
    section: "6.5.2.2",
    path: "/gsma/rsp2/es2plus/confirmOrder",
    request: &[
        REQ_HEADER,
        m("iccid", Enc::Iccid),
        o("eid", EID),
        o("matchingId", Enc::Str),
        o("confirmationCode", Enc::Str),
        o("smdsAddress", Enc::Str),
        m("releaseFlag", Enc::Bool),
    ],
    response: Some(&[
        HEADER,
        o("eid", EID),
        m("matchingId", Enc::Str),
        o("smdpAddress", Enc::Str),
    ]),
};

/// §6.5.2.3 ES2+.CancelOrder.
pub const CANCEL_ORDER: Function = Function {
    section: "6.5.2.3",
    path: "/gsma/rsp2/es2plus/cancelOrder",
    request: &[
        REQ_HEADER,
        m("iccid", Enc::Iccid),
        o("eid", EID),
        o("matchingId", Enc::Str),
        m(
            "finalProfileStatusIndicator",
            Enc::OneOf(&["Available", "Unavailable"]),
        ),
    ],
    response: Some(&[HEADER]),
};

/// §6.5.2.4 ES2+.ReleaseProfile.
pub const RELEASE_PROFILE: Function = Function {
    section: "6.5.2.4",
    path: "/gsma/rsp2/es2plus/releaseProfile",
    request: &[REQ_HEADER, m("iccid", Enc::Iccid)],
    response: Some(&[HEADER]),
};

/// §6.5.2.5 ES2+.HandleDownloadProgressInfo (SM-DP+ → operator): answered 204.
pub const HANDLE_DOWNLOAD_PROGRESS_INFO: Function = Function {
    section: "6.5.2.5",
    path: "/gsma/rsp2/es2plus/handleDownloadProgressInfo",
    request: &[
        REQ_HEADER,
        o("eid", EID),
        m("iccid", Enc::Iccid),
        m("profileType", Enc::Str),
        m("timestamp", Enc::Str),
        m("notificationPointId", Enc::Int),
        m(
            "notificationPointStatus",
            Enc::Object(FUNCTION_EXECUTION_STATUS),
        ),
        o("resultData", Enc::B64Tlv(&["BF37"])),
    ],
    response: None,
};

/// A failed call of any function: the header only (§6.5.1.4).
pub const FAILED_RESPONSE: &[Member] = &[HEADER];

/// Every function of the table.
pub const ALL: &[Function] = &[
    INITIATE_AUTHENTICATION,
    AUTHENTICATE_CLIENT,
    GET_BOUND_PROFILE_PACKAGE,
    HANDLE_NOTIFICATION,
    CANCEL_SESSION,
    ES11_AUTHENTICATE_CLIENT,
    ES11_INITIATE_AUTHENTICATION,
    ES12_REGISTER_EVENT,
    ES12_DELETE_EVENT,
    ES15_REGISTER_EVENT,
    ES15_DELETE_EVENT,
    DOWNLOAD_ORDER,
    CONFIRM_ORDER,
    CANCEL_ORDER,
    RELEASE_PROFILE,
    HANDLE_DOWNLOAD_PROGRESS_INFO,
];

// --------------------------------------------------------------------------- checking

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = s.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return None;
    }
    let pad = bytes.iter().rev().take_while(|b| **b == b'=').count();
    if pad > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in &bytes[..bytes.len() - pad] {
        let v = ALPHABET.iter().position(|a| a == b)?;
        acc = (acc << 6) | u32::try_from(v).ok()?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xFF).ok()?);
        }
    }
    Some(out)
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn check_value(path: &str, enc: Enc, v: &Value, problems: &mut Vec<String>) {
    let mut bad = |why: String| problems.push(format!("{path}: {why} (got {v})"));
    match enc {
        Enc::B64Tlv(tags) => match v.as_str().and_then(b64_decode) {
            None => bad("not standard padded base64".into()),
            Some(bytes) => {
                let h = hex_upper(&bytes);
                if !tags.iter().any(|t| h.starts_with(t)) {
                    bad(format!("not a TLV with tag {tags:?}"));
                }
            }
        },
        Enc::B64Raw(n) => match v.as_str().and_then(b64_decode) {
            Some(bytes) if bytes.len() == n => {}
            _ => bad(format!("not base64 of {n} octets")),
        },
        Enc::HexUpper => match v.as_str() {
            Some(s)
                if (2..=32).contains(&s.len())
                    && s.len().is_multiple_of(2)
                    && s.bytes()
                        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)) => {}
            _ => bad("not upper-case hex of 1 to 16 octets".into()),
        },
        Enc::Str => {
            if !v.is_string() {
                bad("not a string".into());
            }
        }
        Enc::Digits(n) => match v.as_str() {
            Some(s) if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) => {}
            _ => bad(format!("not {n} decimal digits")),
        },
        Enc::Iccid => match v.as_str() {
            Some(s)
                if (s.len() == 19 || s.len() == 20)
                    && s.bytes().enumerate().all(|(i, b)| {
                        b.is_ascii_digit() || (i == 19 && (b == b'F' || b == b'f'))
                    }) => {}
            _ => bad("not an ICCID (19 or 20 digits, or 19 digits and F)".into()),
        },
        Enc::OneOf(values) => {
            if !v.as_str().is_some_and(|s| values.contains(&s)) {
                bad(format!("not one of {values:?}"));
            }
        }
        Enc::Bool => {
            if !v.is_boolean() {
                bad("not a boolean".into());
            }
        }
        Enc::Int => {
            if !v.is_u64() {
                bad("not a JSON integer".into());
            }
        }
        Enc::Object(members) => check_object(path, members, v, problems),
        Enc::Array(members) => match v.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    check_object(&format!("{path}[{i}]"), members, item, problems);
                }
            }
            None => bad("not an array".into()),
        },
    }
}

fn check_object(path: &str, members: &[Member], v: &Value, problems: &mut Vec<String>) {
    let Some(obj) = v.as_object() else {
        problems.push(format!("{path}: not an object (got {v})"));
        return;
    };
    for key in obj.keys() {
        if !members.iter().any(|m| m.name == key) {
            problems.push(format!(
                "{path}: member `{key}` is not one of SGP.22's {:?}",
                members.iter().map(|m| m.name).collect::<Vec<_>>()
            ));
        }
    }
    for member in members {
        let p = format!("{path}.{}", member.name);
        match obj.get(member.name) {
            Some(v) => check_value(&p, member.enc, v, problems),
            None if member.mandatory => problems.push(format!("{p}: mandatory member missing")),
            None => {}
        }
    }
}

/// Checks a JSON text against a table: valid JSON, an object whose members all have SGP.22
/// names, every mandatory member present, every value in its encoding. Returns the problems.
pub fn problems(members: &[Member], text: &[u8]) -> Vec<String> {
    let v: Value = match serde_json::from_slice(text) {
        Ok(v) => v,
        Err(e) => return vec![format!("not JSON: {e}")],
    };
    let mut out = Vec::new();
    check_object("$", members, &v, &mut out);
    out
}

/// The one check of this boundary: `text` (what we produced, or a golden text) against the
/// members of SGP.22 `what` (a label for the failure message).
pub fn check(what: &str, members: &[Member], text: &[u8]) {
    let p = problems(members, text);
    assert!(
        p.is_empty(),
        "{what}: {}\n  in {}",
        p.join("\n  "),
        String::from_utf8_lossy(text)
    );
}

/// The table of the function served at `path` (ES9+/ES2+ path; ES9+ authenticateClient means
/// the SM-DP+ one, not ES11's).
pub fn by_path(path: &str) -> Function {
    *ALL.iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no SGP.22 table for {path}"))
}

/// The table of an ES9+ function named as the LPA names it (`initiateAuthentication`, …).
pub fn es9(function: &str) -> Function {
    by_path(&format!("/gsma/rsp2/es9plus/{function}"))
}

/// The table of an ES2+ function (`downloadOrder`, …).
pub fn es2(function: &str) -> Function {
    by_path(&format!("/gsma/rsp2/es2plus/{function}"))
}
