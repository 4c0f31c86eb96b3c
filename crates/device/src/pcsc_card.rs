//! A card in a PC/SC reader (pcscd), through the pcsc crate (libpcsclite).

use simforge_lpa::Card;

use crate::Error;

/// A card in a PC/SC reader, T=0 or T=1 as negotiated.
pub struct PcscCard {
    card: Option<pcsc::Card>,
    reader: String,
}

impl std::fmt::Debug for PcscCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscCard")
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

impl PcscCard {
    /// Connects to the first reader whose name contains `want` (case-insensitive) and holds a
    /// card; `auto` matches every reader.
    ///
    /// # Errors
    /// [`Error::Pcsc`] if pcscd fails, [`Error::NoReader`] if no reader matches or none has a
    /// card.
    pub fn connect(want: &str) -> Result<Self, Error> {
        let ctx = pcsc::Context::establish(pcsc::Scope::User).map_err(|source| Error::Pcsc {
            context: "connecting to the PC/SC service (is pcscd running?)",
            source,
        })?;
        let readers = match ctx.list_readers_owned() {
            Ok(r) => r,
            Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
            Err(source) => {
                return Err(Error::Pcsc {
                    context: "listing PC/SC readers",
                    source,
                });
            }
        };
        let names: Vec<String> = readers
            .iter()
            .map(|r| r.to_string_lossy().into_owned())
            .collect();
        let needle = want.to_lowercase();
        let mut tried = Vec::new();
        for (reader, name) in readers.iter().zip(&names) {
            if needle != "auto" && !name.to_lowercase().contains(&needle) {
                continue;
            }
            match ctx.connect(reader, pcsc::ShareMode::Shared, pcsc::Protocols::ANY) {
                Ok(card) => {
                    tracing::debug!(reader = %name, "connected to the card");
                    return Ok(Self {
                        card: Some(card),
                        reader: name.clone(),
                    });
                }
                Err(e) => tried.push(format!("{name}: {e}")),
            }
        }
        if tried.is_empty() {
            return Err(Error::NoReader(format!(
                "no PC/SC reader matches {want:?} (readers: {})",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )));
        }
        Err(Error::NoReader(format!(
            "no card to connect to: {}",
            tried.join("; ")
        )))
    }

    /// Leaves the card as it is (no reset) and releases the reader.
    pub fn disconnect(mut self) {
        if let Some(card) = self.card.take()
            && let Err((_, e)) = card.disconnect(pcsc::Disposition::LeaveCard)
        {
            tracing::warn!(reader = %self.reader, "disconnecting: {e}");
        }
    }
}

impl Card for PcscCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, simforge_lpa::Error> {
        let card = self
            .card
            .as_ref()
            .ok_or_else(|| simforge_lpa::Error::Card("disconnected".into()))?;
        let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        let err = |e: pcsc::Error| simforge_lpa::Error::Card(format!("{}: {e}", self.reader));
        let r = card.transmit(apdu, &mut buf).map_err(err)?.to_vec();
        // T=0 wrong length: `6Cxx` asks to repeat the command with Le = xx.
        if let [0x6C, le] = r.as_slice()
            && apdu.len() >= 5
        {
            let mut again = apdu.to_vec();
            if apdu.len() == 5 || apdu.len() == 6 + usize::from(apdu[4]) {
                if let Some(last) = again.last_mut() {
                    *last = *le;
                }
            } else {
                again.push(*le);
            }
            let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
            return Ok(card.transmit(&again, &mut buf).map_err(err)?.to_vec());
        }
        Ok(r)
    }
}
