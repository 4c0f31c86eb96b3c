//! # simforge-sim
//!
//! The SIM factory's data preparation, without I/O: identifiers ([`Iccid`], [`Imsi`], [`Plmn`],
//! [`Msisdn`]) built only by parsing, EF encodings (TS 31.102 / TS 51.011), card secrets as
//! zeroizing types, operator orders, and the streaming batch generator that makes every card and
//! formats it into the files of the trade.
//!
//! Randomness and keys are injected; files are written by the caller through `std::io::Write`.

pub mod card;
pub mod ef;
pub mod formats;
pub mod ids;
pub mod keys;
pub mod luhn;
pub mod order;
pub mod pipeline;
pub mod secret;
pub mod text;

pub use card::{Card, CardError, CardMaker, OtaKeySet, VarKey};
pub use formats::{
    CardFormat, Column, ElectricalColumns, ElectricalError, ElectricalFile, ElectricalReader,
    ElectricalRecord, LaserFile, OsmoHlrScript, OutFile, PysimCsv,
};
pub use ids::{Iccid, IdError, Imsi, Msisdn, Plmn};
pub use keys::{BatchCipher, BlockCipher, CipherError, OperatorVariant, TransportKey, kcv, kcv128};
pub use order::{
    Algorithm, BatchPlan, CardProfile, CheckedProfile, CodePolicy, CodePolicyText, OperatorProfile,
    OrderError, OrderSpec, Start, parse_order_file,
};
pub use pipeline::{OsRandom, PipelineError, run};
pub use secret::{Adm, Key128, Pin, SecretError};
pub use text::{BoundedLines, TextError};
