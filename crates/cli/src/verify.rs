//! `simforge verify`: checks a delivered server/HLR (.out) file against the operator's keys —
//! every EKI decrypts, ICCIDs carry valid Luhn digits and stay in the header's ranges, nothing is
//! duplicated, counts match — and, given the electrical file, that each Ki is the card's and each
//! OPc is MILENAGE-OPc(Ki, OP) (or TUAK TOPc).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Args;
use serde::Serialize;
use sim::BlockCipher;
use simforge_sim as sim;

use crate::exit::{CliResult, Code, fail};
use crate::factory::{Ctx, load_keys, operator_profile};

#[derive(Args)]
pub struct VerifyArgs {
    /// Operator name.
    #[arg(long)]
    pub operator: String,
    /// The server/HLR file (.out).
    pub out_file: PathBuf,
    /// The electrical personalization file of the same batch, to check Ki and OPc card by card.
    #[arg(long)]
    pub electrical: Option<PathBuf>,
}

#[derive(Serialize)]
struct Report {
    file: PathBuf,
    cards: u64,
    quantity: u64,
    kid: u32,
    opid: u32,
    checked_against_electrical: bool,
    problems: Vec<String>,
    problem_count: u64,
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

pub async fn verify(ctx: Ctx, a: VerifyArgs) -> CliResult {
    let store = ctx.store().await?;
    let op = store.operator(&a.operator).await?;
    let profile = operator_profile(&op)?;
    let f =
        File::open(&a.out_file).with_context(|| format!("cannot read {}", a.out_file.display()))?;
    let mut lines = BufReader::new(f).lines();
    let mut header = String::new();
    let mut header_lines = 0usize;
    let columns = loop {
        let Some(line) = lines.next() else {
            return Err(fail(
                Code::Verify,
                anyhow!("{}: no `var_out:` line", a.out_file.display()),
            ));
        };
        let line = line.context("read error")?;
        header_lines += 1;
        if let Some(cols) = line.strip_prefix("var_out:") {
            break sim::Column::parse_list(cols)
                .map_err(|e| fail(Code::Verify, anyhow!("line {header_lines}: var_out: {e}")))?;
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
    .map_err(|e| fail(Code::Verify, anyhow!("header: {e}")))?;
    let vault = ctx.vault()?;
    let (transport, variant) = load_keys(&store, &vault, op.id, plan.kid, plan.opid).await?;

    let col = |c: sim::Column| columns.iter().position(|x| *x == c);
    let (c_imsi, c_iccid, c_eki, c_acc, c_eopc) = (
        col(sim::Column::Imsi),
        col(sim::Column::Iccid),
        col(sim::Column::Eki),
        col(sim::Column::Acc),
        col(sim::Column::Eopc),
    );
    if c_imsi.is_none() || c_iccid.is_none() || c_eki.is_none() {
        return Err(fail(
            Code::Verify,
            anyhow!("var_out must name IMSI, ICCID and EKI"),
        ));
    }

    let mut elec = match &a.electrical {
        Some(p) => {
            let f = File::open(p).with_context(|| format!("cannot read {}", p.display()))?;
            let mut l = BufReader::new(f).lines();
            let head = l.next().transpose()?.unwrap_or_default();
            let names: Vec<&str> = head.split(',').collect();
            let find = |n: &str| names.iter().position(|x| *x == n);
            let (Some(i), Some(c), Some(k), Some(o)) =
                (find("IMSI"), find("ICCID"), find("KI"), find("OPC"))
            else {
                return Err(fail(
                    Code::Verify,
                    anyhow!("{}: header lacks IMSI, ICCID, KI or OPC", p.display()),
                ));
            };
            Some((l, [i, c, k, o]))
        }
        None => None,
    };

    let mut problems = Vec::new();
    let mut problem_count = 0u64;
    let mut report = |msg: String| {
        problem_count += 1;
        if problems.len() < 20 {
            problems.push(msg);
        }
    };
    let q = plan.quantity;
    let mut seen_iccid = Bitmap::new(q);
    let mut seen_imsi = Bitmap::new(q);
    let mut cards = 0u64;
    for (i, line) in lines.enumerate() {
        let n = header_lines + i + 1;
        let line = line.context("read error")?;
        if line.trim().is_empty() {
            continue;
        }
        cards += 1;
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != columns.len() {
            report(format!(
                "line {n}: {} fields, var_out names {}",
                f.len(),
                columns.len()
            ));
            continue;
        }
        let imsi_s = c_imsi.map_or("", |c| f[c]);
        let iccid_s = c_iccid.map_or("", |c| f[c]);
        let imsi = match sim::Imsi::parse(imsi_s, &profile.plmn) {
            Ok(v) => Some(v),
            Err(e) => {
                report(format!("line {n}: IMSI: {e}"));
                None
            }
        };
        if let Some(imsi) = &imsi {
            let off = imsi.value().wrapping_sub(plan.first_imsi.value());
            if off >= q {
                report(format!("line {n}: IMSI {imsi} outside the header range"));
            } else if !seen_imsi.insert(off) {
                report(format!("line {n}: IMSI {imsi} appears twice"));
            }
            if let Some(c) = c_acc {
                let want = sim::ef::acc(imsi);
                if f[c] != format!("{:02X}{:02X}", want[0], want[1]) {
                    report(format!(
                        "line {n}: ACC {} does not match the IMSI's access class",
                        f[c]
                    ));
                }
            }
        }
        let iccid = match sim::Iccid::parse_either(iccid_s, profile.iccid_len) {
            Ok(v) => Some(v),
            Err(e) => {
                report(format!("line {n}: ICCID: {e}"));
                None
            }
        };
        if let Some(iccid) = &iccid {
            let off = iccid
                .body_value()
                .wrapping_sub(plan.first_iccid.body_value());
            if off >= q || iccid.len() != plan.first_iccid.len() {
                report(format!(
                    "line {n}: ICCID {} outside the header range",
                    iccid.body()
                ));
            } else if !seen_iccid.insert(off) {
                report(format!("line {n}: ICCID {} appears twice", iccid.body()));
            }
        }
        let Some(mut ki) = c_eki.and_then(|c| unhex16(f[c])) else {
            report(format!("line {n}: EKI is not 32 hex digits"));
            continue;
        };
        transport.decrypt_block(&mut ki);
        let ki_key = sim::Key128::from_bytes(ki);
        zeroize::Zeroize::zeroize(&mut ki);
        let opc = sim::card::derive_opc(&variant, &ki_key).map_err(|e| fail(Code::Failure, e))?;
        if let Some(c) = c_eopc {
            match unhex16(f[c]) {
                Some(mut e) => {
                    transport.decrypt_block(&mut e);
                    if e[..] != opc.expose()[..16.min(opc.expose().len())] {
                        report(format!("line {n}: EOPC is not OPc(Ki, OP)"));
                    }
                    zeroize::Zeroize::zeroize(&mut e);
                }
                None => report(format!("line {n}: EOPC is not 32 hex digits")),
            }
        }
        if let Some((el, [ci, cc, ck, co])) = elec.as_mut() {
            let Some(eline) = el.next().transpose()? else {
                report(format!("line {n}: the electrical file has fewer cards"));
                continue;
            };
            let e: Vec<&str> = eline.split(',').collect();
            let get = |i: usize| e.get(i).copied().unwrap_or("");
            if let Some(imsi) = &imsi
                && !get(*ci).eq_ignore_ascii_case(&sim::secret::to_hex(&imsi.to_ef()))
            {
                report(format!(
                    "line {n}: the electrical file's EF.IMSI is not IMSI {imsi}"
                ));
            }
            if let Some(iccid) = &iccid
                && !get(*cc).eq_ignore_ascii_case(&sim::secret::to_hex(&iccid.to_ef()))
            {
                report(format!(
                    "line {n}: the electrical file's EF.ICCID is not ICCID {iccid}"
                ));
            }
            // Compare without printing either value.
            if unhex16(get(*ck)).map(sim::Key128::from_bytes).as_ref() != Some(&ki_key) {
                report(format!(
                    "line {n}: decrypted EKI is not the electrical file's Ki"
                ));
            }
            let el_opc = sim::secret::decode_hex(get(*co)).ok();
            if el_opc.as_deref().map(Vec::as_slice) != Some(opc.expose()) {
                report(format!(
                    "line {n}: the electrical file's OPc is not OPc(Ki, OP {})",
                    plan.opid
                ));
            }
        }
    }
    if cards != q {
        report(format!(
            "{cards} cards listed, the header's Quantity is {q}"
        ));
    }
    let ok = problem_count == 0;
    let r = Report {
        file: a.out_file.clone(),
        cards,
        quantity: q,
        kid: plan.kid,
        opid: plan.opid,
        checked_against_electrical: a.electrical.is_some(),
        problems,
        problem_count,
    };
    if ctx.json {
        println!("{}", serde_json::to_string(&r)?);
    } else if ok {
        println!(
            "OK: {} cards; every EKI decrypts under KID {}, ICCIDs and IMSIs are unique and in range{}",
            r.cards,
            r.kid,
            if r.checked_against_electrical {
                "; Ki and OPc match the electrical file"
            } else {
                ""
            }
        );
    } else {
        for p in &r.problems {
            println!("{p}");
        }
        println!("FAILED: {} problems in {} cards", r.problem_count, r.cards);
    }
    if ok {
        Ok(())
    } else {
        Err(fail(
            Code::Verify,
            anyhow!("verification failed: {} problems", r.problem_count),
        ))
    }
}
