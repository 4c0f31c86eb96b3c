//! Operators (tenants) of the factory: create with checked settings, change the SM-DP+ reuse
//! default.

use simforge_sim as sim;
use simforge_store::{NewOperator, Operator, Store};

use simforge_audit::action;

use crate::{Actor, Error, Result, audited};

/// A new operator, as asked.
#[derive(Debug, Clone)]
pub struct NewOperatorRequest {
    /// Unique name: 1 to 64 characters from A-Z a-z 0-9 - _ . (not starting with `.`).
    pub name: String,
    /// Mobile country code (3 digits).
    pub mcc: String,
    /// Mobile network code (2 or 3 digits).
    pub mnc: String,
    /// ICCID issuer prefix: 89, country code, issuer identifier.
    pub iccid_prefix: String,
    /// Full ICCID length including the Luhn check digit (19 or 20).
    pub iccid_len: i64,
    /// Service provider name (EF.SPN).
    pub spn: String,
    /// Columns of the `.out` file (`None`: the defaults).
    pub out_columns: Option<String>,
    /// SM-DP+ default: a deleted profile returns to Available.
    pub reuse_on_delete: bool,
}

/// Checks and creates an operator, recorded in the audit log as done by `actor`.
pub async fn create(store: &Store, actor: &Actor, a: NewOperatorRequest) -> Result<Operator> {
    let target = (
        action::OPERATOR_CREATE,
        format!("operator:{}", a.name),
        None,
    );
    let result = create_unaudited(store, a).await;
    audited(
        store,
        actor,
        target,
        |op: &Operator, d| d.tenant(op.id),
        result,
    )
    .await
}

async fn create_unaudited(store: &Store, a: NewOperatorRequest) -> Result<Operator> {
    sim::Plmn::new(&a.mcc, &a.mnc)?;
    let prefix_ok = a.iccid_prefix.len() >= 2
        && (a.iccid_prefix.len() as i64) < a.iccid_len - 2
        && a.iccid_prefix.starts_with("89")
        && a.iccid_prefix.bytes().all(|b| b.is_ascii_digit());
    if !prefix_ok {
        return Err(Error::IccidPrefix);
    }
    sim::ef::spn(&a.spn, 0)?;
    if let Some(c) = &a.out_columns {
        sim::Column::parse_list(c).map_err(Error::OutColumns)?;
    }
    let name_ok = !a.name.is_empty()
        && a.name.len() <= 64
        && a.name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && !a.name.starts_with('.');
    if !name_ok {
        return Err(Error::OperatorName);
    }
    let mut op = store
        .create_operator(&NewOperator {
            name: a.name,
            mcc: a.mcc,
            mnc: a.mnc,
            iccid_prefix: a.iccid_prefix,
            iccid_len: a.iccid_len,
            spn: a.spn,
            out_columns: a.out_columns,
        })
        .await?;
    if a.reuse_on_delete {
        op = store.set_operator_reuse_on_delete(&op.name, true).await?;
    }
    Ok(op)
}

/// Sets the operator's SM-DP+ reuse default if `reuse_on_delete` is given (a change recorded
/// in the audit log as done by `actor`); returns the operator.
pub async fn update(
    store: &Store,
    actor: &Actor,
    name: &str,
    reuse_on_delete: Option<bool>,
) -> Result<Operator> {
    let Some(r) = reuse_on_delete else {
        return Ok(store.operator(name).await?);
    };
    let result = store
        .set_operator_reuse_on_delete(name, r)
        .await
        .map_err(Error::from);
    let target = (action::OPERATOR_UPDATE, format!("operator:{name}"), None);
    let details =
        |op: &Operator, d: simforge_audit::Draft| d.tenant(op.id).detail("reuse_on_delete", r);
    audited(store, actor, target, details, result).await
}
