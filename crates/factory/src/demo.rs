//! The demo operator and its order.

use rand_core::TryRngCore;
use simforge_store::{KeyKind, NewOperator, Operator, Store};
use simforge_vault::Vault;
use zeroize::Zeroizing;

use crate::keys::key_context;
use crate::{Error, Result};

/// The demo operator's name.
pub const DEMO_OPERATOR: &str = "demo";

/// The `demo` operator (PLMN 001-01, 20-digit ICCIDs under 8988211) with a random AES-256
/// transport key (KID 1) and OP (OPID 1) from `rng`: created on first use. Returns it and
/// whether it was created now.
pub async fn demo_operator<R: TryRngCore>(
    store: &Store,
    vault: &dyn Vault,
    rng: &mut R,
) -> Result<(Operator, bool)> {
    if let Ok(op) = store.operator(DEMO_OPERATOR).await {
        return Ok((op, false));
    }
    let op = store
        .create_operator(&NewOperator {
            name: DEMO_OPERATOR.into(),
            mcc: "001".into(),
            mnc: "01".into(),
            iccid_prefix: "8988211".into(),
            iccid_len: 20,
            spn: "simforge".into(),
            out_columns: None,
        })
        .await?;
    for (kind, len) in [(KeyKind::Transport, 32usize), (KeyKind::Op, 16)] {
        let mut k = Zeroizing::new(vec![0u8; len]);
        rng.try_fill_bytes(&mut k)
            .map_err(|e| Error::Random(simforge_sim::CardError::Random(e.to_string())))?;
        let sealed = vault.seal(&key_context(op.id, kind, 1), &k)?;
        store
            .put_key(op.id, kind, 1, (len * 8) as i64, &sealed, false)
            .await?;
    }
    Ok((op, true))
}

/// The demo's order (TOML): `quantity` MILENAGE cards with `ota_key_sets` OTA key sets under
/// KID 1 and OPID 1, from the operator's next free ranges.
#[must_use]
pub fn demo_order(quantity: u64, ota_key_sets: u8) -> String {
    format!(
        "quantity = {quantity}\nkid = 1\nopid = 1\n\n[profile]\nalgorithm = \"milenage\"\nota_key_sets = {ota_key_sets}\n"
    )
}

/// [`demo_order`] as an order to [`plan`](crate::batch::plan).
///
/// # Errors
/// [`Error::InvalidValue`] (never for these orders).
pub fn demo_order_spec(quantity: u64, ota_key_sets: u8) -> Result<crate::Order<'static>> {
    let text = demo_order(quantity, ota_key_sets);
    let spec = toml::from_str(&text).map_err(Error::invalid("demo order"))?;
    Ok(crate::Order::Spec(spec))
}
