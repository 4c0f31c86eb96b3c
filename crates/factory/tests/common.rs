//! Shared set-up of the factory's tests: a store and a vault in a temporary directory, an
//! operator with fixed keys, fixed-seed random sources.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use simforge_factory::{self as factory, Order, Planned, keys, operators};
use simforge_sim::CardError;
use simforge_store::{KeyKind, Operator, Store};
use simforge_vault::MasterKey;

pub const TRANSPORT: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
pub const OP: &str = "00112233445566778899aabbccddeeff";
pub const TOP: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// The fixed time of the golden batches: their default name is `B1700000000123`.
pub fn fixed_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)
}

/// A fixed-seed random source per worker.
pub fn seeded() -> impl Fn() -> Result<ChaCha20Rng, CardError> + Sync + Send {
    || Ok(ChaCha20Rng::from_seed([7u8; 32]))
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub vault: MasterKey,
    pub op: Operator,
}

impl Env {
    /// A fresh store with operator `golden` (PLMN 001-01, 20-digit ICCIDs under 8988211),
    /// transport key KID 1, OP at OPID 1 and TOP at OPID 2.
    pub async fn new(out_columns: Option<&str>) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .expect("store");
        let vault = MasterKey::from_bytes([9u8; 32]);
        let op = operators::create(
            &store,
            &simforge_factory::Actor::cli("test"),
            operators::NewOperatorRequest {
                name: "golden".into(),
                mcc: "001".into(),
                mnc: "01".into(),
                iccid_prefix: "8988211".into(),
                iccid_len: 20,
                spn: "simforge".into(),
                out_columns: out_columns.map(str::to_owned),
                reuse_on_delete: false,
            },
        )
        .await
        .expect("operator");
        for (kind, index, hex) in [
            (KeyKind::Transport, 1, TRANSPORT),
            (KeyKind::Op, 1, OP),
            (KeyKind::Op, 2, TOP),
        ] {
            let k = keys::parse_key(kind, hex).expect("key");
            keys::store_key(
                &store,
                &vault,
                &simforge_factory::Actor::cli("test"),
                &op,
                &k,
                index,
                false,
            )
            .await
            .expect("store key");
        }
        Env {
            dir,
            store,
            vault,
            op,
        }
    }

    pub fn out_root(&self) -> PathBuf {
        self.dir.path().join("batches")
    }

    pub async fn plan(&self, order_toml: &str) -> Planned {
        let spec = toml::from_str(order_toml).expect("order");
        factory::plan(
            &self.store,
            &self.op,
            Order::Spec(spec),
            "test",
            fixed_now(),
        )
        .await
        .expect("plan")
    }
}
