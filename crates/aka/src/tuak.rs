//! TUAK, the Keccak-based alternative to MILENAGE (3GPP TS 35.231; test data TS 35.232/35.233), on the RustCrypto
//! `keccak` crate's Keccak-f\[1600\].
//!
//! Every function fills one 1600-bit Keccak state as TS 35.231 lays out its input INn:
//!
//! | bits of IN | bytes of the state | content |
//! |---|---|---|
//! | 0..255 | 0..31 | TOPc (TOP when computing TOPc) |
//! | 256..263 | 32 | INSTANCE (which function, output lengths, K length) |
//! | 264..319 | 33..39 | ALGONAME = "TUAK1.0" |
//! | 320..447 | 40..55 | RAND |
//! | 448..463 | 56..57 | AMF (f1, f1* only; zero otherwise) |
//! | 464..511 | 58..63 | SQN (f1, f1* only; zero otherwise) |
//! | 512..767 | 64..95 | K (a 128-bit K is followed by 128 zero bits) |
//! | 768..1087 | 96..135 | padding: byte 96 = 0x1F, byte 135 = 0x80 |
//! | 1088..1599 | 136..199 | zero |
//!
//! The pitfall is the bit order: the specification numbers IN's bits so that each value, written
//! most significant byte first, lands in the state *byte-reversed* (its last byte first), with
//! state byte `8i + j` being byte `j` of the little-endian lane `i`. Outputs come back the same
//! way: TOPc/MAC/RES from state bytes 0.., CK from 32.., IK from 64.., AK from 96..101, each
//! read in reverse byte order.

use core::num::NonZeroU32;

use zeroize::Zeroize;

use crate::octets::{Mac, Res};
use crate::{AkaError, Amf, K, Rand, SessionKey, Sqn, Top, Topc};

const ALGONAME: &[u8; 7] = b"TUAK1.0";

/// Length of MAC-A / MAC-S (f1, f1*), TS 35.231.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MacLength {
    /// 64 bits (the AUTN of TS 33.102).
    #[default]
    Bits64,
    /// 128 bits.
    Bits128,
    /// 256 bits.
    Bits256,
}

/// Length of RES (f2), TS 35.231.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ResLength {
    /// 32 bits.
    Bits32,
    /// 64 bits.
    #[default]
    Bits64,
    /// 128 bits.
    Bits128,
    /// 256 bits.
    Bits256,
}

/// Length of CK (f3) or IK (f4), TS 35.231.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyLength {
    /// 128 bits.
    #[default]
    Bits128,
    /// 256 bits.
    Bits256,
}

impl MacLength {
    /// From a length in bits (64, 128 or 256).
    pub fn from_bits(bits: u32) -> Result<Self, AkaError> {
        match bits {
            64 => Ok(Self::Bits64),
            128 => Ok(Self::Bits128),
            256 => Ok(Self::Bits256),
            _ => Err(AkaError::UnsupportedLength {
                what: "TUAK MAC",
                bits,
            }),
        }
    }
    /// Length in bytes.
    #[must_use]
    pub fn bytes(self) -> usize {
        match self {
            Self::Bits64 => 8,
            Self::Bits128 => 16,
            Self::Bits256 => 32,
        }
    }
    fn instance_bits(self) -> u8 {
        match self {
            Self::Bits64 => 0x08,
            Self::Bits128 => 0x10,
            Self::Bits256 => 0x20,
        }
    }
}

impl ResLength {
    /// From a length in bits (32, 64, 128 or 256).
    pub fn from_bits(bits: u32) -> Result<Self, AkaError> {
        match bits {
            32 => Ok(Self::Bits32),
            64 => Ok(Self::Bits64),
            128 => Ok(Self::Bits128),
            256 => Ok(Self::Bits256),
            _ => Err(AkaError::UnsupportedLength {
                what: "TUAK RES",
                bits,
            }),
        }
    }
    /// Length in bytes.
    #[must_use]
    pub fn bytes(self) -> usize {
        match self {
            Self::Bits32 => 4,
            Self::Bits64 => 8,
            Self::Bits128 => 16,
            Self::Bits256 => 32,
        }
    }
    fn instance_bits(self) -> u8 {
        match self {
            Self::Bits32 => 0x00,
            Self::Bits64 => 0x08,
            Self::Bits128 => 0x10,
            Self::Bits256 => 0x20,
        }
    }
}

impl KeyLength {
    /// From a length in bits (128 or 256).
    pub fn from_bits(bits: u32) -> Result<Self, AkaError> {
        match bits {
            128 => Ok(Self::Bits128),
            256 => Ok(Self::Bits256),
            _ => Err(AkaError::UnsupportedLength {
                what: "TUAK CK/IK",
                bits,
            }),
        }
    }
    /// Length in bytes.
    #[must_use]
    pub fn bytes(self) -> usize {
        match self {
            Self::Bits128 => 16,
            Self::Bits256 => 32,
        }
    }
}

/// The per-card output lengths of TUAK (TS 35.231). [`Default`]: MAC 64, RES 64, CK 128,
/// IK 128 bits — the sizes of classic UMTS/EPS AKA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TuakLengths {
    /// MAC-A and MAC-S.
    pub mac: MacLength,
    /// RES.
    pub res: ResLength,
    /// CK.
    pub ck: KeyLength,
    /// IK.
    pub ik: KeyLength,
}

/// How many times Keccak-f\[1600\] is applied per TUAK evaluation (TS 35.231); at least 1,
/// [`Default`] 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeccakIterations(NonZeroU32);

impl KeccakIterations {
    /// One iteration, the default.
    pub const ONE: Self = Self(NonZeroU32::MIN);

    /// Fails for zero.
    pub fn new(n: u32) -> Result<Self, AkaError> {
        NonZeroU32::new(n)
            .map(Self)
            .ok_or(AkaError::InvalidKeccakIterations)
    }

    /// The count.
    #[must_use]
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl Default for KeccakIterations {
    fn default() -> Self {
        Self::ONE
    }
}

/// Byte-reversed copy of `src` into `dst[at..]`.
fn push_reversed(state: &mut [u8; 200], at: usize, src: &[u8]) {
    for (d, s) in state[at..at + src.len()].iter_mut().zip(src.iter().rev()) {
        *d = *s;
    }
}

/// Byte-reversed copy of `state[at..at+len]`.
fn pull_reversed(state: &[u8; 200], at: usize, out: &mut [u8]) {
    let len = out.len();
    for (d, s) in out.iter_mut().zip(state[at..at + len].iter().rev()) {
        *d = *s;
    }
}

/// Fills the state as TS 35.231 lays it out, and permutes it `iterations` times.
/// Returns the 200-byte output state; the caller must zeroize it.
fn core(
    top: &[u8; 32],
    instance: u8,
    rand: &Rand,
    amf: &Amf,
    sqn: &Sqn,
    k: &K,
    iterations: KeccakIterations,
) -> [u8; 200] {
    let mut bytes = [0u8; 200];
    push_reversed(&mut bytes, 0, top);
    bytes[32] = instance | u8::from(k.bits() == 256);
    push_reversed(&mut bytes, 33, ALGONAME);
    push_reversed(&mut bytes, 40, rand);
    push_reversed(&mut bytes, 56, amf);
    push_reversed(&mut bytes, 58, sqn);
    push_reversed(&mut bytes, 64, k.as_bytes());
    bytes[96] = 0x1f;
    bytes[135] = 0x80;

    let mut lanes = [0u64; 25];
    for (lane, chunk) in lanes.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *lane = u64::from_le_bytes(b);
        b.zeroize();
    }
    keccak::Keccak::new().with_f1600(|f1600| {
        for _ in 0..iterations.get() {
            f1600(&mut lanes);
        }
    });
    for (chunk, lane) in bytes.chunks_exact_mut(8).zip(lanes.iter()) {
        chunk.copy_from_slice(&lane.to_le_bytes());
    }
    lanes.zeroize();
    bytes
}

/// TOPc from TOP (TS 35.231): the first 256 output bits of the TUAK permutation over
/// TOP, INSTANCE 0x00 (0x01 for a 256-bit K), zero RAND/AMF/SQN and K.
#[must_use]
pub fn topc(k: &K, top: &Top, iterations: KeccakIterations) -> Topc {
    let mut st = core(
        top.as_bytes(),
        0x00,
        &[0; 16],
        &[0; 2],
        &[0; 6],
        k,
        iterations,
    );
    let mut out = [0u8; 32];
    pull_reversed(&st, 0, &mut out);
    st.zeroize();
    Topc::from_bytes(out)
}

/// The outputs of f2, f3, f4 and f5 for one RAND (TS 35.231). CK and IK are zeroized on
/// drop; note that AK depends on the configured RES/CK/IK lengths.
#[derive(Clone, Debug)]
pub struct TuakOutputs {
    /// RES (f2).
    pub res: Res,
    /// CK (f3).
    pub ck: SessionKey,
    /// IK (f4).
    pub ik: SessionKey,
    /// AK (f5), 48 bits.
    pub ak: [u8; 6],
}

/// TUAK keyed for one subscriber: K, TOPc, the Keccak iteration count and the output lengths
/// (TS 35.231). Zeroized on drop (K and TOPc are).
#[derive(Clone, Debug)]
pub struct Tuak {
    k: K,
    topc: Topc,
    iterations: KeccakIterations,
    lengths: TuakLengths,
}

impl Tuak {
    /// TUAK for a card provisioned with TOPc. Both K lengths (128 and 256 bits) are allowed.
    #[must_use]
    pub fn new(k: &K, topc: &Topc, iterations: KeccakIterations, lengths: TuakLengths) -> Self {
        Self {
            k: k.clone(),
            topc: topc.clone(),
            iterations,
            lengths,
        }
    }

    /// TUAK for an operator that keeps TOP: derives TOPc first (TS 35.231).
    #[must_use]
    pub fn from_top(k: &K, top: &Top, iterations: KeccakIterations, lengths: TuakLengths) -> Self {
        let topc = topc(k, top, iterations);
        Self {
            k: k.clone(),
            topc,
            iterations,
            lengths,
        }
    }

    /// This subscriber's TOPc.
    #[must_use]
    pub fn topc(&self) -> &Topc {
        &self.topc
    }

    /// The configured output lengths.
    #[must_use]
    pub fn lengths(&self) -> TuakLengths {
        self.lengths
    }

    fn mac(&self, instance: u8, rand: &Rand, sqn: &Sqn, amf: &Amf) -> Mac {
        let len = self.lengths.mac.bytes();
        let instance = instance | self.lengths.mac.instance_bits();
        let mut st = core(
            self.topc.as_bytes(),
            instance,
            rand,
            amf,
            sqn,
            &self.k,
            self.iterations,
        );
        let mut out = [0u8; 32];
        pull_reversed(&st, 0, &mut out[..len]);
        st.zeroize();
        Mac::concat(&[&out[..len]])
    }

    /// f1: MAC-A (TS 35.231), INSTANCE 0x00 | MAC length | K length.
    #[must_use]
    pub fn f1(&self, rand: &Rand, sqn: &Sqn, amf: &Amf) -> Mac {
        self.mac(0x00, rand, sqn, amf)
    }

    /// f1*: MAC-S (TS 35.231), INSTANCE 0x80 | MAC length | K length.
    #[must_use]
    pub fn f1star(&self, rand: &Rand, sqn: &Sqn, amf: &Amf) -> Mac {
        self.mac(0x80, rand, sqn, amf)
    }

    /// f2, f3, f4 and f5 in one permutation (TS 35.231), INSTANCE 0x40 | RES, CK, IK and K
    /// lengths.
    #[must_use]
    pub fn f2345(&self, rand: &Rand) -> TuakOutputs {
        let l = self.lengths;
        let instance = 0x40
            | l.res.instance_bits()
            | if l.ck == KeyLength::Bits256 { 0x04 } else { 0 }
            | if l.ik == KeyLength::Bits256 { 0x02 } else { 0 };
        let mut st = core(
            self.topc.as_bytes(),
            instance,
            rand,
            &[0; 2],
            &[0; 6],
            &self.k,
            self.iterations,
        );
        let mut buf = [0u8; 32];
        let res_len = l.res.bytes();
        pull_reversed(&st, 0, &mut buf[..res_len]);
        let res = Res::concat(&[&buf[..res_len]]);
        let ck_len = l.ck.bytes();
        pull_reversed(&st, 32, &mut buf[..ck_len]);
        let ck = SessionKey::from_valid(&buf[..ck_len]);
        let ik_len = l.ik.bytes();
        pull_reversed(&st, 64, &mut buf[..ik_len]);
        let ik = SessionKey::from_valid(&buf[..ik_len]);
        let mut ak = [0u8; 6];
        pull_reversed(&st, 96, &mut ak);
        buf.zeroize();
        st.zeroize();
        TuakOutputs { res, ck, ik, ak }
    }

    /// f5*: AK* for resynchronisation (TS 35.231), INSTANCE 0xC0 | K length.
    #[must_use]
    pub fn f5star(&self, rand: &Rand) -> [u8; 6] {
        let mut st = core(
            self.topc.as_bytes(),
            0xc0,
            rand,
            &[0; 2],
            &[0; 6],
            &self.k,
            self.iterations,
        );
        let mut ak = [0u8; 6];
        pull_reversed(&st, 96, &mut ak);
        st.zeroize();
        ak
    }
}
