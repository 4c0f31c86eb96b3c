//! Verification of a delivered server/HLR (`.out`) file against the operator's keys, saying
//! exactly what was checked.
//!
//! Always: the header is a valid order for the operator, every line has the `var_out:` columns,
//! ICCIDs (Luhn) and IMSIs (PLMN) are well formed, in the header's ranges and unique, ACC
//! matches the IMSI, the count is the header's Quantity, EKI/EOPC/EKICn… are hex of the right
//! size. Against the operator's transport key (KID): the `Transport Key KCV` header line, if the
//! file has one; every EKI against its `KCV` column (the check value of the clear Ki), if the
//! file has one; every EOPC against OPc(decrypted EKI, OP), if the file has that column. Given the
//! electrical file: each card's EF.IMSI/EF.ICCID, Ki, OPc (= OPc(Ki, OP)) and OTA keys; when the
//! two files disagree, the one at fault is named (the electrical file's Ki and OPc check each
//! other through OP). Without a KCV column and without the electrical file, an EKI cannot be
//! checked (AES decrypts any block): the report says so instead of claiming it.

use std::io::BufRead;

use serde::Serialize;
use simforge_sim as sim;
use simforge_store::{Operator, Store};
use simforge_vault::Vault;
use zeroize::Zeroize as _;

use crate::keys::{load_keys, operator_profile};
use crate::{BoxError, Error, Result};

fn bad(message: String, source: Option<BoxError>) -> Error {
    Error::Unverifiable { message, source }
}

/// What a verification found.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The `.out` file's name.
    pub file: String,
    /// Cards listed.
    pub cards: u64,
    /// The header's Quantity.
    pub quantity: u64,
    /// Transport key index.
    pub kid: u32,
    /// OP/TOP index.
    pub opid: u32,
    /// Whether the electrical file was given.
    pub checked_against_electrical: bool,
    /// What was checked (and held, if `problem_count` is 0).
    pub checked: Vec<String>,
    /// What could not be checked with the files given.
    pub not_checked: Vec<String>,
    /// The first problems found (at most 20).
    pub problems: Vec<String>,
    /// Every problem found.
    pub problem_count: u64,
}

impl Report {
    /// True when no problem was found.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.problem_count == 0
    }
}

/// A file to verify: its lines and its name (for the messages).
pub struct Input<'a, R> {
    /// The file.
    pub reader: R,
    /// Its name, e.g. its path.
    pub name: &'a str,
}

struct Bitmap(Vec<u64>);

impl Bitmap {
    fn new(n: u64) -> Self {
        Self(vec![0; n.div_ceil(64) as usize])
    }
    /// Sets bit `i`; false if it was already set.
    fn insert(&mut self, i: u64) -> bool {
        let (w, b) = ((i / 64) as usize, i % 64);
        let Some(word) = self.0.get_mut(w) else {
            return false;
        };
        let was = *word & (1 << b) != 0;
        *word |= 1 << b;
        !was
    }
}

fn unhex16(s: &str) -> Option<[u8; 16]> {
    let mut b = [0u8; 16];
    sim::secret::decode_hex_into(s, &mut b).ok()?;
    Some(b)
}

/// Decodes whole AES blocks of hex and decrypts them; `None` unless `s` is `len` bytes of hex.
fn decrypt_hex(
    t: &dyn sim::BatchCipher,
    s: &str,
    len: usize,
) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
    let Some(v) = sim::secret::decode_hex(s).ok() else {
        return Ok(None);
    };
    if v.len() != len || !len.is_multiple_of(16) {
        return Ok(None);
    }
    let v = zeroize::Zeroizing::new(v);
    let mut blocks = zeroize::Zeroizing::new(
        v.chunks_exact(16)
            .filter_map(|c| <[u8; 16]>::try_from(c).ok())
            .collect::<Vec<_>>(),
    );
    t.decrypt_blocks(&mut blocks)?;
    Ok(Some(zeroize::Zeroizing::new(blocks.concat())))
}

/// The OTA key set number and kind of a `.out` column, with whether it is encrypted.
fn ota_column(c: sim::Column) -> Option<(u8, &'static str, bool)> {
    use sim::Column as C;
    Some(match c {
        C::Kic(n) => (n, "KIC", false),
        C::Kid(n) => (n, "KID", false),
        C::Kik(n) => (n, "KIK", false),
        C::Ekic(n) => (n, "KIC", true),
        C::Ekid(n) => (n, "KID", true),
        C::Ekik(n) => (n, "KIK", true),
        _ => return None,
    })
}

/// Verifies the `.out` file `out` of operator `op` against its keys (and, given it, the
/// batch's electrical file). A file that cannot be checked at all is an error
/// ([`ErrorKind::Verify`](crate::ErrorKind::Verify)); problems found card by card are in the
/// report.
///
/// Unsealing the keys is recorded in the audit log as done by `actor`.
pub async fn verify<R: BufRead, E: BufRead>(
    store: &Store,
    vault: &dyn Vault,
    actor: &crate::Actor,
    op: &Operator,
    out: Input<'_, R>,
    electrical: Option<Input<'_, E>>,
) -> Result<Report> {
    verify_with(store, vault, actor, op, (out, electrical), None).await
}

/// As [`verify`], with the HSM that holds the operator's transport key when its KID is stored
/// as an HSM key (the EKIs are then decrypted in the token).
///
/// # Errors
/// As [`verify`]; [`Error::Invalid`] for a KID held by an HSM when `hsm` is `None`.
pub async fn verify_with<R: BufRead, E: BufRead>(
    store: &Store,
    vault: &dyn Vault,
    actor: &crate::Actor,
    op: &Operator,
    (out, electrical): (Input<'_, R>, Option<Input<'_, E>>),
    hsm: Option<&dyn crate::keys::TransportKeys>,
) -> Result<Report> {
    let profile = operator_profile(op)?;
    let out_name = out.name;
    let mut lines = sim::BoundedLines::new(out.reader, sim::text::MAX_LINE);
    let mut header = String::new();
    let mut header_kcv: Option<(String, usize)> = None;
    let columns = loop {
        let Some(line) = lines.next() else {
            return Err(bad(format!("{out_name}: no `var_out:` line"), None));
        };
        let line = line.map_err(|e| bad(out_name.to_owned(), Some(e.into())))?;
        let n = lines.line_number();
        if let Some(cols) = line.strip_prefix("var_out:") {
            break sim::Column::parse_list(cols)
                .map_err(|e| bad(format!("{out_name}: line {n}: var_out"), Some(e.into())))?;
        }
        if let Some((label, value)) = line.split_once(':')
            && label
                .trim()
                .eq_ignore_ascii_case(sim::formats::TRANSPORT_KCV_LABEL)
        {
            header_kcv = Some((value.trim().to_ascii_uppercase(), n));
        }
        header.push_str(&line);
        header.push('\n');
    };
    // The header is the order's header: read it with the order parser.
    let plan = sim::parse_order_file(
        header.as_bytes(),
        &profile,
        &sim::CardProfile::default(),
        "verify",
    )
    .map_err(|e| bad(format!("{out_name}: header"), Some(e.into())))?;
    let (transport, variant) =
        load_keys(store, vault, actor, (op.id, "verify"), plan.kid, plan.opid).await?;
    let transport = transport.cipher(plan.kid, hsm)?;
    let kid = plan.kid;

    let col = |c: sim::Column| columns.iter().position(|x| *x == c);
    let (c_imsi, c_iccid, c_eki, c_acc, c_eopc, c_opc, c_kcv) = (
        col(sim::Column::Imsi),
        col(sim::Column::Iccid).or_else(|| col(sim::Column::IccidFull)),
        col(sim::Column::Eki),
        col(sim::Column::Acc),
        col(sim::Column::Eopc),
        col(sim::Column::Opc),
        col(sim::Column::Kcv),
    );
    let (Some(c_imsi), Some(c_iccid), Some(c_eki)) = (c_imsi, c_iccid, c_eki) else {
        return Err(bad(
            format!("{out_name}: var_out must name IMSI, ICCID and EKI"),
            None,
        ));
    };

    let mut problems = Vec::new();
    let mut problem_count = 0u64;
    let mut report = |msg: String| {
        problem_count += 1;
        if problems.len() < 20 {
            problems.push(msg);
        }
    };

    // The transport key against the file's KCV: with another key every decryption is noise.
    let our_kcv = sim::secret::to_hex(&transport.check_value());
    let key_matches = match &header_kcv {
        Some((kcv, n)) if *kcv != our_kcv => {
            report(format!(
                "{out_name}: line {n}: the file's transport key KCV {kcv} is not that of KID {kid} ({our_kcv}): it was encrypted under another transport key (or the line is damaged); EKIs not decrypted"
            ));
            false
        }
        _ => true,
    };

    let elec_name = electrical.as_ref().map(|e| e.name).unwrap_or_default();
    let given_electrical = electrical.is_some();
    let mut elec = match electrical {
        Some(e) => {
            let r = sim::ElectricalReader::new(e.reader).map_err(|e| match e {
                sim::ElectricalError::Text(t) => bad(elec_name.to_owned(), Some(t.into())),
                _ => bad(
                    format!("{elec_name}: header lacks IMSI, ICCID, KI or OPC"),
                    None,
                ),
            })?;
            let cols = r.columns().clone();
            // KICn/KIDn/KIKn by the `.out` column they match.
            let ota: Vec<(sim::Column, usize)> = columns
                .iter()
                .filter_map(|c| {
                    let (n, kind, _) = ota_column(*c)?;
                    Some((*c, cols.find(&format!("{kind}{n}"))?))
                })
                .collect();
            Some((r, cols, ota))
        }
        None => None,
    };

    let q = plan.quantity;
    let mut seen_iccid = Bitmap::new(q);
    let mut seen_imsi = Bitmap::new(q);
    let mut cards = 0u64;
    // Cards whose EKI failed a check (KCV column, EOPC, electrical Ki).
    let mut eki_failures = 0u64;
    let mut eki_checked = 0u64;
    loop {
        let line = match lines.next() {
            None => break,
            Some(Ok(l)) => l,
            Some(Err(e)) => {
                report(format!("{out_name}: {e}; the rest of the file is not read"));
                break;
            }
        };
        let n = lines.line_number();
        if line.trim().is_empty() {
            continue;
        }
        cards += 1;
        let f: Vec<&str> = line.split_whitespace().collect();
        // The electrical file's line for this card, read in step.
        let eline = match elec.as_mut() {
            Some((el, _, _)) => match el.next() {
                Some(Ok(l)) => Some(l),
                Some(Err(e)) => {
                    report(format!("{elec_name}: {e}"));
                    None
                }
                None => {
                    report(format!(
                        "{out_name}: line {n}: the electrical file has no line for this card (it has fewer cards)"
                    ));
                    None
                }
            },
            None => None,
        };
        if f.len() != columns.len() {
            report(format!(
                "{out_name}: line {n}: {} fields, var_out names {}",
                f.len(),
                columns.len()
            ));
            continue;
        }
        let imsi = match sim::Imsi::parse(f[c_imsi], &profile.plmn) {
            Ok(v) => Some(v),
            Err(e) => {
                report(format!("{out_name}: line {n}: IMSI: {e}"));
                None
            }
        };
        if let Some(imsi) = &imsi {
            let off = imsi.value().wrapping_sub(plan.first_imsi.value());
            if off >= q {
                report(format!(
                    "{out_name}: line {n}: IMSI {imsi} outside the header range"
                ));
            } else if !seen_imsi.insert(off) {
                report(format!("{out_name}: line {n}: IMSI {imsi} appears twice"));
            }
            if let Some(c) = c_acc {
                let want = sim::ef::acc(imsi);
                if f[c] != format!("{:02X}{:02X}", want[0], want[1]) {
                    report(format!(
                        "{out_name}: line {n}: ACC {} does not match the IMSI's access class",
                        f[c]
                    ));
                }
            }
        }
        let iccid = match sim::Iccid::parse_either(f[c_iccid], profile.iccid_len) {
            Ok(v) => Some(v),
            Err(e) => {
                report(format!("{out_name}: line {n}: ICCID: {e}"));
                None
            }
        };
        if let Some(iccid) = &iccid {
            let off = iccid
                .body_value()
                .wrapping_sub(plan.first_iccid.body_value());
            if off >= q || iccid.len() != plan.first_iccid.len() {
                report(format!(
                    "{out_name}: line {n}: ICCID {} outside the header range",
                    iccid.body()
                ));
            } else if !seen_iccid.insert(off) {
                report(format!(
                    "{out_name}: line {n}: ICCID {} appears twice",
                    iccid.body()
                ));
            }
        }
        let Some(mut ki) = unhex16(f[c_eki]) else {
            report(format!("{out_name}: line {n}: EKI is not 32 hex digits"));
            continue;
        };
        let kcv = match c_kcv.map(|c| sim::secret::decode_hex(f[c])) {
            None => None,
            Some(Ok(v)) if v.len() == 3 => Some([v[0], v[1], v[2]]),
            Some(_) => {
                report(format!("{out_name}: line {n}: KCV is not 6 hex digits"));
                None
            }
        };
        // Each value is checked for its form even when the key is wrong.
        let opc_len = match &variant {
            sim::OperatorVariant::Op(_) => 16,
            sim::OperatorVariant::Top(_) => 32,
        };
        let eopc = c_eopc
            .map(|c| decrypt_hex(transport.as_ref(), f[c], opc_len))
            .transpose()?;
        if matches!(eopc, Some(None)) {
            report(format!(
                "{out_name}: line {n}: EOPC is not {} hex digits",
                opc_len * 2
            ));
        }
        let mut ota_values = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            if let Some((_, _, encrypted)) = ota_column(*c) {
                let v = if encrypted {
                    decrypt_hex(transport.as_ref(), f[i], 16)?
                } else {
                    sim::secret::decode_hex(f[i]).ok().filter(|v| v.len() == 16)
                };
                match v {
                    Some(v) => ota_values.push((*c, v)),
                    None => report(format!(
                        "{out_name}: line {n}: {} is not 32 hex digits",
                        c.name()
                    )),
                }
            }
        }
        if !key_matches {
            ki.fill(0);
            // Only what does not depend on the transport key: the electrical file itself.
            if let (Some((_, ec, _)), Some(rec)) = (elec.as_ref(), &eline) {
                let m = rec.line_number();
                if let Some(el_ki) = rec.ki(ec) {
                    let el_opc = sim::card::derive_opc(&variant, &el_ki).map_err(Error::Derive)?;
                    let given = rec.opc(ec);
                    if given.as_deref().map(Vec::as_slice) != Some(el_opc.expose()) {
                        report(format!(
                            "{elec_name}: line {m}: OPc is not OPc(Ki, OP {})",
                            plan.opid
                        ));
                    }
                }
            }
            continue;
        }
        let mut blocks = [ki];
        transport.decrypt_blocks(&mut blocks)?;
        ki = blocks[0];
        blocks.zeroize();
        let ki_key = sim::Key128::from_bytes(ki);
        ki.fill(0);
        let opc = sim::card::derive_opc(&variant, &ki_key).map_err(Error::Derive)?;
        let mut eki_bad = false;
        let mut eki_tested = false;
        if let Some(kcv) = kcv {
            eki_tested = true;
            if sim::kcv128(ki_key.expose()) != kcv {
                eki_bad = true;
                report(format!(
                    "{out_name}: line {n}: EKI does not decrypt to a Ki with the line's KCV {} (EKI or KCV damaged)",
                    f[c_kcv.unwrap_or_default()]
                ));
            }
        }
        if let Some(Some(e)) = &eopc {
            eki_tested = true;
            if e.as_slice() != opc.expose() {
                eki_bad = true;
                report(format!(
                    "{out_name}: line {n}: EOPC is not OPc(decrypted EKI, OP {}): EKI or EOPC damaged",
                    plan.opid
                ));
            }
        }
        if let Some(c) = c_opc {
            let given = sim::secret::decode_hex(f[c]).ok();
            if given.as_deref().map(Vec::as_slice) != Some(opc.expose()) {
                eki_tested = true;
                eki_bad = true;
                report(format!(
                    "{out_name}: line {n}: OPC is not OPc(decrypted EKI, OP {}): EKI or OPC damaged",
                    plan.opid
                ));
            }
        }
        if let (Some((_, ec, ota)), Some(rec)) = (elec.as_ref(), &eline) {
            let m = rec.line_number();
            let get = |i: usize| rec.field(i);
            if let Some(imsi) = &imsi
                && !get(ec.imsi).eq_ignore_ascii_case(&sim::secret::to_hex(&imsi.to_ef()))
            {
                report(format!(
                    "{elec_name}: line {m}: EF.IMSI is not that of IMSI {imsi} ({out_name} line {n}): the files list different cards"
                ));
            }
            if let Some(iccid) = &iccid
                && !get(ec.iccid).eq_ignore_ascii_case(&sim::secret::to_hex(&iccid.to_ef()))
            {
                report(format!(
                    "{elec_name}: line {m}: EF.ICCID is not that of ICCID {iccid} ({out_name} line {n}): the files list different cards"
                ));
            }
            // Compare without printing any value. The electrical file's Ki and OPc check each
            // other through OP, which tells which file is wrong when they disagree with the EKI.
            let el_ki = rec.ki(ec);
            let el_opc = rec.opc(ec);
            let el_opc = el_opc.as_deref().map(Vec::as_slice);
            let el_consistent = match &el_ki {
                Some(k) => {
                    let want = sim::card::derive_opc(&variant, k).map_err(Error::Derive)?;
                    el_opc == Some(want.expose())
                }
                None => false,
            };
            eki_tested = true;
            if el_ki.as_ref() == Some(&ki_key) {
                if !el_consistent {
                    report(format!(
                        "{elec_name}: line {m}: OPc is not OPc(Ki, OP {})",
                        plan.opid
                    ));
                }
            } else if el_consistent {
                eki_bad = true;
                report(format!(
                    "{out_name}: line {n}: EKI does not decrypt to the card's Ki (the electrical file's Ki and OPc agree with each other and OP {})",
                    plan.opid
                ));
            } else if el_opc == Some(opc.expose()) {
                report(format!(
                    "{elec_name}: line {m}: Ki is not the card's (the decrypted EKI of {out_name} line {n} and this line's OPc agree)"
                ));
            } else if el_ki.is_none() {
                report(format!("{elec_name}: line {m}: KI is not 32 hex digits"));
            } else {
                eki_bad = true;
                report(format!(
                    "{out_name}: line {n} and {elec_name}: line {m} disagree on Ki, and the electrical OPc fits neither Ki"
                ));
            }
            for (c, i) in ota {
                let Some((_, v)) = ota_values.iter().find(|(x, _)| x == c) else {
                    continue;
                };
                let given = sim::secret::decode_hex(get(*i)).ok();
                if given.as_deref().map(Vec::as_slice) != Some(v.as_slice()) {
                    report(format!(
                        "{out_name}: line {n}: {} is not the electrical file's key (line {m})",
                        c.name()
                    ));
                }
            }
        }
        if eki_tested {
            eki_checked += 1;
        }
        if eki_bad {
            eki_failures += 1;
        }
    }
    if let Some((el, _, _)) = elec.as_mut()
        && let Some(extra) = el.next()
    {
        match extra {
            Ok(_) => report(format!(
                "{elec_name}: line {}: more cards than {out_name}",
                el.line_number()
            )),
            Err(e) => report(format!("{elec_name}: {e}")),
        }
    }
    if cards != q {
        report(format!(
            "{out_name}: {cards} cards listed, the header's Quantity is {q}"
        ));
    }
    if eki_failures > 1 && eki_failures == eki_checked && header_kcv.is_none() {
        // First, so that it is seen before the card-by-card list.
        problem_count += 1;
        problems.insert(0, format!(
            "{out_name}: every EKI checked fails: the file was probably encrypted under another transport key than KID {kid}"
        ));
    }

    // What was (and was not) checked, in words.
    let mut checked = vec!["header, formats, ICCID/IMSI ranges, uniqueness and count".to_owned()];
    let mut not_checked = Vec::new();
    match &header_kcv {
        Some(_) => checked.push(format!("transport key KID {kid} against the file's KCV")),
        None => not_checked.push("the transport key (the file has no KCV line)".to_owned()),
    }
    if key_matches {
        let mut eki_by = Vec::new();
        if c_kcv.is_some() {
            eki_by.push("its KCV");
        }
        if c_eopc.is_some() || c_opc.is_some() {
            eki_by.push("the OPc column");
        }
        if given_electrical {
            eki_by.push("the electrical file's Ki");
        }
        if eki_by.is_empty() {
            not_checked.push(
                "EKIs (no KCV column and no --electrical: any 32 hex digits decrypt to some Ki)"
                    .to_owned(),
            );
        } else {
            checked.push(format!("every EKI against {}", eki_by.join(", ")));
        }
    }
    if given_electrical {
        checked.push(format!(
            "the electrical file: same cards, Ki, OPc = OPc(Ki, OP {}), OTA keys",
            plan.opid
        ));
    }
    Ok(Report {
        file: out_name.to_owned(),
        cards,
        quantity: q,
        kid,
        opid: plan.opid,
        checked_against_electrical: given_electrical,
        checked,
        not_checked,
        problems,
        problem_count,
    })
}
