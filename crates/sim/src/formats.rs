//! The files of the trade, written card by card into byte buffers (the caller owns the I/O).
//!
//! | format | for | secrets in it |
//! |---|---|---|
//! | [`OutFile`] (`.out`) | the operator's HLR/AuC and OTA servers | Ki only as EKI = AES(transport, Ki), OTA keys encrypted the same way (`EKICn`…) unless the operator's columns ask for them in clear; others per column choice |
//! | [`ElectricalFile`] | the card personalization machines | Ki, OPc, codes, OTA keys in clear (EF-encoded) |
//! | [`LaserFile`] | the graphical personalization (print) line | PIN1/PUK1/PIN2/PUK2 for the scratch area |
//! | [`PysimCsv`] | labs: `pySim-prog` | Ki, OPc, ADM in clear |
//! | [`OsmoHlrScript`] | labs: osmo-hlr VTY provisioning | Ki, OPc in clear |

use std::sync::Arc;

mod electrical;

pub use electrical::{ElectricalColumns, ElectricalError, ElectricalReader, ElectricalRecord};

use crate::card::Card;
use crate::ef;
use crate::keys::{BatchCipher, CipherError, kcv128};
use crate::order::BatchPlan;
use crate::secret::push_hex;

/// A file format: a header once, then one record per card.
pub trait CardFormat: Send + Sync {
    /// The file name suffix, e.g. `.out`.
    fn suffix(&self) -> &'static str;
    /// Appends the header.
    fn header(&self, out: &mut Vec<u8>);
    /// Appends one card's record.
    ///
    /// # Errors
    /// [`CipherError`] if the format's cipher (the `.out` file's transport key) fails.
    fn card(&self, card: &Card, out: &mut Vec<u8>) -> Result<(), CipherError>;
    /// Appends the records of consecutive cards (the pipeline's call, one per chunk): by
    /// default card by card; the `.out` file encrypts every card's blocks in one call.
    ///
    /// # Errors
    /// As [`CardFormat::card`].
    fn cards(&self, cards: &[Card], out: &mut Vec<u8>) -> Result<(), CipherError> {
        for c in cards {
            self.card(c, out)?;
        }
        Ok(())
    }
}

/// A column of the operator's server/HLR file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// IMSI digits.
    Imsi,
    /// ICCID body (no check digit), as order files print it.
    Iccid,
    /// Full ICCID with check digit.
    IccidFull,
    /// MSISDN, empty when none.
    Msisdn,
    /// Ki encrypted under the transport key (one AES block).
    Eki,
    /// OPc/TOPc encrypted under the transport key (one AES block per 16 bytes).
    Eopc,
    /// OPc/TOPc in clear (only if the operator asks for it).
    Opc,
    /// PIN1.
    Pin1,
    /// PUK1.
    Puk1,
    /// PIN2.
    Pin2,
    /// PUK2.
    Puk2,
    /// ADM1.
    Adm1,
    /// EF.ACC, 4 hex digits.
    Acc,
    /// OTA KIc of set n (1-based), in clear.
    Kic(u8),
    /// OTA KID of set n.
    Kid(u8),
    /// OTA KIK of set n.
    Kik(u8),
    /// OTA KIc of set n, encrypted under the transport key.
    Ekic(u8),
    /// OTA KID of set n, encrypted.
    Ekid(u8),
    /// OTA KIK of set n, encrypted.
    Ekik(u8),
    /// Key check value of the card's Ki in clear (6 hex digits, [`kcv128`]): lets the receiver
    /// check its decryption of EKI.
    Kcv,
}

impl Column {
    /// Parses a column name (case-insensitive), as in a `var_out:` line.
    pub fn parse(s: &str) -> Option<Self> {
        let u = s.to_ascii_uppercase();
        let indexed = |prefix: &str| -> Option<u8> {
            u.strip_prefix(prefix)
                .and_then(|n| n.parse::<u8>().ok())
                .filter(|n| (1..=3).contains(n))
        };
        Some(match u.as_str() {
            "IMSI" => Self::Imsi,
            "ICCID" => Self::Iccid,
            "ICCID_FULL" => Self::IccidFull,
            "MSISDN" => Self::Msisdn,
            "EKI" => Self::Eki,
            "EOPC" => Self::Eopc,
            "OPC" => Self::Opc,
            "PIN1" => Self::Pin1,
            "PUK1" => Self::Puk1,
            "PIN2" => Self::Pin2,
            "PUK2" => Self::Puk2,
            "ADM1" | "ADM_CODE" => Self::Adm1,
            "ACC" => Self::Acc,
            "KCV" => Self::Kcv,
            _ => {
                if let Some(n) = indexed("EKIC") {
                    Self::Ekic(n)
                } else if let Some(n) = indexed("EKID") {
                    Self::Ekid(n)
                } else if let Some(n) = indexed("EKIK") {
                    Self::Ekik(n)
                } else if let Some(n) = indexed("KIC") {
                    Self::Kic(n)
                } else if let Some(n) = indexed("KID") {
                    Self::Kid(n)
                } else if let Some(n) = indexed("KIK") {
                    Self::Kik(n)
                } else {
                    return None;
                }
            }
        })
    }

    /// The column's name in a `var_out:` line.
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Self::Imsi => "IMSI".into(),
            Self::Iccid => "ICCID".into(),
            Self::IccidFull => "ICCID_FULL".into(),
            Self::Msisdn => "MSISDN".into(),
            Self::Eki => "EKI".into(),
            Self::Eopc => "EOPC".into(),
            Self::Opc => "OPC".into(),
            Self::Pin1 => "PIN1".into(),
            Self::Puk1 => "PUK1".into(),
            Self::Pin2 => "PIN2".into(),
            Self::Puk2 => "PUK2".into(),
            Self::Adm1 => "ADM1".into(),
            Self::Acc => "ACC".into(),
            Self::Kic(n) => format!("KIC{n}"),
            Self::Kid(n) => format!("KID{n}"),
            Self::Kik(n) => format!("KIK{n}"),
            Self::Ekic(n) => format!("EKIC{n}"),
            Self::Ekid(n) => format!("EKID{n}"),
            Self::Ekik(n) => format!("EKIK{n}"),
            Self::Kcv => "KCV".into(),
        }
    }

    /// The default column set: `IMSI EKI ICCID PIN1 PUK1 PIN2 PUK2 ADM1 ACC` then `EKICn EKIDn
    /// EKIKn` for each OTA key set: OTA keys leave the factory encrypted under the transport key,
    /// like Ki; an operator that wants them in clear names `KICn KIDn KIKn` in its columns.
    #[must_use]
    pub fn defaults(ota_sets: u8) -> Vec<Self> {
        let mut v = vec![
            Self::Imsi,
            Self::Eki,
            Self::Iccid,
            Self::Pin1,
            Self::Puk1,
            Self::Pin2,
            Self::Puk2,
            Self::Adm1,
            Self::Acc,
        ];
        for n in 1..=ota_sets {
            v.extend([Self::Ekic(n), Self::Ekid(n), Self::Ekik(n)]);
        }
        v
    }

    /// Parses a space- or comma-separated list of column names.
    pub fn parse_list(s: &str) -> Result<Vec<Self>, String> {
        s.split([' ', ',', '\t'])
            .filter(|c| !c.is_empty())
            .map(|c| Self::parse(c).ok_or_else(|| format!("unknown column {c:?}")))
            .collect()
    }
}

/// Appends `data` cut into zero-padded 16-byte blocks to `blocks`.
fn push_blocks(data: &[u8], blocks: &mut Vec<[u8; 16]>) {
    for chunk in data.chunks(16) {
        let mut block = [0u8; 16];
        block[..chunk.len()].copy_from_slice(chunk);
        blocks.push(block);
    }
}

/// The label of the `.out` header line that carries the transport key's check value.
pub const TRANSPORT_KCV_LABEL: &str = "Transport Key KCV";

/// The operator's server/HLR file (`.out`): the order header, a `Transport Key KCV : XXXXXX`
/// line (the [`kcv`] of the transport key the file's encrypted columns are under), a `var_out:`
/// line naming the columns, then one space-separated line per card.
pub struct OutFile {
    header: Vec<String>,
    columns: Vec<Column>,
    transport: Arc<dyn BatchCipher>,
}

impl OutFile {
    /// A `.out` writer for a plan, with the operator's columns and transport key.
    #[must_use]
    pub fn new(plan: &BatchPlan, columns: Vec<Column>, transport: Arc<dyn BatchCipher>) -> Self {
        Self {
            header: plan.header.clone(),
            columns,
            transport,
        }
    }
}

impl CardFormat for OutFile {
    fn suffix(&self) -> &'static str {
        ".out"
    }

    fn header(&self, out: &mut Vec<u8>) {
        for h in &self.header {
            out.extend_from_slice(h.as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(format!("{TRANSPORT_KCV_LABEL:<22}: ").as_bytes());
        push_hex(out, &self.transport.check_value());
        out.push(b'\n');
        out.extend_from_slice(b"var_out:");
        let names: Vec<String> = self.columns.iter().map(Column::name).collect();
        out.extend_from_slice(names.join(" ").as_bytes());
        out.push(b'\n');
    }

    fn card(&self, c: &Card, out: &mut Vec<u8>) -> Result<(), CipherError> {
        self.cards(std::slice::from_ref(c), out)
    }

    /// Every encrypted column of every card in one [`BatchCipher::encrypt_blocks`] call
    /// (with an HSM: one `C_Encrypt` per chunk of cards), then the records.
    fn cards(&self, cards: &[Card], out: &mut Vec<u8>) -> Result<(), CipherError> {
        let mut blocks = zeroize::Zeroizing::new(Vec::new());
        for c in cards {
            for col in &self.columns {
                if let Some(data) = encrypted_data(*col, c) {
                    push_blocks(data, &mut blocks);
                }
            }
        }
        self.transport.encrypt_blocks(&mut blocks)?;
        let mut next = blocks.iter();
        for c in cards {
            self.record(c, &mut next, out);
        }
        Ok(())
    }
}

/// The clear value a column shows encrypted, if it is an encrypted column with a value.
fn encrypted_data(col: Column, c: &Card) -> Option<&[u8]> {
    let ota = |n: u8| c.ota.get(usize::from(n).checked_sub(1)?);
    match col {
        Column::Eki => Some(c.ki.expose()),
        Column::Eopc => Some(c.opc.expose()),
        Column::Ekic(n) => ota(n).map(|s| s.kic.expose().as_slice()),
        Column::Ekid(n) => ota(n).map(|s| s.kid.expose().as_slice()),
        Column::Ekik(n) => ota(n).map(|s| s.kik.expose().as_slice()),
        _ => None,
    }
}

impl OutFile {
    /// One card's line; its encrypted columns take their blocks from `encrypted`, in column
    /// order ([`encrypted_data`]'s).
    fn record<'b>(
        &self,
        c: &Card,
        encrypted: &mut impl Iterator<Item = &'b [u8; 16]>,
        out: &mut Vec<u8>,
    ) {
        for (i, col) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            if let Some(data) = encrypted_data(*col, c) {
                for block in encrypted.take(data.len().div_ceil(16)) {
                    push_hex(out, block);
                }
                continue;
            }
            let ota = |n: &u8| c.ota.get(usize::from(*n) - 1);
            match col {
                Column::Imsi => c.imsi.write_ascii(out),
                Column::Iccid => c.iccid.write_body(out),
                Column::IccidFull => c.iccid.write_full(out),
                Column::Msisdn => {
                    if let Some(m) = c.msisdn {
                        out.extend_from_slice(m.to_string().as_bytes());
                    }
                }
                Column::Opc => push_hex(out, c.opc.expose()),
                Column::Pin1 => out.extend_from_slice(c.pin1.digits()),
                Column::Puk1 => out.extend_from_slice(c.puk1.digits()),
                Column::Pin2 => out.extend_from_slice(c.pin2.digits()),
                Column::Puk2 => out.extend_from_slice(c.puk2.digits()),
                Column::Adm1 => c.adm1.write_text(out),
                Column::Acc => push_hex(out, &ef::acc(&c.imsi)),
                Column::Kic(n) => {
                    if let Some(s) = ota(n) {
                        push_hex(out, s.kic.expose())
                    }
                }
                Column::Kid(n) => {
                    if let Some(s) = ota(n) {
                        push_hex(out, s.kid.expose())
                    }
                }
                Column::Kik(n) => {
                    if let Some(s) = ota(n) {
                        push_hex(out, s.kik.expose())
                    }
                }
                Column::Kcv => push_hex(out, &kcv128(c.ki.expose())),
                // Encrypted columns without a value (an OTA set the card does not have).
                Column::Eki
                | Column::Eopc
                | Column::Ekic(_)
                | Column::Ekid(_)
                | Column::Ekik(_) => {}
            }
        }
        out.push(b'\n');
    }
}

/// The electrical personalization file for the card machines: CSV of EF-encoded values
/// (EF.IMSI, EF.ICCID, PIN/PUK/ADM as VERIFY data, Ki, OPc, EF.ACC, OTA keys), as in the
/// trade's `DATA_*.txt` files.
pub struct ElectricalFile {
    ota_sets: u8,
}

impl ElectricalFile {
    /// An electrical file writer for a plan.
    #[must_use]
    pub fn new(plan: &BatchPlan) -> Self {
        Self {
            ota_sets: plan.profile.ota_key_sets,
        }
    }
}

impl CardFormat for ElectricalFile {
    fn suffix(&self) -> &'static str {
        ".elec.csv"
    }

    fn header(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"IMSI,ICCID,PIN1,PUK1,PIN2,PUK2,ADM1,KI,OPC,ACC");
        for n in 1..=self.ota_sets {
            out.extend_from_slice(format!(",KIC{n},KID{n},KIK{n}").as_bytes());
        }
        out.push(b'\n');
    }

    fn card(&self, c: &Card, out: &mut Vec<u8>) -> Result<(), CipherError> {
        push_hex(out, &c.imsi.to_ef());
        out.push(b',');
        push_hex(out, &c.iccid.to_ef());
        for code in [&c.pin1, &c.puk1, &c.pin2, &c.puk2] {
            out.push(b',');
            push_hex(out, &code.to_ef());
        }
        out.push(b',');
        push_hex(out, &c.adm1.to_ef());
        out.push(b',');
        push_hex(out, c.ki.expose());
        out.push(b',');
        push_hex(out, c.opc.expose());
        out.push(b',');
        push_hex(out, &ef::acc(&c.imsi));
        for s in &c.ota {
            for k in [&s.kic, &s.kid, &s.kik] {
                out.push(b',');
                push_hex(out, k.expose());
            }
        }
        out.push(b'\n');
        Ok(())
    }
}

/// The laser (graphical personalization) file: the ICCID whole and in print groups, the codes for
/// the scratch area, and the IMSI split after the PLMN-and-a-bit, as in the trade's `LASER_*.txt`.
pub struct LaserFile {
    groups: Vec<usize>,
}

impl LaserFile {
    /// Groups of 4 digits over the full ICCID (the last group takes what is left).
    #[must_use]
    pub fn new(plan: &BatchPlan) -> Self {
        let len = plan.first_iccid.len();
        let mut groups = vec![4; len / 4];
        if !len.is_multiple_of(4) {
            groups.push(len % 4);
        }
        Self { groups }
    }
}

impl CardFormat for LaserFile {
    fn suffix(&self) -> &'static str {
        ".laser.csv"
    }

    fn header(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"ICCID");
        for i in 1..=self.groups.len() {
            out.extend_from_slice(format!(",ICCID{i}").as_bytes());
        }
        out.extend_from_slice(b",PIN1,PUK1,PIN2,PUK2,IMSI,IMSI1,IMSI2\n");
    }

    fn card(&self, c: &Card, out: &mut Vec<u8>) -> Result<(), CipherError> {
        let start = out.len();
        c.iccid.write_full(out);
        let full: [u8; 20] = digits_copy(&out[start..]);
        let mut at = 0;
        for g in &self.groups {
            out.push(b',');
            out.extend_from_slice(&full[at..(at + g).min(20)]);
            at += g;
        }
        for code in [&c.pin1, &c.puk1, &c.pin2, &c.puk2] {
            out.push(b',');
            out.extend_from_slice(code.digits());
        }
        out.push(b',');
        let start = out.len();
        c.imsi.write_ascii(out);
        let len = out.len() - start;
        let imsi: [u8; 20] = digits_copy(&out[start..]);
        let split = 6.min(len);
        out.push(b',');
        out.extend_from_slice(&imsi[..split]);
        out.push(b',');
        out.extend_from_slice(&imsi[split..len]);
        out.push(b'\n');
        Ok(())
    }
}

/// The CSV that `pySim-prog` reads to program test SIMs (`shared/formats/pysim-prog-csv-format.txt`).
pub struct PysimCsv {
    mcc: String,
    mnc: String,
}

impl PysimCsv {
    /// A pySim CSV writer for the operator's PLMN.
    #[must_use]
    pub fn new(plmn: &crate::Plmn) -> Self {
        Self {
            mcc: plmn.mcc(),
            mnc: plmn.mnc(),
        }
    }
}

impl CardFormat for PysimCsv {
    fn suffix(&self) -> &'static str {
        ".pysim.csv"
    }

    fn header(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"iccid,imsi,mcc,mnc,ki,opc,acc,pin_adm,pin_adm_hex\n");
    }

    fn card(&self, c: &Card, out: &mut Vec<u8>) -> Result<(), CipherError> {
        c.iccid.write_full(out);
        out.push(b',');
        c.imsi.write_ascii(out);
        out.push(b',');
        out.extend_from_slice(self.mcc.as_bytes());
        out.push(b',');
        out.extend_from_slice(self.mnc.as_bytes());
        out.push(b',');
        push_hex(out, c.ki.expose());
        out.push(b',');
        push_hex(out, c.opc.expose());
        out.push(b',');
        push_hex(out, &ef::acc(&c.imsi));
        out.push(b',');
        match &c.adm1 {
            crate::Adm::Digits(p) => {
                out.extend_from_slice(p.digits());
                out.push(b',');
            }
            crate::Adm::Hex(b) => {
                out.push(b',');
                push_hex(out, b);
            }
        }
        out.push(b'\n');
        Ok(())
    }
}

/// An osmo-hlr VTY script that provisions every card of the batch (`enable`, then per card
/// `subscriber imsi … create`, `… update aud3g milenage k … opc …`, `… update msisdn …`), to be
/// fed as it is to osmo-hlr's VTY (telnet, port 4258, e.g. through `nc`):
/// the VTY starts in view mode, where the subscriber commands do not exist, hence `enable` first.
/// The `!` lines are comments to the VTY.
pub struct OsmoHlrScript {
    tuak: bool,
    batch: String,
}

impl OsmoHlrScript {
    /// A script writer for a plan.
    #[must_use]
    pub fn new(plan: &BatchPlan) -> Self {
        Self {
            tuak: plan.profile.algorithm == crate::Algorithm::Tuak,
            batch: plan.name.clone(),
        }
    }
}

impl CardFormat for OsmoHlrScript {
    fn suffix(&self) -> &'static str {
        ".osmo-hlr.vty"
    }

    fn header(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!(
                "! simforge batch {}: osmo-hlr VTY provisioning script.\n! It holds subscriber keys in clear: keep it as secret as the keys.\n! Feed it as it is to the osmo-hlr VTY (telnet, port 4258).\nenable\n",
                self.batch
            )
            .as_bytes(),
        );
    }

    fn card(&self, c: &Card, out: &mut Vec<u8>) -> Result<(), CipherError> {
        let (buf, len) = c.imsi.to_ascii();
        let imsi = &buf[..len];
        out.extend_from_slice(b"subscriber imsi ");
        out.extend_from_slice(imsi);
        out.extend_from_slice(b" create\nsubscriber imsi ");
        out.extend_from_slice(imsi);
        out.extend_from_slice(if self.tuak {
            b" update aud3g tuak k "
        } else {
            b" update aud3g milenage k "
        });
        push_hex(out, c.ki.expose());
        out.extend_from_slice(if self.tuak { b" topc " } else { b" opc " });
        push_hex(out, c.opc.expose());
        out.push(b'\n');
        if let Some(m) = c.msisdn {
            out.extend_from_slice(b"subscriber imsi ");
            out.extend_from_slice(imsi);
            out.extend_from_slice(format!(" update msisdn {m}\n").as_bytes());
        }
        Ok(())
    }
}

/// Copies up to 20 ASCII digits into a stack array (identifiers are at most 20 digits).
fn digits_copy(src: &[u8]) -> [u8; 20] {
    let mut a = [0u8; 20];
    let n = src.len().min(20);
    a[..n].copy_from_slice(&src[..n]);
    a
}
