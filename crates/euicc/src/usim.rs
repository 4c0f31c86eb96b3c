//! The enabled profile's USIM (TS 31.102): files and AUTHENTICATE.

use simforge_aka::{Algorithm, AuthFailure, K, Opc, SqnCheck, Topc, milenage, tuak};
use simforge_saip::Profile;

use crate::Euicc;
use crate::apdu::{Channel, Command, Selected, sw};
use crate::state::{Secret, SqnState, UsimFile, UsimState};

/// The 3GPP USIM AID prefix (RID A000000087, PIX 1002…).
const USIM_AID_DEFAULT: [u8; 7] = [0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02];

/// USIM EFs by SAIP component name and file identifier.
const USIM_FILES: &[(&str, u16)] = &[
    ("ef-imsi", 0x6F07),
    ("ef-arr", 0x6F06),
    ("ef-keys", 0x6F08),
    ("ef-keysPS", 0x6F09),
    ("ef-hpplmn", 0x6F31),
    ("ef-ust", 0x6F38),
    ("ef-spn", 0x6F46),
    ("ef-est", 0x6F56),
    ("ef-start-hfn", 0x6F5B),
    ("ef-threshold", 0x6F5C),
    ("ef-psloci", 0x6F73),
    ("ef-acc", 0x6F78),
    ("ef-fplmn", 0x6F7B),
    ("ef-loci", 0x6F7E),
    ("ef-ad", 0x6FAD),
    ("ef-ecc", 0x6FB7),
    ("ef-li", 0x6F05),
    ("ef-epsloci", 0x6FE3),
    ("ef-epsnsc", 0x6FE4),
];

/// IND length in bits (TS 33.102 Annex C; osmo-hlr uses 5).
const IND_BITS: u32 = 5;
/// Largest accepted SQN jump (sqnDelta default 2^28).
const SQN_DELTA: u64 = 1 << 28;

/// Builds the USIM of a decoded profile package, if it has one with AKA parameters.
pub(crate) fn from_profile(p: &Profile) -> Option<UsimState> {
    let usim = p.usim()?;
    let algo = p.aka()?.algo_parameter()?;
    let aid = usim
        .adf_usim
        .0
        .iter()
        .find_map(|fe| match fe {
            simforge_saip::FileElement::FileDescriptor(fcp) => fcp.df_name.as_ref(),
            _ => None,
        })
        .map_or_else(|| USIM_AID_DEFAULT.to_vec(), |a| a.to_vec());
    let mut files = Vec::new();
    for (name, fid) in USIM_FILES {
        if let Some(content) = usim.file(name).and_then(simforge_saip::File::content) {
            files.push(UsimFile {
                fid: *fid,
                under_mf: false,
                content,
            });
        }
    }
    if let Some(content) = p.mf().and_then(|m| m.ef_iccid.content()) {
        files.push(UsimFile {
            fid: 0x2FE2,
            under_mf: true,
            content,
        });
    }
    Some(UsimState {
        aid,
        files,
        algorithm: algo.algorithm_id,
        k: Secret::new(algo.key.to_vec()),
        opc: Secret::new(algo.opc.to_vec()),
        rotation_constants: algo.rotation_constants_or_default(),
        xoring_constants: algo.xoring_constants_or_default(),
        keccak_iterations: algo.number_of_keccak_or_default(),
        sqn: SqnState::default(),
    })
}

pub(crate) fn enabled_usim(e: &Euicc) -> Option<&UsimState> {
    e.state
        .profiles
        .iter()
        .find(|p| p.enabled)
        .and_then(|p| p.usim.as_ref())
}

fn enabled_usim_mut(e: &mut Euicc) -> Option<&mut UsimState> {
    e.state
        .profiles
        .iter_mut()
        .find(|p| p.enabled)
        .and_then(|p| p.usim.as_mut())
}

fn fcp_ef(fid: u16, size: usize) -> Vec<u8> {
    let size = u16::try_from(size).unwrap_or(u16::MAX).to_be_bytes();
    let fid = fid.to_be_bytes();
    let body = [
        0x82, 0x02, 0x41, 0x21, // transparent working EF
        0x83, 0x02, fid[0], fid[1], // file id
        0x8A, 0x01, 0x05, // LCSI operational, activated
        0x80, 0x02, size[0], size[1], // file size
    ];
    let mut out = vec![0x62, u8::try_from(body.len()).unwrap_or(0)];
    out.extend_from_slice(&body);
    out
}

fn fcp_df(fid: u16) -> Vec<u8> {
    let fid = fid.to_be_bytes();
    let body = [
        0x82, 0x02, 0x78, 0x21, // DF
        0x83, 0x02, fid[0], fid[1], 0x8A, 0x01, 0x05,
    ];
    let mut out = vec![0x62, u8::try_from(body.len()).unwrap_or(0)];
    out.extend_from_slice(&body);
    out
}

/// SELECT by file identifier (P1 00) or path (P1 08 from MF, 09 from current DF).
pub(crate) fn select_file(
    e: &mut Euicc,
    ch: &mut Channel,
    cmd: &Command<'_>,
) -> Result<Vec<u8>, u16> {
    if cmd.data.len() < 2 || !cmd.data.len().is_multiple_of(2) {
        return Err(sw::WRONG_LENGTH);
    }
    if cmd.p2 & 0xF3 != 0 && cmd.p2 != 0x0C {
        return Err(sw::WRONG_P1P2);
    }
    let want_fcp = cmd.p2 & 0x0C == 0x04 || cmd.p2 == 0x00;
    let fids: Vec<u16> = cmd
        .data
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    let mut in_usim = ch.selected == Selected::Usim && cmd.p1 != 0x08;
    let mut result: Option<(u16, bool, bool)> = None; // (fid, under_mf, is_df)
    for fid in fids {
        match fid {
            0x3F00 => {
                in_usim = false;
                result = Some((fid, true, true));
            }
            0x7FFF => {
                if enabled_usim(e).is_none() {
                    return Err(sw::NOT_FOUND);
                }
                in_usim = true;
                result = Some((fid, false, true));
            }
            _ => {
                let u = enabled_usim(e).ok_or(sw::NOT_FOUND)?;
                let under_mf = !in_usim;
                if u.files
                    .iter()
                    .any(|f| f.fid == fid && f.under_mf == under_mf)
                {
                    result = Some((fid, under_mf, false));
                } else {
                    return Err(sw::NOT_FOUND);
                }
            }
        }
    }
    let (fid, under_mf, is_df) = result.ok_or(sw::NOT_FOUND)?;
    if is_df {
        ch.selected = if under_mf {
            Selected::Mf
        } else {
            Selected::Usim
        };
        ch.current_ef = None;
        return Ok(if want_fcp { fcp_df(fid) } else { Vec::new() });
    }
    ch.selected = if under_mf {
        Selected::Mf
    } else {
        Selected::Usim
    };
    ch.current_ef = Some((fid, under_mf));
    let size = file(e, fid, under_mf).map_or(0, |f| f.content.len());
    Ok(if want_fcp {
        fcp_ef(fid, size)
    } else {
        Vec::new()
    })
}

fn file(e: &Euicc, fid: u16, under_mf: bool) -> Option<&UsimFile> {
    enabled_usim(e)?
        .files
        .iter()
        .find(|f| f.fid == fid && f.under_mf == under_mf)
}

/// READ BINARY, READ RECORD, VERIFY, AUTHENTICATE. `Err((data, sw))` for error answers.
pub(crate) fn command(
    e: &mut Euicc,
    ch: &mut Channel,
    cmd: &Command<'_>,
) -> Result<Vec<u8>, (Vec<u8>, u16)> {
    let err = |s: u16| (Vec::new(), s);
    match cmd.ins {
        0xB0 => {
            if cmd.p1 & 0x80 != 0 {
                return Err(err(sw::FUNC_NOT_SUPPORTED));
            }
            let (fid, under_mf) = ch.current_ef.ok_or(err(sw::NO_CURRENT_EF))?;
            let content = &file(e, fid, under_mf)
                .ok_or(err(sw::NO_CURRENT_EF))?
                .content;
            let offset = usize::from(u16::from_be_bytes([cmd.p1, cmd.p2]));
            if offset > content.len() {
                return Err(err(sw::WRONG_OFFSET));
            }
            let want = cmd.le.unwrap_or(256);
            let end = (offset + want).min(content.len());
            let data = content[offset..end].to_vec();
            if end - offset < want && cmd.le.is_some() {
                return Err((data, sw::END_OF_FILE));
            }
            Ok(data)
        }
        0xB2 => Err(err(sw::INCOMPATIBLE_FILE)),
        0x20 => Ok(Vec::new()),
        0x88 => {
            if ch.selected != Selected::Usim {
                return Err(err(sw::CONDITIONS));
            }
            if cmd.p1 != 0x00 || cmd.p2 != 0x81 {
                return Err(err(sw::WRONG_P1P2));
            }
            authenticate(e, cmd.data)
        }
        _ => Err(err(sw::INS_NOT_SUPPORTED)),
    }
}

fn lv(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&l, rest) = data.split_first()?;
    let l = usize::from(l);
    Some((rest.get(..l)?, rest.get(l..)?))
}

fn algorithm(u: &UsimState) -> Result<Algorithm, u16> {
    match u.algorithm {
        simforge_saip::ALGORITHM_MILENAGE => {
            let opc = Opc::from_slice(u.opc.expose()).map_err(|_| sw::TECHNICAL)?;
            let r: [u8; 5] = u
                .rotation_constants
                .as_slice()
                .try_into()
                .map_err(|_| sw::TECHNICAL)?;
            let mut c = [[0u8; 16]; 5];
            if u.xoring_constants.len() != 80 {
                return Err(sw::TECHNICAL);
            }
            for (i, chunk) in u.xoring_constants.chunks_exact(16).enumerate() {
                c[i].copy_from_slice(chunk);
            }
            let constants = milenage::MilenageConstants::new(r, c).map_err(|_| sw::TECHNICAL)?;
            Ok(Algorithm::Milenage { opc, constants })
        }
        simforge_saip::ALGORITHM_TUAK => {
            let topc = Topc::from_slice(u.opc.expose()).map_err(|_| sw::TECHNICAL)?;
            let iterations = tuak::KeccakIterations::new(u32::from(u.keccak_iterations))
                .map_err(|_| sw::TECHNICAL)?;
            let Algorithm::Tuak { lengths, .. } = Algorithm::tuak(topc.clone()) else {
                return Err(sw::TECHNICAL);
            };
            Ok(Algorithm::Tuak {
                topc,
                iterations,
                lengths,
            })
        }
        // TS 34.108 §8.1.2: K only (a profile's OPc field, if any, is not used).
        simforge_saip::ALGORITHM_USIM_TEST => Ok(Algorithm::test_xor()),
        _ => Err(sw::CONDITIONS),
    }
}

/// SQN check of TS 33.102 Annex C.2 with an array of SEQ_MS indexed by IND.
fn check_sqn(state: &SqnState, sqn: u64) -> bool {
    let ind = usize::try_from(sqn & ((1 << IND_BITS) - 1)).unwrap_or(0);
    let seq = sqn >> IND_BITS;
    let seq_max = state.highest >> IND_BITS;
    let Some(seq_ms) = state.seq.get(ind) else {
        return false;
    };
    seq > *seq_ms && seq.saturating_sub(seq_max) <= SQN_DELTA
}

/// AUTHENTICATE, 3G context (TS 31.102 §7.1.2.1).
fn authenticate(e: &mut Euicc, data: &[u8]) -> Result<Vec<u8>, (Vec<u8>, u16)> {
    let err = |s: u16| (Vec::new(), s);
    let (rand, rest) = lv(data).ok_or(err(sw::WRONG_DATA))?;
    let (autn, rest) = lv(rest).ok_or(err(sw::WRONG_DATA))?;
    if !rest.is_empty() {
        return Err(err(sw::WRONG_LENGTH));
    }
    let rand: [u8; 16] = rand.try_into().map_err(|_| err(sw::WRONG_DATA))?;
    let u = enabled_usim_mut(e).ok_or(err(sw::CONDITIONS))?;
    let alg = algorithm(u).map_err(err)?;
    let k = K::from_slice(u.k.expose()).map_err(|_| err(sw::TECHNICAL))?;
    let sqn_state = u.sqn.clone();
    let result = alg.authenticate_with(&k, &rand, autn, |sqn, _amf| {
        let s = simforge_aka::sqn_to_u64(sqn);
        if check_sqn(&sqn_state, s) {
            SqnCheck::Accept
        } else {
            SqnCheck::Resync {
                sqn_ms: simforge_aka::sqn_from_u64(sqn_state.highest),
            }
        }
    });
    match result {
        Ok(ok) => {
            let s = simforge_aka::sqn_to_u64(&ok.sqn);
            let ind = usize::try_from(s & ((1 << IND_BITS) - 1)).unwrap_or(0);
            if let Some(slot) = u.sqn.seq.get_mut(ind) {
                *slot = s >> IND_BITS;
            }
            u.sqn.highest = u.sqn.highest.max(s);
            e.dirty = true;
            let mut out = vec![0xDB];
            for part in [ok.res.as_ref(), ok.ck.as_bytes(), ok.ik.as_bytes()] {
                out.push(u8::try_from(part.len()).unwrap_or(0));
                out.extend_from_slice(part);
            }
            if let Ok(kc) = ok.kc() {
                out.push(8);
                out.extend_from_slice(kc.as_bytes());
            }
            Ok(out)
        }
        Err(AuthFailure::SyncFailure { auts }) => {
            let a: &[u8] = auts.as_ref();
            let mut out = vec![0xDC, u8::try_from(a.len()).unwrap_or(0)];
            out.extend_from_slice(a);
            Ok(out)
        }
        Err(AuthFailure::MacFailure) => Err(err(sw::AUTH_MAC)),
        Err(AuthFailure::Invalid(_)) => Err(err(sw::WRONG_DATA)),
    }
}
