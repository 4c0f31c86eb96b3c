//! The batch pipeline: cards are made in chunks by worker threads, formatted into every output
//! format, and handed back in order to the caller's writers. Memory stays constant whatever the
//! batch size: at most `threads + QUEUE` chunks exist at once.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;

use rand_core::{TryCryptoRng, TryRngCore};

use crate::card::{CardError, CardMaker};
use crate::formats::CardFormat;

/// Cards per chunk.
pub const CHUNK: u64 = 2048;
const QUEUE: usize = 4;

/// Why a batch run stopped.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A card could not be made.
    #[error(transparent)]
    Card(#[from] CardError),
    /// Writing an output failed.
    #[error("writing {file}: {source}")]
    Write {
        /// Which output (format suffix).
        file: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The transport key's holder (an HSM) failed to encrypt.
    #[error(transparent)]
    Cipher(#[from] crate::keys::CipherError),
    /// A worker thread died.
    #[error("a generator thread stopped unexpectedly")]
    Worker,
}

/// Runs the batch: `make_rng` gives each worker its random source; `sinks[i]` receives format
/// `formats[i]`; `progress` is called with the number of cards written so far.
pub fn run<R, F, W>(
    maker: &CardMaker<'_>,
    quantity: u64,
    formats: &[&dyn CardFormat],
    sinks: &mut [W],
    threads: usize,
    make_rng: F,
    mut progress: impl FnMut(u64),
) -> Result<(), PipelineError>
where
    R: TryCryptoRng,
    F: Fn() -> Result<R, CardError> + Sync,
    W: Write,
{
    assert_eq!(formats.len(), sinks.len(), "one sink per format");
    let write = |sinks: &mut [W], bufs: &[Vec<u8>]| -> Result<(), PipelineError> {
        for ((sink, buf), f) in sinks.iter_mut().zip(bufs).zip(formats) {
            sink.write_all(buf).map_err(|source| PipelineError::Write {
                file: f.suffix(),
                source,
            })?;
        }
        Ok(())
    };
    let headers: Vec<Vec<u8>> = formats
        .iter()
        .map(|f| {
            let mut b = Vec::new();
            f.header(&mut b);
            b
        })
        .collect();
    write(sinks, &headers)?;

    let chunks = quantity.div_ceil(CHUNK);
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let threads = threads.max(1);
    let (recycle_tx, recycle_rx) = mpsc::channel::<Vec<Vec<u8>>>();
    let recycle_rx = std::sync::Mutex::new(recycle_rx);
    std::thread::scope(|s| -> Result<(), PipelineError> {
        let (tx, rx) = mpsc::sync_channel::<(u64, Result<Vec<Vec<u8>>, PipelineError>)>(QUEUE);
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, stop, make_rng, recycle_rx) = (&next, &stop, &make_rng, &recycle_rx);
            s.spawn(move || {
                let mut rng = match make_rng() {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send((0, Err(e.into())));
                        return;
                    }
                };
                loop {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let chunk = next.fetch_add(1, Ordering::Relaxed);
                    if chunk >= chunks {
                        return;
                    }
                    let mut bufs = recycle_rx
                        .lock()
                        .ok()
                        .and_then(|r| r.try_recv().ok())
                        .unwrap_or_else(|| vec![Vec::new(); formats.len()]);
                    let r = fill_chunk(maker, chunk, quantity, formats, &mut bufs, &mut rng)
                        .map(|()| bufs);
                    let failed = r.is_err();
                    if tx.send((chunk, r)).is_err() || failed {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<u64, Vec<Vec<u8>>> = BTreeMap::new();
        let mut want = 0u64;
        let result = (|| {
            for (chunk, r) in rx.iter() {
                pending.insert(chunk, r?);
                while let Some(bufs) = pending.remove(&want) {
                    write(sinks, &bufs)?;
                    let _ = recycle_tx.send(bufs);
                    want += 1;
                    progress((want * CHUNK).min(quantity));
                }
            }
            if want == chunks {
                Ok(())
            } else {
                Err(PipelineError::Worker)
            }
        })();
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
            // Drain so no worker blocks on a full queue.
            for _ in rx.iter() {}
        }
        result
    })
}

fn fill_chunk<R: TryCryptoRng>(
    maker: &CardMaker<'_>,
    chunk: u64,
    quantity: u64,
    formats: &[&dyn CardFormat],
    bufs: &mut [Vec<u8>],
    rng: &mut R,
) -> Result<(), PipelineError> {
    for b in bufs.iter_mut() {
        zeroize::Zeroize::zeroize(b);
        b.clear();
    }
    let first = chunk * CHUNK;
    let last = (first + CHUNK).min(quantity);
    let cards = (first..last)
        .map(|i| maker.card(i, rng))
        .collect::<Result<Vec<_>, _>>()?;
    // Each format gets the whole chunk at once: the `.out` file encrypts all its blocks in
    // one call (one `C_Encrypt` when the transport key is in an HSM).
    for (f, b) in formats.iter().zip(bufs.iter_mut()) {
        f.cards(&cards, b)?;
    }
    Ok(())
}

/// Card secrets from the operating system's CSPRNG: every 64 KiB block of output is a ChaCha20
/// keystream under a fresh 256-bit key read from the kernel (`getrandom`), the same construction the
/// kernel uses behind `getrandom` itself. A batch of ten million cards then reads 5 MB from the
/// kernel instead of 1.8 GB, which was most of the generator's system time. Drawn bytes are wiped
/// from the buffer as they are handed out, and each block's key right after use.
pub struct OsRandom {
    buf: Box<[u8; 65536]>,
    pos: usize,
}

impl OsRandom {
    /// A fresh source; nothing is read until the first use.
    #[must_use]
    pub fn new() -> Self {
        Self {
            buf: Box::new([0u8; 65536]),
            pos: 65536,
        }
    }
}

impl Default for OsRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for OsRandom {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.buf[..]);
    }
}

impl TryRngCore for OsRandom {
    type Error = rand_core::OsError;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        let mut done = 0;
        while done < dst.len() {
            if self.pos == self.buf.len() {
                let mut seed = [0u8; 32];
                rand_core::OsRng.try_fill_bytes(&mut seed)?;
                let mut stream =
                    <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::from_seed(seed);
                zeroize::Zeroize::zeroize(&mut seed);
                rand_core::RngCore::fill_bytes(&mut stream, &mut self.buf[..]);
                self.pos = 0;
            }
            let n = (dst.len() - done).min(self.buf.len() - self.pos);
            dst[done..done + n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.buf[self.pos..self.pos + n].fill(0);
            self.pos += n;
            done += n;
        }
        Ok(())
    }
}

impl TryCryptoRng for OsRandom {}
