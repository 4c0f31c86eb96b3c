//! One module per command tree. A command module uses `ctx`, `exit` and `output` and the
//! library crates, never another command module.

pub mod audit;
pub mod batch;
pub mod db;
pub mod demo;
pub mod euicc;
pub mod hsm;
pub mod key;
pub mod load;
pub mod lpa;
pub mod operator;
pub mod pki;
pub mod serve;
pub mod smds;
pub mod user;
pub mod verify;
