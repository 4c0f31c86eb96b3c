//! The in-process card, and an LPA run on whichever card is asked for.

use std::path::PathBuf;
use std::time::Duration;

use simforge_euicc::Euicc;
use simforge_lpa::{Card, Es9Transport, Es10, Lpa};

use crate::{Error, StdioCard, VirtualEuicc};

/// A virtual eUICC in this process as a [`Card`]: every APDU goes to [`Euicc::process`].
#[derive(Debug)]
pub struct InProcess<'a>(pub &'a mut Euicc);

impl Card for InProcess<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, simforge_lpa::Error> {
        Ok(self.0.process(apdu))
    }
}

/// Which eUICC an LPA drives.
#[derive(Clone, Debug)]
pub enum CardSpec {
    /// The virtual eUICC of this file, in process; its state is saved back to the file.
    Virtual(PathBuf),
    /// The card in the first PC/SC reader whose name contains this (case-insensitive), or
    /// `auto` for the first reader holding a card (needs the `pcsc` feature).
    Reader(String),
    /// The card behind this command, run by `sh -c` and driven with lpac's stdio protocol,
    /// each reply awaited for at most `timeout`.
    Stdio {
        /// The command.
        command: String,
        /// The longest wait for one reply.
        timeout: Duration,
    },
}

/// Opens the card of `spec`, runs `f` with an LPA on it and `es9`, then closes the card: the
/// ISD-R channel is closed, a reader released (the card left as it is), a card program told to
/// disconnect and reaped. A virtual eUICC's state is saved whatever `f` returned (e.g. a stored
/// install-failure notification); a failure to save, or to end a card program, is returned
/// when `f` succeeded (a virtual eUICC's save failure in any case).
///
/// # Errors
/// Opening and closing errors as `E`, else `f`'s.
pub fn with_card<T, U, E>(
    spec: &CardSpec,
    es9: T,
    f: impl FnOnce(&mut Lpa<&mut dyn Card, T>) -> Result<U, E>,
) -> Result<U, E>
where
    T: Es9Transport,
    E: From<Error>,
{
    match spec {
        CardSpec::Virtual(path) => {
            let mut euicc = VirtualEuicc::open(path)?;
            let result = {
                let mut card = euicc.card();
                let es10 = Es10::open(&mut card as &mut dyn Card).map_err(Error::from)?;
                let mut lpa = Lpa::new(es10, es9);
                let r = f(&mut lpa);
                lpa.es10.close();
                r
            };
            euicc.persist()?;
            result
        }
        CardSpec::Reader(want) => reader(want, es9, f),
        CardSpec::Stdio { command, timeout } => {
            let mut card = StdioCard::spawn(command, *timeout)?;
            let channel = card.open_channel(&simforge_lpa::AID_ISD_R)?;
            let r = {
                let mut lpa = Lpa::new(Es10::on_channel(&mut card as &mut dyn Card, channel), es9);
                f(&mut lpa)
            };
            let closed = card.close(channel).map_err(E::from);
            r.and_then(|u| closed.map(|()| u))
        }
    }
}

#[cfg(feature = "pcsc")]
fn reader<T, U, E>(
    want: &str,
    es9: T,
    f: impl FnOnce(&mut Lpa<&mut dyn Card, T>) -> Result<U, E>,
) -> Result<U, E>
where
    T: Es9Transport,
    E: From<Error>,
{
    let mut card = crate::PcscCard::connect(want)?;
    let r = {
        let es10 = Es10::open(&mut card as &mut dyn Card).map_err(Error::from)?;
        let mut lpa = Lpa::new(es10, es9);
        let r = f(&mut lpa);
        lpa.es10.close();
        r
    };
    card.disconnect();
    r
}

#[cfg(not(feature = "pcsc"))]
fn reader<T, U, E>(
    _want: &str,
    _es9: T,
    _f: impl FnOnce(&mut Lpa<&mut dyn Card, T>) -> Result<U, E>,
) -> Result<U, E>
where
    T: Es9Transport,
    E: From<Error>,
{
    Err(Error::PcscUnsupported.into())
}
