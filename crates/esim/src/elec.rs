//! The reader of the factory's electrical personalization file (`.elec.csv`): its cards back
//! as [`sim::Card`]s, for the SM-DP+ inventory import. [`cards_from_elec_csv`] is the one
//! entry point (the reader belongs next to its writer in `simforge_sim`; when it is there,
//! this module gives way to it).

use simforge_sim as sim;
use zeroize::Zeroizing;

use crate::error::ElecError;

/// The cards of an electrical file's text (header line, then one card per line; blank lines
/// skipped), at most `limit` of them; a card's index is its line's position after the header.
/// Errors name the line and column, never a value.
///
/// # Errors
/// [`ElecError`].
pub fn cards_from_elec_csv(
    text: &str,
    plmn: &sim::Plmn,
    limit: Option<usize>,
) -> Result<Vec<sim::Card>, ElecError> {
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().ok_or(ElecError::Empty)?.split(',').collect();
    let mut cards = Vec::new();
    for (i, line) in lines.enumerate() {
        if limit.is_some_and(|l| cards.len() >= l) {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        cards.push(card(&head, line, i as u64, plmn)?);
    }
    Ok(cards)
}

/// One card of an electrical file.
fn card(head: &[&str], line: &str, index: u64, plmn: &sim::Plmn) -> Result<sim::Card, ElecError> {
    let n = index + 2;
    let field = |what: String| ElecError::Field { line: n, what };
    let value =
        |e: Box<dyn std::error::Error + Send + Sync>| ElecError::Value { line: n, source: e };
    let fields: Vec<&str> = line.split(',').collect();
    let get = |name: &str| -> Result<Zeroizing<Vec<u8>>, ElecError> {
        let i = head
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| ElecError::NoColumn(name.to_owned()))?;
        let f = fields
            .get(i)
            .ok_or_else(|| field(format!("no {name} field")))?;
        simforge_sim::secret::decode_hex(f.trim()).map_err(|_| field(format!("{name} is not hex")))
    };
    let code = |name: &'static str| -> Result<sim::Pin, ElecError> {
        let ef = get(name)?;
        let digits: Vec<u8> = ef.iter().copied().take_while(|b| *b != 0xFF).collect();
        let s = Zeroizing::new(
            String::from_utf8(digits).map_err(|_| field(format!("{name} is not digits")))?,
        );
        sim::Pin::parse(&s, name).map_err(|e| value(e.into()))
    };
    let key128 = |v: &[u8], name: &str| -> Result<sim::Key128, ElecError> {
        let a: [u8; 16] = v
            .try_into()
            .map_err(|_| field(format!("{name} is not 16 octets")))?;
        Ok(sim::Key128::from_bytes(a))
    };
    let adm_ef = get("ADM1")?;
    let adm1 = if adm_ef.iter().all(u8::is_ascii_digit) && adm_ef.len() == 8 {
        let s = Zeroizing::new(String::from_utf8(adm_ef.to_vec()).unwrap_or_default());
        sim::Adm::Digits(sim::Pin::parse(&s, "ADM1").map_err(|e| value(e.into()))?)
    } else {
        let a: [u8; 8] = adm_ef[..]
            .try_into()
            .map_err(|_| field("ADM1 is not 8 octets".to_owned()))?;
        sim::Adm::Hex(a)
    };
    let mut ota = Vec::new();
    for k in 1.. {
        if !head.contains(&format!("KIC{k}").as_str()) {
            break;
        }
        ota.push(sim::OtaKeySet {
            kic: key128(&get(&format!("KIC{k}"))?, "KIC")?,
            kid: key128(&get(&format!("KID{k}"))?, "KID")?,
            kik: key128(&get(&format!("KIK{k}"))?, "KIK")?,
        });
    }
    Ok(sim::Card {
        index,
        iccid: sim::Iccid::from_ef(&get("ICCID")?).map_err(|e| value(e.into()))?,
        imsi: sim::Imsi::from_ef(&get("IMSI")?, plmn).map_err(|e| value(e.into()))?,
        msisdn: None,
        ki: key128(&get("KI")?, "KI")?,
        opc: sim::VarKey::from_slice(&get("OPC")?),
        pin1: code("PIN1")?,
        pin2: code("PIN2")?,
        puk1: code("PUK1")?,
        puk2: code("PUK2")?,
        adm1,
        ota,
    })
}
