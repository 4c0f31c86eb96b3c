//! Activation codes (SGP.22 §4.1) and their QR codes.
//!
//! Text form: `[LPA:]1$SM-DP+ address$MatchingID[$SM-DP+ OID[$1]]`, where the
//! last field is the Confirmation Code Required Flag. Both the OID and the
//! MatchingID may be empty (`1$host$token$$1`: no OID, confirmation code
//! required; `1$host$$1.2.3`: no token).

use std::fmt;
use std::str::FromStr;

use qrcode::{Color, EcLevel, QrCode};

use crate::Error;
use crate::ids::MatchingId;

/// A parsed activation code. Build one with [`ActivationCode::new`] or by parsing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ActivationCode {
    smdp_address: String,
    matching_id: Option<MatchingId>,
    smdp_oid: Option<String>,
    confirmation_code_required: bool,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::InvalidActivationCode(msg.into())
}

fn check_address(addr: &str) -> Result<(), Error> {
    let (host, port) = match addr.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (addr, None),
    };
    if host.is_empty() {
        return Err(bad("SM-DP+ address is empty"));
    }
    if host.len() > 253 {
        return Err(bad("SM-DP+ address longer than 253 characters"));
    }
    for label in host.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad(format!(
                "SM-DP+ address {addr:?} has an empty or over-long label"
            )));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err(bad(format!(
                "SM-DP+ address {addr:?}: label {label:?} is not a valid host name label"
            )));
        }
    }
    if let Some(p) = port {
        match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => {}
            _ => return Err(bad(format!("SM-DP+ address {addr:?}: bad port {p:?}"))),
        }
    }
    Ok(())
}

fn check_oid(oid: &str) -> Result<(), Error> {
    let arcs: Vec<&str> = oid.split('.').collect();
    if arcs.len() < 2
        || arcs
            .iter()
            .any(|a| a.is_empty() || a.len() > 10 || !a.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad(format!(
            "SM-DP+ OID {oid:?} is not a dotted decimal object identifier"
        )));
    }
    Ok(())
}

impl ActivationCode {
    /// Builds an activation code, checking the address (`host[:port]`) and the OID.
    ///
    /// # Errors
    /// [`Error::InvalidActivationCode`] for a bad address or OID.
    pub fn new(
        smdp_address: &str,
        matching_id: Option<MatchingId>,
        smdp_oid: Option<&str>,
        confirmation_code_required: bool,
    ) -> Result<Self, Error> {
        check_address(smdp_address)?;
        if let Some(oid) = smdp_oid {
            check_oid(oid)?;
        }
        Ok(Self {
            smdp_address: smdp_address.to_owned(),
            matching_id,
            smdp_oid: smdp_oid.map(str::to_owned),
            confirmation_code_required,
        })
    }

    /// Parses the text form, with or without the `LPA:` prefix.
    ///
    /// # Errors
    /// [`Error::InvalidActivationCode`] saying which part is wrong.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let body = s
            .strip_prefix("LPA:")
            .or_else(|| s.strip_prefix("lpa:"))
            .unwrap_or(s);
        let parts: Vec<&str> = body.split('$').collect();
        if parts.len() < 3 {
            return Err(bad(format!(
                "expected at least 3 '$'-separated fields (format$address$matchingId), got {}",
                parts.len()
            )));
        }
        if parts.len() > 5 {
            return Err(bad(format!(
                "expected at most 5 '$'-separated fields, got {}",
                parts.len()
            )));
        }
        if parts[0] != "1" {
            return Err(bad(format!(
                "unsupported activation code format {:?} (only \"1\")",
                parts[0]
            )));
        }
        let matching_id = if parts[2].is_empty() {
            None
        } else {
            Some(MatchingId::parse(parts[2]).map_err(|e| bad(format!("matchingId: {e}")))?)
        };
        let smdp_oid = match parts.get(3) {
            None | Some(&"") => None,
            Some(oid) => Some(*oid),
        };
        let confirmation_code_required = match parts.get(4) {
            None => false,
            Some(&"1") => true,
            Some(other) => {
                return Err(bad(format!(
                    "confirmation code required flag must be \"1\" when present, got {other:?}"
                )));
            }
        };
        Self::new(parts[1], matching_id, smdp_oid, confirmation_code_required)
    }

    /// The SM-DP+ address exactly as given, including any `:port`
    /// (LPAs send it like this as `smdpAddress`).
    #[must_use]
    pub fn smdp_address(&self) -> &str {
        &self.smdp_address
    }

    /// The MatchingID (activation code token), if any.
    #[must_use]
    pub fn matching_id(&self) -> Option<&MatchingId> {
        self.matching_id.as_ref()
    }

    /// The SM-DP+ OID, if any.
    #[must_use]
    pub fn smdp_oid(&self) -> Option<&str> {
        self.smdp_oid.as_deref()
    }

    /// Whether the user must enter a confirmation code.
    #[must_use]
    pub fn confirmation_code_required(&self) -> bool {
        self.confirmation_code_required
    }

    /// The text for a QR code: `LPA:` followed by the activation code.
    #[must_use]
    pub fn to_qr_text(&self) -> String {
        format!("LPA:{self}")
    }

    fn qr(&self) -> Result<QrCode, Error> {
        QrCode::with_error_correction_level(self.to_qr_text().as_bytes(), EcLevel::M)
            .map_err(|e| Error::QrCode(e.to_string()))
    }

    /// Renders the QR code as an SVG document (`min_px` wide at least).
    ///
    /// # Errors
    /// [`Error::QrCode`] if the text does not fit a QR code.
    pub fn to_svg(&self, min_px: u32) -> Result<String, Error> {
        Ok(self
            .qr()?
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(min_px, min_px)
            .quiet_zone(true)
            .build())
    }

    /// Renders the QR code as a greyscale PNG, `scale` pixels per module,
    /// with the 4-module quiet zone.
    ///
    /// # Errors
    /// [`Error::QrCode`] if the text does not fit a QR code or PNG encoding fails.
    pub fn to_png(&self, scale: u32) -> Result<Vec<u8>, Error> {
        let code = self.qr()?;
        let scale = scale.clamp(1, 64) as usize;
        let quiet = 4;
        let w = code.width();
        let colors = code.to_colors();
        let side = (w + 2 * quiet) * scale;
        let mut pixels = vec![255u8; side * side];
        for y in 0..w {
            for x in 0..w {
                if colors[y * w + x] == Color::Dark {
                    for dy in 0..scale {
                        let row = ((y + quiet) * scale + dy) * side;
                        let start = row + (x + quiet) * scale;
                        pixels[start..start + scale].fill(0);
                    }
                }
            }
        }
        let side32 = u32::try_from(side).map_err(|e| Error::QrCode(e.to_string()))?;
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, side32, side32);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc
                .write_header()
                .map_err(|e| Error::QrCode(format!("PNG: {e}")))?;
            writer
                .write_image_data(&pixels)
                .map_err(|e| Error::QrCode(format!("PNG: {e}")))?;
        }
        Ok(out)
    }

    /// Renders the QR code for a terminal with Unicode half blocks (two
    /// modules per character cell). Light modules and the quiet zone are the
    /// drawn blocks, so the code scans on a dark-background terminal.
    ///
    /// # Errors
    /// [`Error::QrCode`] if the text does not fit a QR code.
    pub fn to_terminal(&self) -> Result<String, Error> {
        let code = self.qr()?;
        let w = code.width();
        let colors = code.to_colors();
        let quiet = 2usize;
        let side = w + 2 * quiet;
        // light(x, y) in quiet-zone coordinates
        let light = |x: usize, y: usize| -> bool {
            if x < quiet || y < quiet || x >= w + quiet || y >= w + quiet {
                true
            } else {
                colors[(y - quiet) * w + (x - quiet)] == Color::Light
            }
        };
        let mut out = String::with_capacity(side * (side / 2 + 1) * 3);
        let mut y = 0;
        while y < side {
            for x in 0..side {
                let top = light(x, y);
                let bottom = y + 1 >= side || light(x, y + 1);
                out.push(match (top, bottom) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push('\n');
            y += 2;
        }
        Ok(out)
    }
}

impl fmt::Display for ActivationCode {
    /// The activation code without the `LPA:` prefix; empty trailing fields are omitted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1${}$", self.smdp_address)?;
        if let Some(m) = &self.matching_id {
            f.write_str(m.as_str())?;
        }
        if self.smdp_oid.is_some() || self.confirmation_code_required {
            write!(f, "${}", self.smdp_oid.as_deref().unwrap_or(""))?;
        }
        if self.confirmation_code_required {
            f.write_str("$1")?;
        }
        Ok(())
    }
}

impl FromStr for ActivationCode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}
