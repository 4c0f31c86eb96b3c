//! Orders: what an operator asks the factory to produce.
//!
//! Two forms are accepted:
//! - the operator's order file (`.i01`) in the layout the trade uses (see
//!   `shared/formats/operator-sim-files-zong-style.txt`): `Label : value` header lines with the
//!   quantity, the IMSI and ICCID ranges, the transport key index (`KID`) and the OP index
//!   (`OPID`), then a table of ICCID / IMSI pairs. It is read line by line, so an order of ten
//!   million cards needs no more memory than one of five;
//! - an [`OrderSpec`] (TOML or JSON, for the API): quantity, start ICCID/IMSI or `next`, and a
//!   [`CardProfile`].
//!
//! Both resolve to a [`BatchPlan`] once checked against the operator's [`OperatorProfile`].

use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::ids::{Iccid, IdError, Imsi, Msisdn, Plmn};
use crate::secret::{Adm, Pin, SecretError};

/// A problem in an order, located by line (1-based; 0 when the order has no lines, as for a
/// TOML/JSON order) and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}field {field}: {message}", if *.line > 0 { format!("line {}, ", .line) } else { String::new() })]
pub struct OrderError {
    /// 1-based line number, 0 when not applicable.
    pub line: usize,
    /// The field at fault, as the order names it.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl OrderError {
    fn new(line: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            line,
            field: field.into(),
            message: message.into(),
        }
    }
    fn id(line: usize, field: &str, e: &IdError) -> Self {
        Self::new(line, field, e.to_string())
    }
}

/// The operator facts a batch depends on.
#[derive(Debug, Clone)]
pub struct OperatorProfile {
    /// Operator (tenant) name.
    pub name: String,
    /// Home PLMN.
    pub plmn: Plmn,
    /// ICCID issuer prefix (`89` + country code + issuer), digits.
    pub iccid_prefix: String,
    /// Full ICCID length (19 or 20 digits, check digit included).
    pub iccid_len: usize,
    /// Service provider name for EF.SPN.
    pub spn: String,
}

/// How a PIN-type code is chosen for each card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodePolicy {
    /// Fresh random digits per card.
    Random,
    /// The same value on every card (a lab or operator choice).
    Fixed(String),
}

impl CodePolicy {
    fn parse(s: &str) -> Self {
        if s.eq_ignore_ascii_case("random") {
            Self::Random
        } else {
            Self::Fixed(s.to_owned())
        }
    }
}

impl<'de> Deserialize<'de> for CodePolicyText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(CodePolicy::parse(&String::deserialize(d)?)))
    }
}

/// `"random"` or a fixed value, as written in a TOML/JSON order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodePolicyText(pub CodePolicy);

impl Serialize for CodePolicyText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            CodePolicy::Random => s.serialize_str("random"),
            CodePolicy::Fixed(v) => s.serialize_str(v),
        }
    }
}

impl Default for CodePolicyText {
    fn default() -> Self {
        Self(CodePolicy::Random)
    }
}

/// The authentication algorithm the cards run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// MILENAGE (TS 35.206), OPc from the operator's OP.
    #[default]
    Milenage,
    /// TUAK (TS 35.231), TOPc from the operator's TOP.
    Tuak,
}

/// What every card of a batch gets, besides its identities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CardProfile {
    /// Authentication algorithm.
    pub algorithm: Algorithm,
    /// PIN1 policy.
    pub pin1: CodePolicyText,
    /// PIN2 policy.
    pub pin2: CodePolicyText,
    /// PUK1 policy.
    pub puk1: CodePolicyText,
    /// PUK2 policy.
    pub puk2: CodePolicyText,
    /// ADM1 policy (8 digits or 16 hex when fixed).
    pub adm1: CodePolicyText,
    /// Number of OTA key sets (KIc/KID/KIK), 0 to 3.
    pub ota_key_sets: u8,
    /// Authentication management field, 4 hex digits.
    pub amf: String,
    /// Initial sequence number.
    pub sqn_start: u64,
}

impl Default for CardProfile {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Milenage,
            pin1: CodePolicyText::default(),
            pin2: CodePolicyText::default(),
            puk1: CodePolicyText::default(),
            puk2: CodePolicyText::default(),
            adm1: CodePolicyText::default(),
            ota_key_sets: 3,
            amf: "8000".to_owned(),
            sqn_start: 0,
        }
    }
}

/// A checked [`CardProfile`]: fixed codes parsed, AMF decoded.
#[derive(Debug, Clone)]
pub struct CheckedProfile {
    /// Authentication algorithm.
    pub algorithm: Algorithm,
    /// PIN1: `None` = random per card.
    pub pin1: Option<Pin>,
    /// PIN2.
    pub pin2: Option<Pin>,
    /// PUK1.
    pub puk1: Option<Pin>,
    /// PUK2.
    pub puk2: Option<Pin>,
    /// ADM1.
    pub adm1: Option<Adm>,
    /// OTA key sets, 0..=3.
    pub ota_key_sets: u8,
    /// AMF.
    pub amf: [u8; 2],
    /// SQN start.
    pub sqn_start: u64,
}

impl CardProfile {
    /// Checks every field.
    pub fn check(&self) -> Result<CheckedProfile, OrderError> {
        fn code(
            p: &CodePolicyText,
            field: &'static str,
            len: std::ops::RangeInclusive<usize>,
        ) -> Result<Option<Pin>, OrderError> {
            match &p.0 {
                CodePolicy::Random => Ok(None),
                CodePolicy::Fixed(v) => {
                    if !len.contains(&v.len()) {
                        return Err(OrderError::new(
                            0,
                            field,
                            format!(
                                "must be {} to {} digits or \"random\"",
                                len.start(),
                                len.end()
                            ),
                        ));
                    }
                    Pin::parse(v, field)
                        .map(Some)
                        .map_err(|e| OrderError::new(0, field, secret_msg(&e)))
                }
            }
        }
        let adm1 = match &self.adm1.0 {
            CodePolicy::Random => None,
            CodePolicy::Fixed(v) => {
                Some(Adm::parse(v).map_err(|e| OrderError::new(0, "adm1", secret_msg(&e)))?)
            }
        };
        if self.ota_key_sets > 3 {
            return Err(OrderError::new(0, "ota_key_sets", "at most 3 OTA key sets"));
        }
        let mut amf = [0u8; 2];
        crate::secret::decode_hex_into(&self.amf, &mut amf)
            .map_err(|e| OrderError::new(0, "amf", e.to_string()))?;
        if self.sqn_start >= 1 << 48 {
            return Err(OrderError::new(0, "sqn_start", "SQN is 48 bits"));
        }
        Ok(CheckedProfile {
            algorithm: self.algorithm,
            pin1: code(&self.pin1, "pin1", 4..=8)?,
            pin2: code(&self.pin2, "pin2", 4..=8)?,
            puk1: code(&self.puk1, "puk1", 8..=8)?,
            puk2: code(&self.puk2, "puk2", 8..=8)?,
            adm1,
            ota_key_sets: self.ota_key_sets,
            amf,
            sqn_start: self.sqn_start,
        })
    }
}

fn secret_msg(e: &SecretError) -> String {
    e.to_string()
}

/// Where a range starts: the next free value of the operator, or a given one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// The first value after every range the operator has reserved.
    Next,
    /// This value.
    At(String),
}

impl<'de> Deserialize<'de> for Start {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(if s.eq_ignore_ascii_case("next") {
            Self::Next
        } else {
            Self::At(s)
        })
    }
}

impl Serialize for Start {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Next => s.serialize_str("next"),
            Self::At(v) => s.serialize_str(v),
        }
    }
}

/// An order for API use (TOML or JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderSpec {
    /// Number of cards.
    pub quantity: u64,
    /// First ICCID (body or full) or `next`.
    #[serde(default = "next")]
    pub iccid_start: Start,
    /// First IMSI or `next`.
    #[serde(default = "next")]
    pub imsi_start: Start,
    /// First MSISDN, if cards get numbers.
    #[serde(default)]
    pub msisdn_start: Option<String>,
    /// Transport key index (the `KID` of order files).
    pub kid: u32,
    /// OP/TOP index (the `OPID` of order files).
    pub opid: u32,
    /// Card profile.
    #[serde(default)]
    pub profile: CardProfile,
    /// A name for the batch (defaults to one the platform makes).
    #[serde(default)]
    pub name: Option<String>,
}

fn next() -> Start {
    Start::Next
}

/// A checked order, ready to be reserved and generated. Ranges are `quantity` consecutive
/// ICCIDs and IMSIs from the first ones.
#[derive(Debug, Clone)]
pub struct BatchPlan {
    /// Batch name (used for file names).
    pub name: String,
    /// Number of cards.
    pub quantity: u64,
    /// First ICCID.
    pub first_iccid: Iccid,
    /// First IMSI.
    pub first_imsi: Imsi,
    /// First MSISDN, if any.
    pub first_msisdn: Option<Msisdn>,
    /// Transport key index.
    pub kid: u32,
    /// OP/TOP index.
    pub opid: u32,
    /// Card profile.
    pub profile: CheckedProfile,
    /// Header lines to echo at the top of the operator's output file (without the line breaks).
    pub header: Vec<String>,
}

impl BatchPlan {
    /// The last ICCID of the batch.
    pub fn last_iccid(&self) -> Result<Iccid, IdError> {
        self.first_iccid
            .checked_add(self.quantity.saturating_sub(1))
    }

    /// The last IMSI of the batch.
    pub fn last_imsi(&self) -> Result<Imsi, IdError> {
        self.first_imsi.checked_add(self.quantity.saturating_sub(1))
    }
}

/// The most cards one batch may hold.
pub const MAX_QUANTITY: u64 = 100_000_000;

impl OrderSpec {
    /// Checks the order against the operator, given the resolved starts (`next` already replaced
    /// by the caller, who knows the reserved ranges).
    pub fn plan(
        &self,
        op: &OperatorProfile,
        first_iccid: &str,
        first_imsi: &str,
        default_name: &str,
    ) -> Result<BatchPlan, OrderError> {
        if self.quantity == 0 || self.quantity > MAX_QUANTITY {
            return Err(OrderError::new(
                0,
                "quantity",
                format!("must be 1 to {MAX_QUANTITY}"),
            ));
        }
        let first_iccid = Iccid::parse_either(first_iccid, op.iccid_len)
            .map_err(|e| OrderError::id(0, "iccid_start", &e))?;
        check_iccid_prefix(op, &first_iccid, 0, "iccid_start")?;
        let first_imsi =
            Imsi::parse(first_imsi, &op.plmn).map_err(|e| OrderError::id(0, "imsi_start", &e))?;
        let first_msisdn = self
            .msisdn_start
            .as_deref()
            .map(Msisdn::parse)
            .transpose()
            .map_err(|e| OrderError::id(0, "msisdn_start", &e))?;
        let profile = self.profile.check()?;
        let name = self.name.clone().unwrap_or_else(|| default_name.to_owned());
        check_name(&name)?;
        let plan = BatchPlan {
            header: synthesized_header(&name, self.quantity, &first_iccid, &first_imsi, self),
            name,
            quantity: self.quantity,
            first_iccid,
            first_imsi,
            first_msisdn,
            kid: self.kid,
            opid: self.opid,
            profile,
        };
        let last = plan
            .last_iccid()
            .map_err(|e| OrderError::id(0, "quantity", &e))?;
        check_iccid_prefix(op, &last, 0, "quantity")?;
        plan.last_imsi()
            .map_err(|e| OrderError::id(0, "quantity", &e))?;
        Ok(plan)
    }
}

fn synthesized_header(
    name: &str,
    q: u64,
    iccid: &Iccid,
    imsi: &Imsi,
    spec: &OrderSpec,
) -> Vec<String> {
    let last_iccid = iccid
        .checked_add(q - 1)
        .map(|i| i.body())
        .unwrap_or_default();
    let last_imsi = imsi
        .checked_add(q - 1)
        .map(|i| i.to_string())
        .unwrap_or_default();
    vec![
        format!("File Name             : {name}"),
        format!("Quantity              : {q}"),
        format!("Local IMSI From       : {imsi}   To : {last_imsi}"),
        format!(
            "SERIAL NUMBER/ICC-ID  : {}   To : {last_iccid}",
            iccid.body()
        ),
        format!("KID                   : {}", spec.kid),
        format!("OPID                  : {}", spec.opid),
    ]
}

fn check_name(name: &str) -> Result<(), OrderError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(OrderError::new(
            0,
            "name",
            "1 to 64 characters from A-Z a-z 0-9 - _ . (not starting with .)",
        ))
    }
}

fn check_iccid_prefix(
    op: &OperatorProfile,
    iccid: &Iccid,
    line: usize,
    field: &str,
) -> Result<(), OrderError> {
    if iccid.body().starts_with(&op.iccid_prefix) {
        Ok(())
    } else {
        Err(OrderError::new(
            line,
            field,
            format!(
                "ICCID {} is outside the operator's issuer prefix {}",
                iccid.body(),
                op.iccid_prefix
            ),
        ))
    }
}

/// Reads an operator order file (`.i01`) and checks it against the operator, line by line.
///
/// The pairs table must list exactly `Quantity` pairs, each the next ICCID and IMSI of the header
/// ranges, in order. Lines are read bounded ([`crate::text::MAX_LINE`] bytes: a longer line is an
/// error before more of it is read) and a UTF-8 byte order mark at the start is dropped.
pub fn parse_order_file(
    input: impl BufRead,
    op: &OperatorProfile,
    profile: &CardProfile,
    default_name: &str,
) -> Result<BatchPlan, OrderError> {
    let mut h = Header::default();
    let mut dashes = 0;
    let mut in_table = false;
    let mut pairs: u64 = 0;
    let lines = crate::text::BoundedLines::new(input, crate::text::MAX_LINE).enumerate();
    let mut plan: Option<BatchPlan> = None;
    let mut last_line = 0;

    for (i, line) in lines {
        let n = i + 1;
        last_line = n;
        let line = line.map_err(|e| OrderError::new(e.line().max(n), "file", e.to_string()))?;
        let t = line.trim();
        if !in_table {
            if t.is_empty() {
                continue;
            }
            if t.chars().all(|c| c == '-') {
                dashes += 1;
                if dashes == 2 {
                    in_table = true;
                    plan = Some(h.plan(profile, default_name, n)?);
                }
                continue;
            }
            if dashes == 1 {
                // The table's column titles, e.g. "ICC-ID  IMSI (Local)".
                continue;
            }
            let (label, value) = t
                .split_once(':')
                .ok_or_else(|| OrderError::new(n, "header", "expected `Label : value`"))?;
            let label = label.trim();
            let value = value.trim();
            h.lines.push(t.to_owned());
            match label.to_ascii_uppercase().as_str() {
                "FILE NAME" => h.file_name = Some(value.to_owned()),
                "QUANTITY" => {
                    let q = value
                        .split_whitespace()
                        .next()
                        .and_then(|v| v.parse::<u64>().ok())
                        .filter(|&q| q > 0 && q <= MAX_QUANTITY)
                        .ok_or_else(|| {
                            OrderError::new(
                                n,
                                "Quantity",
                                format!("expected a number from 1 to {MAX_QUANTITY}"),
                            )
                        })?;
                    h.quantity = Some((q, n));
                }
                "LOCAL IMSI FROM" => {
                    let (a, b) = range_values(value, n, "Local IMSI")?;
                    let a = Imsi::parse(a, &op.plmn)
                        .map_err(|e| OrderError::id(n, "Local IMSI From", &e))?;
                    let b = Imsi::parse(b, &op.plmn)
                        .map_err(|e| OrderError::id(n, "Local IMSI To", &e))?;
                    h.imsi_range = Some((a, b, n));
                }
                "SERIAL NUMBER/ICC-ID" | "ICCID" | "ICC-ID" => {
                    let (a, b) = range_values(value, n, "SERIAL NUMBER/ICC-ID")?;
                    let a = Iccid::parse_either(a, op.iccid_len)
                        .map_err(|e| OrderError::id(n, "SERIAL NUMBER/ICC-ID From", &e))?;
                    let b = Iccid::parse_either(b, op.iccid_len)
                        .map_err(|e| OrderError::id(n, "SERIAL NUMBER/ICC-ID To", &e))?;
                    check_iccid_prefix(op, &a, n, "SERIAL NUMBER/ICC-ID From")?;
                    check_iccid_prefix(op, &b, n, "SERIAL NUMBER/ICC-ID To")?;
                    h.iccid_range = Some((a, b, n));
                }
                "KID" => h.kid = Some(index(value, n, "KID")?),
                "OPID" => h.opid = Some(index(value, n, "OPID")?),
                _ => {} // Vendor, Card Type, Generated on, …: kept in the header only.
            }
            continue;
        }
        // The pairs table.
        if t.is_empty() {
            continue;
        }
        let Some(plan) = plan.as_ref() else { break };
        let mut cols = t.split_whitespace();
        let (Some(iccid_s), Some(imsi_s), None) = (cols.next(), cols.next(), cols.next()) else {
            return Err(OrderError::new(
                n,
                "pair",
                "expected two columns: ICCID and IMSI",
            ));
        };
        if pairs >= plan.quantity {
            return Err(OrderError::new(
                n,
                "pair",
                format!("more pairs than the Quantity {}", plan.quantity),
            ));
        }
        let iccid = Iccid::parse_either(iccid_s, op.iccid_len)
            .map_err(|e| OrderError::id(n, "ICC-ID", &e))?;
        let imsi = Imsi::parse(imsi_s, &op.plmn).map_err(|e| OrderError::id(n, "IMSI", &e))?;
        let want_iccid = plan
            .first_iccid
            .checked_add(pairs)
            .map_err(|e| OrderError::id(n, "ICC-ID", &e))?;
        let want_imsi = plan
            .first_imsi
            .checked_add(pairs)
            .map_err(|e| OrderError::id(n, "IMSI", &e))?;
        if iccid != want_iccid {
            return Err(OrderError::new(
                n,
                "ICC-ID",
                format!(
                    "{} is not the next ICCID of the range (expected {})",
                    iccid.body(),
                    want_iccid.body()
                ),
            ));
        }
        if imsi != want_imsi {
            return Err(OrderError::new(
                n,
                "IMSI",
                format!("{imsi} is not the next IMSI of the range (expected {want_imsi})"),
            ));
        }
        pairs += 1;
    }
    let plan = match plan {
        Some(p) => p,
        None => {
            // No table: the header alone describes the order.
            h.plan(profile, default_name, last_line)?
        }
    };
    if in_table && pairs != plan.quantity {
        return Err(OrderError::new(
            last_line,
            "pair",
            format!(
                "{pairs} ICCID/IMSI pairs listed, Quantity says {}",
                plan.quantity
            ),
        ));
    }
    Ok(plan)
}

/// The header fields of an order file, each with the line it came from.
#[derive(Default)]
struct Header {
    lines: Vec<String>,
    quantity: Option<(u64, usize)>,
    imsi_range: Option<(Imsi, Imsi, usize)>,
    iccid_range: Option<(Iccid, Iccid, usize)>,
    kid: Option<u32>,
    opid: Option<u32>,
    file_name: Option<String>,
}

impl Header {
    /// Checks that the header is complete and consistent; `line` is where it ended.
    fn plan(
        &self,
        profile: &CardProfile,
        default_name: &str,
        line: usize,
    ) -> Result<BatchPlan, OrderError> {
        let missing = |f: &str| OrderError::new(line, f, "missing from the header");
        let (q, qline) = self.quantity.ok_or_else(|| missing("Quantity"))?;
        let (imsi_a, imsi_b, imsi_line) =
            self.imsi_range.ok_or_else(|| missing("Local IMSI From"))?;
        let (iccid_a, iccid_b, iccid_line) = self
            .iccid_range
            .ok_or_else(|| missing("SERIAL NUMBER/ICC-ID"))?;
        let kid = self.kid.ok_or_else(|| missing("KID"))?;
        let opid = self.opid.ok_or_else(|| missing("OPID"))?;
        if imsi_b.value() < imsi_a.value() || imsi_b.value() - imsi_a.value() + 1 != q {
            return Err(OrderError::new(
                imsi_line,
                "Local IMSI",
                format!("range {imsi_a}..{imsi_b} does not hold Quantity {q} (line {qline})"),
            ));
        }
        if iccid_b.len() != iccid_a.len()
            || iccid_b.body_value() < iccid_a.body_value()
            || iccid_b.body_value() - iccid_a.body_value() + 1 != q
        {
            return Err(OrderError::new(
                iccid_line,
                "SERIAL NUMBER/ICC-ID",
                format!(
                    "range {}..{} does not hold Quantity {q} (line {qline})",
                    iccid_a.body(),
                    iccid_b.body()
                ),
            ));
        }
        let profile = profile.check()?;
        let name = self
            .file_name
            .as_deref()
            .map(|f| f.rsplit_once('.').map_or(f, |(stem, _)| stem).to_owned())
            .filter(|n| check_name(n).is_ok())
            .unwrap_or_else(|| default_name.to_owned());
        Ok(BatchPlan {
            name,
            quantity: q,
            first_iccid: iccid_a,
            first_imsi: imsi_a,
            first_msisdn: None,
            kid,
            opid,
            profile,
            header: self.lines.clone(),
        })
    }
}

fn range_values<'a>(
    value: &'a str,
    line: usize,
    field: &str,
) -> Result<(&'a str, &'a str), OrderError> {
    let (a, b) = value
        .split_once("To")
        .or_else(|| value.split_once("to"))
        .ok_or_else(|| OrderError::new(line, field, "expected `FIRST To : LAST`"))?;
    let b = b.trim().trim_start_matches(':').trim();
    Ok((a.trim(), b))
}

fn index(value: &str, line: usize, field: &str) -> Result<u32, OrderError> {
    value
        .parse()
        .map_err(|_| OrderError::new(line, field, "expected a decimal key index"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The operator input file of shared/formats/operator-sim-files-zong-style.txt
    /// (hamzaqureshi5/datagen_web N20230311111111111.txt), completed with its five pairs.
    pub(crate) const ZONG_ORDER: &str = "\
File Name             : N20230311111111111.i01
Vendor                : Secure Tech STC AES 256
Card Type             : 64k 3 in one Cut 4G SIM
Quantity              : 5 ( 1 / 1 )
Local IMSI From       : 410041111143701   To : 410041111143705
SERIAL NUMBER/ICC-ID  : 899204411111000001   To : 899204411111000005
KID                   : 100
OPID                  : 222
Generated on          : 2023-03-10 16:40:57
-----------------------------------------
ICC-ID                IMSI (Local)
-----------------------------------------
899204411111000001\t\t410041111143701
899204411111000002\t\t410041111143702
899204411111000003\t\t410041111143703
899204411111000004\t\t410041111143704
899204411111000005\t\t410041111143705
";

    pub(crate) fn zong() -> OperatorProfile {
        OperatorProfile {
            name: "zong".into(),
            plmn: Plmn::new("410", "04").unwrap(),
            iccid_prefix: "899204".into(),
            iccid_len: 19,
            spn: "Zong".into(),
        }
    }

    fn parse(text: &str) -> Result<BatchPlan, OrderError> {
        parse_order_file(text.as_bytes(), &zong(), &CardProfile::default(), "b1")
    }

    #[test]
    fn parses_the_trade_layout() {
        let p = parse(ZONG_ORDER).unwrap();
        assert_eq!(p.quantity, 5);
        assert_eq!(p.first_iccid.body(), "899204411111000001");
        assert_eq!(p.first_imsi.to_string(), "410041111143701");
        assert_eq!((p.kid, p.opid), (100, 222));
        assert_eq!(p.name, "N20230311111111111");
        assert_eq!(p.header.len(), 9);
    }

    fn err(text: &str) -> OrderError {
        parse(text).unwrap_err()
    }

    #[test]
    fn bad_orders_name_line_and_field() {
        let e = err(&ZONG_ORDER.replace("Quantity              : 5 ( 1 / 1 )", "Quantity : five"));
        assert_eq!((e.line, e.field.as_str()), (4, "Quantity"));
        let e = err(&ZONG_ORDER.replace(": 5 ( 1", ": 6 ( 1"));
        assert_eq!((e.line, e.field.as_str()), (5, "Local IMSI"));
        let e = err(&ZONG_ORDER.replace("899204411111000003\t", "8992044111110000x3\t"));
        assert_eq!((e.line, e.field.as_str()), (15, "ICC-ID"));
        assert!(e.message.contains("not a decimal digit"), "{e}");
        // Full ICCID with a wrong Luhn digit (the right one for ...0003 is 5).
        let e = err(&ZONG_ORDER.replace("899204411111000003\t", "8992044111110000031\t"));
        assert_eq!((e.line, e.field.as_str()), (15, "ICC-ID"));
        assert!(e.message.contains("Luhn"), "{e}");
        // A range that runs out of the operator's issuer prefix (found by fuzzing).
        let e = err(&ZONG_ORDER.replace("To : 899204411111000005", "To : 899205411111000005"));
        assert_eq!((e.line, e.field.as_str()), (6, "SERIAL NUMBER/ICC-ID To"));
        let e = err(&ZONG_ORDER.replace("410041111143704", "410061111143704"));
        assert!(e.message.contains("not in PLMN"), "{e}");
        let e = err(&ZONG_ORDER.replace("KID                   : 100\n", ""));
        assert_eq!(e.field, "KID");
        let e = err(&ZONG_ORDER.replace("Vendor ", "Vendor garbage line\nVendor "));
        assert_eq!((e.line, e.field.as_str()), (2, "header"));
        let e = err(ZONG_ORDER.trim_end().rsplit_once('\n').unwrap().0);
        assert!(e.message.contains("4 ICCID/IMSI pairs listed"), "{e}");
        let e = err(&format!("{ZONG_ORDER}899204411111000006 410041111143706\n"));
        assert!(e.message.contains("more pairs"), "{e}");
        let e = err(&ZONG_ORDER.replace(
            "899204411111000002\t\t410041111143702",
            "899204411111000002\t\t410041111143703",
        ));
        assert_eq!((e.line, e.field.as_str()), (14, "IMSI"));
    }

    #[test]
    fn a_bom_is_dropped_and_the_file_name_read() {
        let p = parse(&format!("\u{feff}{ZONG_ORDER}")).unwrap();
        assert_eq!(p.name, "N20230311111111111");
        assert!(p.header[0].starts_with("File Name"), "{:?}", p.header[0]);
        assert!(p.header.iter().all(|h| !h.contains('\u{feff}')));
        // Windows line breaks too.
        let p = parse(&ZONG_ORDER.replace('\n', "\r\n")).unwrap();
        assert_eq!(p.quantity, 5);
        assert!(p.header.iter().all(|h| !h.contains('\r')));
    }

    #[test]
    fn an_endless_line_is_refused_with_bounded_memory() {
        use std::io::Read;
        // The header, then a pair line that never ends.
        let endless = std::io::repeat(b'9');
        let header = &ZONG_ORDER.as_bytes()[..ZONG_ORDER.find("899204411111000001\t").unwrap()];
        let mut counted = Counted(header.chain(endless), 0);
        let started = std::time::Instant::now();
        let e = parse_order_file(
            std::io::BufReader::new(&mut counted),
            &zong(),
            &CardProfile::default(),
            "b1",
        )
        .unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (13, "file"));
        assert_eq!(
            e.message,
            format!("line 13 longer than {} bytes", crate::text::MAX_LINE)
        );
        assert!(
            counted.1 < 2 * crate::text::MAX_LINE as u64,
            "read {} bytes",
            counted.1
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    /// A reader that counts the bytes it hands out.
    struct Counted<R>(R, u64);

    impl<R: std::io::Read> std::io::Read for Counted<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.read(buf)?;
            self.1 += n as u64;
            Ok(n)
        }
    }

    #[test]
    fn toml_like_spec_checks() {
        let spec: OrderSpec = serde_json::from_str(
            r#"{"quantity": 10, "kid": 1, "opid": 1, "profile": {"pin1": "0000", "puk1": "12345678", "adm1": "random", "ota_key_sets": 2}}"#,
        )
        .unwrap();
        assert_eq!(spec.iccid_start, Start::Next);
        let plan = spec
            .plan(&zong(), "899204000000000001", "410040000000001", "b")
            .unwrap();
        assert_eq!(plan.profile.pin1.as_ref().unwrap().digits(), b"0000");
        assert!(plan.profile.pin2.is_none());
        let mut bad = spec.clone();
        bad.profile.puk1 = CodePolicyText(CodePolicy::Fixed("1234".into()));
        assert_eq!(
            bad.plan(&zong(), "899204000000000001", "410040000000001", "b")
                .unwrap_err()
                .field,
            "puk1"
        );
        assert_eq!(
            spec.plan(&zong(), "899205000000000001", "410040000000001", "b")
                .unwrap_err()
                .field,
            "iccid_start"
        );
        let e = spec
            .plan(&zong(), "899204999999999995", "410040000000001", "b")
            .unwrap_err();
        assert_eq!(e.field, "quantity");
        let unknown = serde_json::from_str::<OrderSpec>(
            r#"{"quantity": 1, "kid": 1, "opid": 1, "colour": "red"}"#,
        );
        assert!(unknown.is_err());
    }
}
