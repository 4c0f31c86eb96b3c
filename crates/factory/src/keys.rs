//! Operator keys: transport keys (KID) and OP/TOP values (OPID), sealed in the vault.

use std::io::Read;
use std::sync::Arc;

use simforge_sim as sim;
use simforge_store::{KeyKind, Operator, Store};
use simforge_vault::Vault;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// The largest key file read (bytes): a key is at most 64 hex digits, a few KiB leave room for
/// comments and line breaks.
pub const MAX_KEY_TEXT: usize = 4096;

/// The vault slot of an operator key.
#[must_use]
pub fn key_context(operator_id: i64, kind: KeyKind, index: i64) -> String {
    let k = match kind {
        KeyKind::Transport => "transport",
        KeyKind::Op => "op",
    };
    format!("simforge/operator/{operator_id}/{k}/{index}")
}

/// A key read from its hex text, ready to be sealed.
pub struct ParsedKey {
    /// Transport or OP/TOP.
    pub kind: KeyKind,
    /// Its size in bits.
    pub bits: usize,
    bytes: Zeroizing<Vec<u8>>,
}

/// Reads key text (hex) from `input`, at most [`MAX_KEY_TEXT`] bytes; `what` names the input.
pub fn read_key_text(input: impl Read, what: &str) -> Result<Zeroizing<String>> {
    sim::text::read_text(input, MAX_KEY_TEXT).map_err(Error::invalid(what))
}

/// Parses a key of `kind` from hex text (an AES-128/192/256 transport key, or a 128-bit OP /
/// 256-bit TOP).
pub fn parse_key(kind: KeyKind, text: &str) -> Result<ParsedKey> {
    Ok(match kind {
        KeyKind::Transport => {
            let k = sim::TransportKey::from_hex(text).map_err(Error::invalid("key file"))?;
            let mut b = Zeroizing::new(vec![0u8; k.bits() / 8]);
            sim::secret::decode_hex_into(text.trim(), &mut b)
                .map_err(Error::invalid("key file"))?;
            ParsedKey {
                kind,
                bits: k.bits(),
                bytes: b,
            }
        }
        KeyKind::Op => {
            let v = sim::OperatorVariant::from_hex(text).map_err(Error::invalid("key file"))?;
            ParsedKey {
                kind,
                bits: v.expose().len() * 8,
                bytes: Zeroizing::new(v.expose().to_vec()),
            }
        }
    })
}

/// Seals and stores `key` at `index` for `op` (`replace`: over an existing key).
///
/// Recorded in the audit log as done by `actor`: the key's kind, index and size, never its
/// value.
pub async fn store_key(
    store: &Store,
    vault: &dyn Vault,
    actor: &crate::Actor,
    op: &Operator,
    key: &ParsedKey,
    index: u32,
    replace: bool,
) -> Result<()> {
    let kind = format!("{:?}", key.kind).to_lowercase();
    let target = (
        simforge_audit::action::KEY_IMPORT,
        format!("key:{}/{kind}/{index}", op.name),
        Some(op.id),
    );
    let result = store_key_unaudited(store, vault, op, key, index, replace).await;
    let details =
        |(): &(), d: simforge_audit::Draft| d.detail("bits", key.bits).detail("replace", replace);
    crate::audited(store, actor, target, details, result).await
}

async fn store_key_unaudited(
    store: &Store,
    vault: &dyn Vault,
    op: &Operator,
    key: &ParsedKey,
    index: u32,
    replace: bool,
) -> Result<()> {
    let sealed = vault.seal(&key_context(op.id, key.kind, i64::from(index)), &key.bytes)?;
    store
        .put_key(
            op.id,
            key.kind,
            i64::from(index),
            key.bits as i64,
            &sealed,
            replace,
        )
        .await?;
    Ok(())
}

/// The start of a stored transport key that names a key in an HSM instead of holding one: the
/// sealed value is this prefix and the key's label in the token (sealed like a key, so bound to
/// its operator and index).
pub const HSM_KEY_PREFIX: &[u8] = b"simforge-hsm-key:";

/// An operator's transport key as stored: in the process's memory after unsealing, or the label
/// of a key that never leaves an HSM.
pub enum TransportKeyRef {
    /// Unsealed from the database.
    Memory(Box<sim::TransportKey>),
    /// Held by the HSM under this label.
    Hsm(String),
}

/// Opens the transport keys held by an HSM (`simforge_hsm::Token` is one).
pub trait TransportKeys: Send + Sync {
    /// The key labelled `label`, as the `.out` writer's cipher.
    ///
    /// # Errors
    /// Why the key cannot be used (absent, extractable, not AES, the module failed).
    fn open_transport(
        &self,
        label: &str,
    ) -> std::result::Result<Arc<dyn sim::BatchCipher>, Box<dyn std::error::Error + Send + Sync>>;
}

impl TransportKeys for Arc<simforge_hsm::Token> {
    fn open_transport(
        &self,
        label: &str,
    ) -> std::result::Result<Arc<dyn sim::BatchCipher>, Box<dyn std::error::Error + Send + Sync>>
    {
        Ok(Arc::new(simforge_hsm::HsmTransportKey::open(
            Arc::clone(self),
            label,
        )?))
    }
}

impl TransportKeyRef {
    /// The cipher of the `.out` writer: the key itself, or the HSM's key through `hsm`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a key held by an HSM when none is given, or one the HSM cannot
    /// use.
    pub fn cipher(
        self,
        kid: u32,
        hsm: Option<&dyn TransportKeys>,
    ) -> Result<Arc<dyn sim::BatchCipher>> {
        match (self, hsm) {
            (Self::Memory(k), _) => Ok(Arc::new(*k)),
            (Self::Hsm(label), Some(hsm)) => hsm
                .open_transport(&label)
                .map_err(|e| Error::Invalid(format!("KID {kid}: HSM key {label:?}: {e}"))),
            (Self::Hsm(label), None) => Err(Error::Invalid(format!(
                "KID {kid} is HSM key {label:?}: give the HSM (--hsm-module, --hsm-token, --hsm-pin-file)"
            ))),
        }
    }
}

/// Stores, at `index` for `op`, a reference to the HSM's transport key `label` of `bits` bits
/// (sealed like a key; `replace`: over an existing key). The key itself stays in the HSM.
///
/// Recorded in the audit log like [`store_key`], with the label.
#[allow(clippy::too_many_arguments)]
pub async fn store_hsm_transport_key(
    store: &Store,
    vault: &dyn Vault,
    actor: &crate::Actor,
    op: &Operator,
    label: &str,
    bits: usize,
    index: u32,
    replace: bool,
) -> Result<()> {
    let target = (
        simforge_audit::action::KEY_IMPORT,
        format!("key:{}/transport/{index}", op.name),
        Some(op.id),
    );
    let reference = [HSM_KEY_PREFIX, label.as_bytes()].concat();
    let result = async {
        let context = key_context(op.id, KeyKind::Transport, i64::from(index));
        let sealed = vault.seal(&context, &reference)?;
        store
            .put_key(
                op.id,
                KeyKind::Transport,
                i64::from(index),
                bits as i64,
                &sealed,
                replace,
            )
            .await?;
        Ok(())
    }
    .await;
    let details = |(): &(), d: simforge_audit::Draft| {
        d.detail("bits", bits)
            .detail("replace", replace)
            .detail("hsm_label", label)
    };
    crate::audited(store, actor, target, details, result).await
}

/// Loads and unseals the operator's transport key and OP/TOP for a batch.
///
/// The unseal is recorded in the audit log as done by `actor` for `purpose` (the indexes,
/// never the values).
pub async fn load_keys(
    store: &Store,
    vault: &dyn Vault,
    actor: &crate::Actor,
    (operator_id, purpose): (i64, &str),
    kid: u32,
    opid: u32,
) -> Result<(TransportKeyRef, sim::OperatorVariant)> {
    let target = (
        simforge_audit::action::KEY_UNSEAL,
        format!("key:transport/{kid}+op/{opid}"),
        Some(operator_id),
    );
    let result = load_keys_unaudited(store, vault, operator_id, kid, opid).await;
    let details = |_: &_, d: simforge_audit::Draft| d.detail("purpose", purpose);
    crate::audited(store, actor, target, details, result).await
}

async fn load_keys_unaudited(
    store: &Store,
    vault: &dyn Vault,
    operator_id: i64,
    kid: u32,
    opid: u32,
) -> Result<(TransportKeyRef, sim::OperatorVariant)> {
    let sealed_t = store
        .sealed_key(operator_id, KeyKind::Transport, i64::from(kid))
        .await
        .map_err(|source| Error::UnknownKey {
            what: format!(
                "unknown KID {kid}: import it with `simforge key import --kind transport --index {kid}`"
            ),
            source,
        })?;
    let t = vault.unseal(
        &key_context(operator_id, KeyKind::Transport, i64::from(kid)),
        &sealed_t,
    )?;
    let sealed_o = store
        .sealed_key(operator_id, KeyKind::Op, i64::from(opid))
        .await
        .map_err(|source| Error::UnknownKey {
            what: format!(
                "unknown OPID {opid}: import it with `simforge key import --kind op --index {opid}`"
            ),
            source,
        })?;
    let o = vault.unseal(
        &key_context(operator_id, KeyKind::Op, i64::from(opid)),
        &sealed_o,
    )?;
    let transport = match t.strip_prefix(HSM_KEY_PREFIX) {
        Some(label) => TransportKeyRef::Hsm(
            String::from_utf8(label.to_vec())
                .map_err(|_| Error::Damaged(format!("stored transport key {kid} is damaged")))?,
        ),
        None => TransportKeyRef::Memory(Box::new(
            sim::TransportKey::from_bytes(&t)
                .map_err(|_| Error::Damaged(format!("stored transport key {kid} is damaged")))?,
        )),
    };
    let variant = match o.len() {
        16 => sim::OperatorVariant::Op(
            o[..]
                .try_into()
                .map_err(|_| Error::Damaged("stored OP is damaged".into()))?,
        ),
        32 => sim::OperatorVariant::Top(
            o[..]
                .try_into()
                .map_err(|_| Error::Damaged("stored TOP is damaged".into()))?,
        ),
        _ => {
            return Err(Error::Damaged(format!(
                "stored OP/TOP {opid} has an unexpected size"
            )));
        }
    };
    Ok((transport, variant))
}

/// The generator's view of a stored operator.
pub fn operator_profile(op: &Operator) -> Result<sim::OperatorProfile> {
    Ok(sim::OperatorProfile {
        name: op.name.clone(),
        plmn: sim::Plmn::new(&op.mcc, &op.mnc)?,
        iccid_prefix: op.iccid_prefix.clone(),
        iccid_len: op.iccid_len as usize,
        spn: op.spn.clone(),
    })
}
