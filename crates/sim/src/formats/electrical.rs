//! The reader of the electrical personalization file that [`ElectricalFile`](super::ElectricalFile)
//! writes: its header (column names), its lines, and each line back as a [`Card`].

use std::io::BufRead;

use zeroize::Zeroizing;

use crate::card::{Card, OtaKeySet, VarKey};
use crate::ids::{Iccid, IdError, Imsi, Plmn};
use crate::secret::{Adm, Key128, Pin, SecretError, decode_hex, decode_hex_into};
use crate::text::{BoundedLines, MAX_LINE, TextError};

/// Why an electrical file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ElectricalError {
    /// The file could not be read as bounded text lines.
    #[error("cannot read")]
    Text(#[from] TextError),
    /// The file has no header line.
    #[error("the file is empty")]
    Empty,
    /// The header lacks one of the columns every electrical file has.
    #[error("header lacks IMSI, ICCID, KI or OPC")]
    Header,
    /// A column the card needs is not in the header.
    #[error("no {0} column")]
    NoColumn(String),
    /// A line has fewer fields than the header.
    #[error("line {line}: no {name} field")]
    NoField {
        /// Line number (1-based, the header is line 1).
        line: usize,
        /// Column name.
        name: String,
    },
    /// A field is not hex digits.
    #[error("line {line}: {name} is not hex")]
    NotHex {
        /// Line number.
        line: usize,
        /// Column name.
        name: String,
    },
    /// A PIN/PUK field is not digits.
    #[error("line {line}: {name} is not digits")]
    NotDigits {
        /// Line number.
        line: usize,
        /// Column name.
        name: String,
    },
    /// A field has the wrong size.
    #[error("line {line}: {name} is not {octets} octets")]
    Size {
        /// Line number.
        line: usize,
        /// Column name.
        name: String,
        /// Octets expected.
        octets: usize,
    },
    /// A PIN/PUK/ADM field does not hold a valid code.
    #[error("line {line}: {name}")]
    Code {
        /// Line number.
        line: usize,
        /// Column name.
        name: String,
        /// What is wrong with the code.
        #[source]
        source: SecretError,
    },
    /// EF.ICCID or EF.IMSI does not hold a valid identifier.
    #[error("line {line}")]
    Id {
        /// Line number.
        line: usize,
        /// What is wrong with the identifier.
        #[source]
        source: IdError,
    },
}

/// The columns of an electrical file, from its header line.
#[derive(Debug, Clone)]
pub struct ElectricalColumns {
    names: Vec<String>,
    /// Position of `IMSI` (EF.IMSI).
    pub imsi: usize,
    /// Position of `ICCID` (EF.ICCID).
    pub iccid: usize,
    /// Position of `KI`.
    pub ki: usize,
    /// Position of `OPC` (OPc, or TOPc for TUAK).
    pub opc: usize,
}

impl ElectricalColumns {
    /// Reads a header line (`IMSI,ICCID,PIN1,…`); names compare case-insensitively.
    pub fn parse(header: &str) -> Result<Self, ElectricalError> {
        let names: Vec<String> = header.split(',').map(|n| n.trim().to_owned()).collect();
        let find = |n: &str| names.iter().position(|x| x.eq_ignore_ascii_case(n));
        let (Some(imsi), Some(iccid), Some(ki), Some(opc)) =
            (find("IMSI"), find("ICCID"), find("KI"), find("OPC"))
        else {
            return Err(ElectricalError::Header);
        };
        Ok(Self {
            names,
            imsi,
            iccid,
            ki,
            opc,
        })
    }

    /// The position of a column by name (case-insensitive), e.g. `KIC1`.
    #[must_use]
    pub fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|x| x.eq_ignore_ascii_case(name))
    }

    /// The number of OTA key sets (`KICn,KIDn,KIKn` from n = 1 on).
    #[must_use]
    pub fn ota_key_sets(&self) -> u8 {
        (1..=u8::MAX)
            .take_while(|n| self.find(&format!("KIC{n}")).is_some())
            .count() as u8
    }
}

/// One line of an electrical file (zeroized when dropped: it holds card secrets in clear).
pub struct ElectricalRecord {
    line: Zeroizing<String>,
    number: usize,
}

impl ElectricalRecord {
    /// The line's number in the file (the header is line 1).
    #[must_use]
    pub fn line_number(&self) -> usize {
        self.number
    }

    /// True for an empty or blank line.
    #[must_use]
    pub fn is_blank(&self) -> bool {
        self.line.trim().is_empty()
    }

    /// The field at position `i`, or `""` if the line is shorter.
    #[must_use]
    pub fn field(&self, i: usize) -> &str {
        self.line.split(',').nth(i).unwrap_or("")
    }

    /// The `KI` field as a key, if it is 32 hex digits.
    #[must_use]
    pub fn ki(&self, c: &ElectricalColumns) -> Option<Key128> {
        let mut b = [0u8; 16];
        decode_hex_into(self.field(c.ki), &mut b).ok()?;
        let k = Key128::from_bytes(b);
        zeroize::Zeroize::zeroize(&mut b);
        Some(k)
    }

    /// The `OPC` field's octets, if it is hex.
    #[must_use]
    pub fn opc(&self, c: &ElectricalColumns) -> Option<Zeroizing<Vec<u8>>> {
        decode_hex(self.field(c.opc)).ok()
    }

    /// The line back as the card that was written (`index`: its position in the batch).
    pub fn card(
        &self,
        c: &ElectricalColumns,
        index: u64,
        plmn: &Plmn,
    ) -> Result<Card, ElectricalError> {
        let line = self.number;
        let get = |name: &str| -> Result<Zeroizing<Vec<u8>>, ElectricalError> {
            let i = c
                .find(name)
                .ok_or_else(|| ElectricalError::NoColumn(name.to_owned()))?;
            let f = self
                .line
                .split(',')
                .nth(i)
                .ok_or_else(|| ElectricalError::NoField {
                    line,
                    name: name.to_owned(),
                })?;
            decode_hex(f).map_err(|_| ElectricalError::NotHex {
                line,
                name: name.to_owned(),
            })
        };
        let code = |name: &'static str| -> Result<Pin, ElectricalError> {
            let ef = get(name)?;
            let digits = Zeroizing::new(
                ef.iter()
                    .copied()
                    .take_while(|b| *b != 0xFF)
                    .collect::<Vec<u8>>(),
            );
            let s = std::str::from_utf8(&digits).map_err(|_| ElectricalError::NotDigits {
                line,
                name: name.to_owned(),
            })?;
            Pin::parse(s, name).map_err(|source| ElectricalError::Code {
                line,
                name: name.to_owned(),
                source,
            })
        };
        let key128 = |v: &[u8], name: &str| -> Result<Key128, ElectricalError> {
            let a: [u8; 16] = v.try_into().map_err(|_| ElectricalError::Size {
                line,
                name: name.to_owned(),
                octets: 16,
            })?;
            Ok(Key128::from_bytes(a))
        };
        let adm_ef = get("ADM1")?;
        let adm1 = match std::str::from_utf8(&adm_ef) {
            Ok(s) if adm_ef.len() == 8 && adm_ef.iter().all(u8::is_ascii_digit) => Adm::Digits(
                Pin::parse(s, "ADM1").map_err(|source| ElectricalError::Code {
                    line,
                    name: "ADM1".into(),
                    source,
                })?,
            ),
            _ => Adm::Hex(adm_ef[..].try_into().map_err(|_| ElectricalError::Size {
                line,
                name: "ADM1".into(),
                octets: 8,
            })?),
        };
        let mut ota = Vec::new();
        for n in 1..=c.ota_key_sets() {
            ota.push(OtaKeySet {
                kic: key128(&get(&format!("KIC{n}"))?, "KIC")?,
                kid: key128(&get(&format!("KID{n}"))?, "KID")?,
                kik: key128(&get(&format!("KIK{n}"))?, "KIK")?,
            });
        }
        let id = |source| ElectricalError::Id { line, source };
        Ok(Card {
            index,
            iccid: Iccid::from_ef(&get("ICCID")?).map_err(id)?,
            imsi: Imsi::from_ef(&get("IMSI")?, plmn).map_err(id)?,
            msisdn: None,
            ki: key128(&get("KI")?, "KI")?,
            opc: VarKey::from_slice(&get("OPC")?),
            pin1: code("PIN1")?,
            pin2: code("PIN2")?,
            puk1: code("PUK1")?,
            puk2: code("PUK2")?,
            adm1,
            ota,
        })
    }
}

/// Reads an electrical file line by line (bounded lines, byte order mark skipped).
pub struct ElectricalReader<R> {
    lines: BoundedLines<R>,
    columns: ElectricalColumns,
}

impl<R: BufRead> ElectricalReader<R> {
    /// Reads the header line.
    pub fn new(input: R) -> Result<Self, ElectricalError> {
        let mut lines = BoundedLines::new(input, MAX_LINE);
        let head = lines.next().ok_or(ElectricalError::Empty)??;
        let columns = ElectricalColumns::parse(&head)?;
        Ok(Self { lines, columns })
    }

    /// The header's columns.
    #[must_use]
    pub fn columns(&self) -> &ElectricalColumns {
        &self.columns
    }

    /// The number of the last line read.
    #[must_use]
    pub fn line_number(&self) -> usize {
        self.lines.line_number()
    }
}

impl<R: BufRead> Iterator for ElectricalReader<R> {
    type Item = Result<ElectricalRecord, TextError>;

    /// The next line (blank ones included: see [`ElectricalRecord::is_blank`]).
    fn next(&mut self) -> Option<Self::Item> {
        Some(self.lines.next()?.map(|l| ElectricalRecord {
            line: Zeroizing::new(l),
            number: self.lines.line_number(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::CardMaker;
    use crate::formats::{CardFormat, ElectricalFile};
    use crate::keys::OperatorVariant;
    use crate::order::{OperatorProfile, OrderSpec};

    #[test]
    fn reads_back_what_the_writer_wrote() {
        let op = OperatorProfile {
            name: "t".into(),
            plmn: Plmn::new("001", "01").expect("plmn"),
            iccid_prefix: "8988211".into(),
            iccid_len: 20,
            spn: "t".into(),
        };
        let spec: OrderSpec = serde_json::from_str(
            r#"{"quantity":3,"iccid_start":"8988211000000000001","imsi_start":"001010000000001","kid":1,"opid":1,"profile":{"ota_key_sets":2}}"#,
        )
        .expect("spec");
        let plan = spec
            .plan(&op, "8988211000000000001", "001010000000001", "n")
            .expect("plan");
        let variant = OperatorVariant::Op([7; 16]);
        let maker = CardMaker::new(&plan, &variant).expect("maker");
        let w = ElectricalFile::new(&plan);
        let mut file = Vec::new();
        w.header(&mut file);
        let mut rng = crate::pipeline::OsRandom::new();
        let cards: Vec<Card> = (0..3)
            .map(|i| maker.card(i, &mut rng).expect("card"))
            .collect();
        for c in &cards {
            w.card(c, &mut file).unwrap();
        }
        let r = ElectricalReader::new(&file[..]).expect("header");
        let cols = r.columns().clone();
        assert_eq!(cols.ota_key_sets(), 2);
        let back: Vec<ElectricalRecord> = r.map(|l| l.expect("line")).collect();
        assert_eq!(back.len(), 3);
        for (i, (rec, c)) in back.iter().zip(&cards).enumerate() {
            assert_eq!(rec.line_number(), i + 2);
            let d = rec.card(&cols, i as u64, &op.plmn).expect("card");
            assert!(d.iccid == c.iccid);
            assert!(d.imsi == c.imsi);
            assert!(d.ki == c.ki);
            assert!(rec.ki(&cols).as_ref() == Some(&c.ki));
            assert_eq!(d.opc.expose(), c.opc.expose());
            assert_eq!(d.ota.len(), 2);
            assert!(d.ota[1].kik == c.ota[1].kik);
            let mut again = Vec::new();
            w.card(&d, &mut again).unwrap();
            let mut orig = Vec::new();
            w.card(c, &mut orig).unwrap();
            assert_eq!(again, orig, "a card read back writes the same line");
        }
        assert!(matches!(
            ElectricalReader::new(&b"IMSI,ICCID\n"[..]),
            Err(ElectricalError::Header)
        ));
        assert!(matches!(
            ElectricalReader::new(&b""[..]),
            Err(ElectricalError::Empty)
        ));
    }
}
