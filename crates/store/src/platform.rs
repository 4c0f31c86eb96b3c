//! The platform's records on either database, one set of statements for both ([`Dialect`]):
//! operators, their sealed keys, batches and the ICCID/IMSI ranges they reserve, the master
//! key check, and the operator API's view of a profile.
//!
//! Range reservation checks for overlap and inserts in one transaction that no other
//! reservation can interleave with: SQLite's `BEGIN IMMEDIATE` (one writer at a time), on
//! PostgreSQL a transaction-scoped advisory lock ([`BATCH_LOCK`]) taken first, so that
//! reservations from several nodes are serialized by the database; READ COMMITTED then sees
//! every reservation committed before the lock was granted. Ranges of batches that are not
//! released therefore never overlap.

use simforge_smdp::{Error, OperatorId};
use sqlx::Row;

use crate::rsp::{db, json_err};
use crate::sql::Dialect;
use crate::{
    Batch, BatchState, KeyInfo, KeyKind, NewBatch, NewOperator, Operator, PgStore, Range,
    RangeConflict, SqliteStore, StoreError, now,
};

/// The advisory lock (`pg_advisory_xact_lock`) that serializes range reservations on
/// PostgreSQL.
pub const BATCH_LOCK: i64 = 0x5346_4241_5443_4831; // "SFBATCH1"

/// The operators' columns: on PostgreSQL the CancelSession policy lives in
/// `operator_settings` (the SM-DP+'s settings table, which predates operators there).
fn operators_from(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "SELECT o.* FROM operators o",
        Dialect::Postgres => {
            "SELECT o.*, s.cancel_session_policy FROM operators o
             LEFT JOIN operator_settings s ON s.operator_id = o.id"
        }
    }
}

const BATCHES_FROM: &str =
    "SELECT b.*, o.name AS operator FROM batches b JOIN operators o ON o.id = b.operator_id";

fn batch_state_str(s: BatchState) -> &'static str {
    match s {
        BatchState::Generating => "generating",
        BatchState::Complete => "complete",
        BatchState::Released => "released",
    }
}

/// The statements of [`SqliteStore`] and [`PgStore`] over their `pool`, in dialect `$d`, rows
/// of type `$row`, connections `$conn`.
macro_rules! platform_store {
    ($store:ty, $d:expr, $row:ty, $conn:ty) => {
        impl $store {
            /// The master key check: the value sealed under the master key when the database
            /// was first opened with one, and that key's fingerprint; `None` before.
            ///
            /// # Errors
            /// A database error.
            pub async fn vault_check(&self) -> Result<Option<(String, Vec<u8>)>, StoreError> {
                let row = sqlx::query("SELECT fingerprint, sealed FROM vault_check WHERE id = 1")
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| Ok::<_, StoreError>((r.try_get("fingerprint")?, r.try_get("sealed")?)))
                    .transpose()
            }

            /// Stores the master key check unless one is stored; the one stored afterwards.
            ///
            /// # Errors
            /// A database error.
            pub async fn init_vault_check(
                &self,
                fingerprint: &str,
                sealed: &[u8],
            ) -> Result<(String, Vec<u8>), StoreError> {
                let sql = $d.sql(
                    "INSERT INTO vault_check (id, fingerprint, sealed, created_at) VALUES (1, ?, ?, ?)
                     ON CONFLICT (id) DO NOTHING",
                );
                sqlx::query(&sql)
                    .bind(fingerprint)
                    .bind(sealed)
                    .bind(now())
                    .execute(&self.pool)
                    .await?;
                self.vault_check()
                    .await?
                    .ok_or_else(|| StoreError::NotFound("master key check".into()))
            }

            /// Checks that the master key is the one this database was sealed with: `unseals`
            /// is whether the stored check value unseals under it. The first time (no check
            /// value yet), stores `seal()`'s value. A wrong key is
            /// [`StoreError::WrongMasterKey`].
            ///
            /// # Errors
            /// [`StoreError::WrongMasterKey`], a database error.
            pub async fn check_master_key(
                &self,
                fingerprint: &str,
                seal: impl FnOnce() -> Option<Vec<u8>>,
                unseals: impl FnOnce(&[u8]) -> bool,
            ) -> Result<(), StoreError> {
                let (stored, sealed) = match self.vault_check().await? {
                    Some(c) => c,
                    None => match seal() {
                        Some(v) => self.init_vault_check(fingerprint, &v).await?,
                        None => return Ok(()),
                    },
                };
                if unseals(&sealed) {
                    Ok(())
                } else {
                    Err(StoreError::WrongMasterKey {
                        given: fingerprint.to_owned(),
                        stored,
                    })
                }
            }

            /// Creates an operator.
            pub async fn create_operator(&self, op: &NewOperator) -> Result<Operator, StoreError> {
                let created_at = now();
                let sql = $d.sql(
                    "INSERT INTO operators (name, mcc, mnc, iccid_prefix, iccid_len, spn, out_columns, created_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                );
                let r = sqlx::query_scalar::<_, i64>(&sql)
                    .bind(&op.name)
                    .bind(&op.mcc)
                    .bind(&op.mnc)
                    .bind(&op.iccid_prefix)
                    .bind(op.iccid_len)
                    .bind(&op.spn)
                    .bind(&op.out_columns)
                    .bind(&created_at)
                    .fetch_one(&self.pool)
                    .await;
                match r {
                    Ok(id) => Ok(Operator {
                        id,
                        name: op.name.clone(),
                        mcc: op.mcc.clone(),
                        mnc: op.mnc.clone(),
                        iccid_prefix: op.iccid_prefix.clone(),
                        iccid_len: op.iccid_len,
                        spn: op.spn.clone(),
                        out_columns: op.out_columns.clone(),
                        created_at,
                        reuse_on_delete: false,
                        cancel_session_policy: None,
                    }),
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        Err(StoreError::Exists(format!("operator {}", op.name)))
                    }
                    Err(e) => Err(e.into()),
                }
            }

            fn operator_from_row(r: &$row) -> Result<Operator, StoreError> {
                Ok(Operator {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    mcc: r.try_get("mcc")?,
                    mnc: r.try_get("mnc")?,
                    iccid_prefix: r.try_get("iccid_prefix")?,
                    iccid_len: r.try_get("iccid_len")?,
                    spn: r.try_get("spn")?,
                    out_columns: r.try_get("out_columns")?,
                    created_at: r.try_get("created_at")?,
                    reuse_on_delete: r.try_get("reuse_on_delete")?,
                    cancel_session_policy: r.try_get("cancel_session_policy")?,
                })
            }

            /// The operator with that id.
            pub async fn operator_by_id(&self, id: i64) -> Result<Operator, StoreError> {
                let sql = format!("{} WHERE o.id = ?", operators_from($d));
                let row = sqlx::query(&$d.sql(&sql))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("operator id {id}")))?;
                Self::operator_from_row(&row)
            }

            /// Sets the operator's SM-DP+ default for profiles imported without an explicit
            /// choice (see [`Operator::reuse_on_delete`]); profiles already imported keep theirs.
            pub async fn set_operator_reuse_on_delete(
                &self,
                name: &str,
                reuse_on_delete: bool,
            ) -> Result<Operator, StoreError> {
                let sql = $d.sql("UPDATE operators SET reuse_on_delete = ? WHERE name = ?");
                let r = sqlx::query(&sql)
                    .bind(reuse_on_delete)
                    .bind(name)
                    .execute(&self.pool)
                    .await?;
                if r.rows_affected() == 0 {
                    return Err(StoreError::NotFound(format!("operator {name}")));
                }
                self.operator(name).await
            }

            /// The operator of that name.
            pub async fn operator(&self, name: &str) -> Result<Operator, StoreError> {
                let sql = format!("{} WHERE o.name = ?", operators_from($d));
                let row = sqlx::query(&$d.sql(&sql))
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("operator {name}")))?;
                Self::operator_from_row(&row)
            }

            /// All operators, by name.
            pub async fn operators(&self) -> Result<Vec<Operator>, StoreError> {
                let sql = format!("{} ORDER BY o.name", operators_from($d));
                let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
                rows.iter().map(Self::operator_from_row).collect()
            }

            /// Stores a sealed key. Refuses to replace an existing key unless `replace` is set.
            pub async fn put_key(
                &self,
                operator_id: i64,
                kind: KeyKind,
                index: i64,
                bits: i64,
                sealed: &[u8],
                replace: bool,
            ) -> Result<(), StoreError> {
                let sql = if replace {
                    "INSERT INTO operator_keys (operator_id, kind, idx, bits, sealed, created_at) VALUES (?, ?, ?, ?, ?, ?)
                     ON CONFLICT (operator_id, kind, idx) DO UPDATE SET bits = excluded.bits,
                       sealed = excluded.sealed, created_at = excluded.created_at"
                } else {
                    "INSERT INTO operator_keys (operator_id, kind, idx, bits, sealed, created_at) VALUES (?, ?, ?, ?, ?, ?)"
                };
                let r = sqlx::query(&$d.sql(sql))
                    .bind(operator_id)
                    .bind(kind.as_str())
                    .bind(index)
                    .bind(bits)
                    .bind(sealed)
                    .bind(now())
                    .execute(&self.pool)
                    .await;
                match r {
                    Ok(_) => Ok(()),
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        Err(StoreError::Exists(format!("{} key {index}", kind.as_str())))
                    }
                    Err(e) => Err(e.into()),
                }
            }

            /// The sealed value of a key.
            pub async fn sealed_key(
                &self,
                operator_id: i64,
                kind: KeyKind,
                index: i64,
            ) -> Result<Vec<u8>, StoreError> {
                let sql = $d.sql(
                    "SELECT sealed FROM operator_keys WHERE operator_id = ? AND kind = ? AND idx = ?",
                );
                sqlx::query(&sql)
                    .bind(operator_id)
                    .bind(kind.as_str())
                    .bind(index)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|r| r.try_get::<Vec<u8>, _>("sealed"))
                    .transpose()?
                    .ok_or_else(|| StoreError::NotFound(format!("{} key {index}", kind.as_str())))
            }

            /// The operator's keys (without their values).
            pub async fn keys(&self, operator_id: i64) -> Result<Vec<KeyInfo>, StoreError> {
                let sql = $d.sql(
                    "SELECT kind, idx, bits, created_at FROM operator_keys WHERE operator_id = ? ORDER BY kind, idx",
                );
                let rows = sqlx::query(&sql)
                    .bind(operator_id)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let kind: String = r.try_get("kind")?;
                        Ok(KeyInfo {
                            kind: if kind == "op" {
                                KeyKind::Op
                            } else {
                                KeyKind::Transport
                            },
                            index: r.try_get("idx")?,
                            bits: r.try_get("bits")?,
                            created_at: r.try_get("created_at")?,
                        })
                    })
                    .collect()
            }

            /// The overlap check and the insert of a reservation, on a connection inside the
            /// transaction that serializes reservations.
            async fn reserve_in(conn: &mut $conn, b: &NewBatch) -> Result<i64, StoreError> {
                for (what, col, r) in [("ICCID", "iccid", b.iccid), ("IMSI", "imsi", b.imsi)] {
                    let sql = format!(
                        "SELECT b.id, b.name, b.state, o.name AS operator FROM batches b JOIN operators o ON o.id = b.operator_id
                         WHERE b.state != 'released' AND b.{col}_len = ? AND b.{col}_first <= ? AND b.{col}_last >= ? LIMIT 1"
                    );
                    if let Some(row) = sqlx::query(&$d.sql(&sql))
                        .bind(r.len)
                        .bind(r.last)
                        .bind(r.first)
                        .fetch_optional(&mut *conn)
                        .await?
                    {
                        return Err(StoreError::Overlap(Box::new(RangeConflict {
                            what,
                            first: r.first.to_string(),
                            last: r.last.to_string(),
                            batch: row.try_get("name")?,
                            batch_id: row.try_get("id")?,
                            operator: row.try_get("operator")?,
                            state: row.try_get("state")?,
                        })));
                    }
                }
                let sql = $d.sql(
                    "INSERT INTO batches (operator_id, name, quantity, iccid_len, iccid_first, iccid_last,
                       imsi_len, imsi_first, imsi_last, kid, opid, state, plan, output_dir, created_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'generating', ?, ?, ?) RETURNING id",
                );
                let r = sqlx::query_scalar::<_, i64>(&sql)
                    .bind(b.operator_id)
                    .bind(&b.name)
                    .bind(b.quantity)
                    .bind(b.iccid.len)
                    .bind(b.iccid.first)
                    .bind(b.iccid.last)
                    .bind(b.imsi.len)
                    .bind(b.imsi.first)
                    .bind(b.imsi.last)
                    .bind(b.kid)
                    .bind(b.opid)
                    .bind(&b.plan)
                    .bind(&b.output_dir)
                    .bind(now())
                    .fetch_one(&mut *conn)
                    .await;
                match r {
                    Ok(id) => Ok(id),
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        Err(StoreError::Exists(format!("batch {}", b.name)))
                    }
                    Err(e) => Err(e.into()),
                }
            }

            /// Reserves a batch's ranges: in one transaction that no other reservation
            /// interleaves with, refuses any overlap with a batch that is not released (of any
            /// operator), then inserts the batch as `generating`. The work runs on a task of
            /// its own: a caller that gives up (a dropped future) cannot leave a connection
            /// inside the transaction.
            pub async fn reserve_batch(&self, b: &NewBatch) -> Result<i64, StoreError> {
                let store = self.clone();
                let b = b.clone();
                tokio::spawn(async move { store.reserve_serialized(&b).await })
                    .await
                    .map_err(|e| StoreError::Config(format!("batch reservation: {e}")))?
            }

            /// Marks a generating batch complete.
            pub async fn complete_batch(&self, id: i64) -> Result<(), StoreError> {
                self.transition(
                    id,
                    BatchState::Generating,
                    "complete",
                    "only a generating batch can complete",
                )
                .await
            }

            /// Gives a generating (unfinished) batch's ranges back. Complete batches were
            /// delivered and keep their ranges forever.
            pub async fn release_batch(&self, id: i64) -> Result<(), StoreError> {
                self.transition(
                    id,
                    BatchState::Generating,
                    "released",
                    "only an unfinished batch can be released",
                )
                .await
            }

            async fn transition(
                &self,
                id: i64,
                from: BatchState,
                to: &str,
                why: &'static str,
            ) -> Result<(), StoreError> {
                let sql = $d.sql(
                    "UPDATE batches SET state = ?, completed_at = ? WHERE id = ? AND state = ?",
                );
                let r = sqlx::query(&sql)
                    .bind(to)
                    .bind(now())
                    .bind(id)
                    .bind(batch_state_str(from))
                    .execute(&self.pool)
                    .await?;
                if r.rows_affected() == 1 {
                    return Ok(());
                }
                let b = self.batch(id).await?;
                Err(StoreError::State(id, batch_state_str(b.state).to_owned(), why))
            }

            fn batch_from_row(r: &$row) -> Result<Batch, StoreError> {
                let state: String = r.try_get("state")?;
                Ok(Batch {
                    id: r.try_get("id")?,
                    operator: r.try_get("operator")?,
                    name: r.try_get("name")?,
                    quantity: r.try_get("quantity")?,
                    iccid: Range {
                        len: r.try_get("iccid_len")?,
                        first: r.try_get("iccid_first")?,
                        last: r.try_get("iccid_last")?,
                    },
                    imsi: Range {
                        len: r.try_get("imsi_len")?,
                        first: r.try_get("imsi_first")?,
                        last: r.try_get("imsi_last")?,
                    },
                    kid: r.try_get("kid")?,
                    opid: r.try_get("opid")?,
                    state: state.parse()?,
                    plan: r.try_get("plan")?,
                    output_dir: r.try_get("output_dir")?,
                    created_at: r.try_get("created_at")?,
                    completed_at: r.try_get("completed_at")?,
                })
            }

            /// One batch.
            pub async fn batch(&self, id: i64) -> Result<Batch, StoreError> {
                let sql = format!("{BATCHES_FROM} WHERE b.id = ?");
                let row = sqlx::query(&$d.sql(&sql))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("batch {id}")))?;
                Self::batch_from_row(&row)
            }

            /// Batches, newest first, optionally of one operator.
            pub async fn batches(&self, operator: Option<&str>) -> Result<Vec<Batch>, StoreError> {
                let sql = match operator {
                    Some(_) => format!("{BATCHES_FROM} WHERE o.name = ? ORDER BY b.id DESC"),
                    None => format!("{BATCHES_FROM} ORDER BY b.id DESC"),
                };
                let sql = $d.sql(&sql);
                let mut q = sqlx::query(&sql);
                if let Some(name) = operator {
                    q = q.bind(name);
                }
                let rows = q.fetch_all(&self.pool).await?;
                rows.iter().map(Self::batch_from_row).collect()
            }

            /// The highest reserved value of a column within `[lo, hi]` (for "next free"
            /// allocation).
            pub async fn highest_reserved(
                &self,
                iccid: bool,
                len: i64,
                lo: i64,
                hi: i64,
            ) -> Result<Option<i64>, StoreError> {
                let col = if iccid { "iccid" } else { "imsi" };
                let sql = format!(
                    "SELECT MAX({col}_last) AS m FROM batches WHERE state != 'released' AND {col}_len = ? AND {col}_last >= ? AND {col}_first <= ?"
                );
                let row = sqlx::query(&$d.sql(&sql))
                    .bind(len)
                    .bind(lo)
                    .bind(hi)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.try_get::<Option<i64>, _>("m")?.map(|m| m.min(hi)))
            }

            /// `operator`'s profile `iccid` as recorded, without its package (left empty), read
            /// on the pool: for views (the operator API), which must not take the SM-DP+'s
            /// connection or locks as a [`simforge_smdp::SmdpTx`] does.
            ///
            /// # Errors
            /// A database failure or a record that does not decode.
            pub async fn profile_view(
                &self,
                operator: OperatorId,
                iccid: &simforge_asn1::Iccid,
            ) -> Result<Option<simforge_smdp::ProfileRecord>, Error> {
                let sql = $d.sql(
                    "SELECT record, version FROM rsp_profiles WHERE operator_id = ? AND iccid = ?",
                );
                let row = sqlx::query(&sql)
                    .bind(operator)
                    .bind(iccid.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                let Some(row) = row else { return Ok(None) };
                let record: String = row.try_get("record").map_err(db)?;
                let mut p: simforge_smdp::ProfileRecord =
                    serde_json::from_str(&record).map_err(json_err)?;
                p.version = row.try_get("version").map_err(db)?;
                Ok(Some(p))
            }
        }
    };
}

platform_store!(
    SqliteStore,
    Dialect::Sqlite,
    sqlx::sqlite::SqliteRow,
    sqlx::SqliteConnection
);
platform_store!(
    PgStore,
    Dialect::Postgres,
    sqlx::postgres::PgRow,
    sqlx::PgConnection
);

impl SqliteStore {
    /// [`Self::reserve_batch`] in `BEGIN IMMEDIATE`: one writer at a time.
    async fn reserve_serialized(&self, b: &NewBatch) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let id = Self::reserve_in(&mut tx, b).await?;
        tx.commit().await?;
        Ok(id)
    }
}

impl PgStore {
    /// [`Self::reserve_batch`] after [`BATCH_LOCK`]: one reservation at a time across every
    /// node on the database.
    async fn reserve_serialized(&self, b: &NewBatch) -> Result<i64, StoreError> {
        let mut tx = crate::pg::begin(&self.pool).await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(BATCH_LOCK)
            .execute(&mut *tx)
            .await?;
        let id = Self::reserve_in(&mut tx, b).await?;
        tx.commit().await?;
        Ok(id)
    }
}
