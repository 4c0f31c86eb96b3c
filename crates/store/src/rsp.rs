//! SQLite implementation of the SM-DP+ storage trait ([`simforge_smdp::SmdpStore`]).
//!
//! Every transaction starts with `BEGIN IMMEDIATE`: it holds the write lock from its first
//! read, so a load → decide → save sequence cannot interleave with another writer and two
//! concurrent downloads can never bind the same profile. Profiles also carry a version that
//! [`SmdpTx::put_profile`] checks. Every row carries its operator (tenant).

use simforge_asn1::{Eid, TransactionId};
use simforge_smdp::{
    Error, Event, OperatorId, ProfileRecord, ProfileState, SealedPackage, Session, SmdpStore,
    SmdpTx,
};
use sqlx::pool::PoolConnection;
use sqlx::{Row, Sqlite};

use crate::Store;

fn db(e: sqlx::Error) -> Error {
    Error::Storage(e.to_string())
}

fn json_err(e: serde_json::Error) -> Error {
    Error::Storage(format!("record encoding: {e}"))
}

/// A write transaction on the platform database.
pub struct SqliteTx {
    conn: PoolConnection<Sqlite>,
    open: bool,
}

impl std::fmt::Debug for SqliteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTx")
            .field("open", &self.open)
            .finish()
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.open {
            // Not committed: make sure the connection goes back to the pool without the
            // transaction (sqlx runs this before reusing the connection).
            self.conn.close_on_drop();
        }
    }
}

impl SmdpStore for Store {
    type Tx = SqliteTx;

    async fn begin(&self) -> Result<SqliteTx, Error> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        Ok(SqliteTx { conn, open: true })
    }
}

fn profile_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ProfileRecord, Error> {
    let record: String = row.try_get("record").map_err(db)?;
    let package: Vec<u8> = row.try_get("package").map_err(db)?;
    let version: i64 = row.try_get("version").map_err(db)?;
    let mut p: ProfileRecord = serde_json::from_str(&record).map_err(json_err)?;
    p.package = SealedPackage(package);
    p.version = version;
    Ok(p)
}

fn profile_json(p: &ProfileRecord) -> Result<String, Error> {
    let mut light = p.clone();
    light.package = SealedPackage(Vec::new());
    serde_json::to_string(&light).map_err(json_err)
}

impl SqliteTx {
    async fn one_profile(
        &mut self,
        sql: &str,
        binds: &[&str],
    ) -> Result<Option<ProfileRecord>, Error> {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(*b);
        }
        q.fetch_optional(&mut *self.conn)
            .await
            .map_err(db)?
            .as_ref()
            .map(profile_from_row)
            .transpose()
    }
}

const COLS: &str = "record, package, version";

impl SmdpTx for SqliteTx {
    async fn session(&mut self, tid: &TransactionId) -> Result<Option<Session>, Error> {
        let row = sqlx::query("SELECT record FROM rsp_sessions WHERE transaction_id = ?")
            .bind(tid.to_string())
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(db)?;
        match row {
            Some(r) => {
                let s: String = r.try_get("record").map_err(db)?;
                serde_json::from_str(&s).map(Some).map_err(json_err)
            }
            None => Ok(None),
        }
    }

    async fn put_session(&mut self, s: &Session) -> Result<(), Error> {
        let record = serde_json::to_string(s).map_err(json_err)?;
        sqlx::query(
            "INSERT OR REPLACE INTO rsp_sessions (transaction_id, operator_id, expires_at, record) VALUES (?, ?, ?, ?)",
        )
        .bind(s.transaction_id.to_string())
        .bind(s.operator_id)
        .bind(s.expires_at)
        .bind(record)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn delete_session(&mut self, tid: &TransactionId) -> Result<(), Error> {
        sqlx::query("DELETE FROM rsp_sessions WHERE transaction_id = ?")
            .bind(tid.to_string())
            .execute(&mut *self.conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn profile(
        &mut self,
        operator: OperatorId,
        iccid: &str,
    ) -> Result<Option<ProfileRecord>, Error> {
        let op = operator.to_string();
        self.one_profile(
            &format!("SELECT {COLS} FROM rsp_profiles WHERE operator_id = ? AND iccid = ?"),
            &[&op, iccid],
        )
        .await
    }

    async fn profile_any_operator(&mut self, iccid: &str) -> Result<Option<ProfileRecord>, Error> {
        self.one_profile(
            &format!("SELECT {COLS} FROM rsp_profiles WHERE iccid = ?"),
            &[iccid],
        )
        .await
    }

    async fn profile_by_matching_id(
        &mut self,
        matching_id: &str,
    ) -> Result<Option<ProfileRecord>, Error> {
        self.one_profile(
            &format!("SELECT {COLS} FROM rsp_profiles WHERE matching_id = ?"),
            &[matching_id],
        )
        .await
    }

    async fn pending_profile_for_eid(&mut self, eid: &Eid) -> Result<Option<ProfileRecord>, Error> {
        self.one_profile(
            &format!(
                "SELECT {COLS} FROM rsp_profiles WHERE eid = ? AND state IN ('released', 'downloaded')
                 ORDER BY updated_at LIMIT 1"
            ),
            &[eid.as_str()],
        )
        .await
    }

    async fn available_profile(
        &mut self,
        operator: OperatorId,
        profile_type: &str,
    ) -> Result<Option<ProfileRecord>, Error> {
        let op = operator.to_string();
        self.one_profile(
            &format!(
                "SELECT {COLS} FROM rsp_profiles WHERE operator_id = ? AND profile_type = ? AND state = 'available'
                 ORDER BY iccid LIMIT 1"
            ),
            &[&op, profile_type],
        )
        .await
    }

    async fn insert_profile(&mut self, p: &ProfileRecord) -> Result<(), Error> {
        let exists = sqlx::query("SELECT 1 FROM rsp_profiles WHERE iccid = ?")
            .bind(&p.iccid)
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(db)?;
        if exists.is_some() {
            return Err(Error::IccidInUse);
        }
        sqlx::query(
            "INSERT INTO rsp_profiles (iccid, operator_id, profile_type, state, eid, matching_id, version, updated_at, record, package)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&p.iccid)
        .bind(p.operator_id)
        .bind(&p.profile_type)
        .bind(p.state.as_str())
        .bind(p.eid.as_ref().map(|e| e.as_str().to_owned()))
        .bind(p.matching_id.as_ref().map(|m| m.as_str().to_owned()))
        .bind(p.version)
        .bind(p.updated_at)
        .bind(profile_json(p)?)
        .bind(&p.package.0)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn put_profile(&mut self, p: &ProfileRecord) -> Result<(), Error> {
        let r = sqlx::query(
            "UPDATE rsp_profiles SET state = ?, eid = ?, matching_id = ?, version = version + 1, updated_at = ?, record = ?, package = ?
             WHERE iccid = ? AND operator_id = ? AND version = ?",
        )
        .bind(p.state.as_str())
        .bind(p.eid.as_ref().map(|e| e.as_str().to_owned()))
        .bind(p.matching_id.as_ref().map(|m| m.as_str().to_owned()))
        .bind(p.updated_at)
        .bind(profile_json(p)?)
        .bind(&p.package.0)
        .bind(&p.iccid)
        .bind(p.operator_id)
        .bind(p.version)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        if r.rows_affected() != 1 {
            return Err(Error::Storage(format!(
                "profile {} changed concurrently",
                p.iccid
            )));
        }
        Ok(())
    }

    async fn push_events(&mut self, events: &[Event]) -> Result<(), Error> {
        for e in events {
            let at = match e {
                Event::DownloadProgress { at, .. } | Event::ProfileState { at, .. } => *at,
            };
            sqlx::query(
                "INSERT INTO rsp_events (operator_id, kind, record, created_at) VALUES (?, ?, ?, ?)",
            )
            .bind(e.operator_id())
            .bind(e.kind())
            .bind(serde_json::to_string(e).map_err(json_err)?)
            .bind(at)
            .execute(&mut *self.conn)
            .await
            .map_err(db)?;
        }
        Ok(())
    }

    async fn count_by_state(
        &mut self,
        operator: OperatorId,
    ) -> Result<Vec<(ProfileState, u64)>, Error> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM rsp_profiles WHERE operator_id = ? GROUP BY state",
        )
        .bind(operator)
        .fetch_all(&mut *self.conn)
        .await
        .map_err(db)?;
        let mut out: Vec<(ProfileState, u64)> = ProfileState::ALL.iter().map(|s| (*s, 0)).collect();
        for r in rows {
            let s: String = r.try_get("state").map_err(db)?;
            let n: i64 = r.try_get("n").map_err(db)?;
            if let Some(slot) = out.iter_mut().find(|(st, _)| st.as_str() == s) {
                slot.1 = u64::try_from(n).unwrap_or(0);
            }
        }
        Ok(out)
    }

    async fn commit(mut self) -> Result<(), Error> {
        sqlx::query("COMMIT")
            .execute(&mut *self.conn)
            .await
            .map_err(db)?;
        self.open = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewOperator;
    use simforge_smdp::ProfileMetadata;

    async fn store() -> (tempfile::TempDir, Store, i64, i64) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .unwrap();
        let mut ids = Vec::new();
        for name in ["a", "b"] {
            let op = store
                .create_operator(&NewOperator {
                    name: name.into(),
                    mcc: "001".into(),
                    mnc: "01".into(),
                    iccid_prefix: "894944".into(),
                    iccid_len: 19,
                    spn: "Test".into(),
                    out_columns: None,
                })
                .await
                .unwrap();
            ids.push(op.id);
        }
        (dir, store, ids[0], ids[1])
    }

    fn record(op: i64, iccid: &str) -> ProfileRecord {
        ProfileRecord {
            operator_id: op,
            iccid: iccid.into(),
            profile_type: "t".into(),
            state: ProfileState::Available,
            eid: None,
            matching_id: None,
            cc_hash: None,
            cc_attempts: 0,
            download_attempts: 0,
            order_expires_at: None,
            session: None,
            session_expires_at: None,
            metadata: ProfileMetadata {
                service_provider_name: "S".into(),
                profile_name: "P".into(),
                profile_class: 2,
                notification_address: None,
            },
            package: SealedPackage(vec![1, 2, 3]),
            reuse_on_delete: false,
            version: 0,
            updated_at: 0,
        }
    }

    #[tokio::test]
    async fn round_trip_and_tenant_isolation() {
        let (_d, store, a, b) = store().await;
        let mut tx = store.begin().await.unwrap();
        tx.insert_profile(&record(a, "8949440000000000011"))
            .await
            .unwrap();
        assert!(matches!(
            tx.insert_profile(&record(b, "8949440000000000011")).await,
            Err(Error::IccidInUse)
        ));
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.profile(b, "8949440000000000011")
                .await
                .unwrap()
                .is_none()
        );
        let mut p = tx.profile(a, "8949440000000000011").await.unwrap().unwrap();
        assert_eq!(p.package.0, vec![1, 2, 3]);
        p.state = ProfileState::Released;
        p.matching_id = Some(simforge_asn1::MatchingId::parse("ABC-123").unwrap());
        tx.put_profile(&p).await.unwrap();
        // A stale version is refused.
        assert!(tx.put_profile(&p).await.is_err());
        tx.commit().await.unwrap();

        // Uncommitted changes are rolled back.
        {
            let mut tx = store.begin().await.unwrap();
            let mut p = tx.profile_by_matching_id("ABC-123").await.unwrap().unwrap();
            p.state = ProfileState::Error;
            tx.put_profile(&p).await.unwrap();
        }
        let mut tx = store.begin().await.unwrap();
        let p = tx.profile_by_matching_id("ABC-123").await.unwrap().unwrap();
        assert_eq!(p.state, ProfileState::Released);
        assert_eq!(p.version, 1);
        let counts = tx.count_by_state(a).await.unwrap();
        assert!(counts.contains(&(ProfileState::Released, 1)));
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn concurrent_allocation_never_hands_out_a_profile_twice() {
        let (_d, store, a, _) = store().await;
        let mut tx = store.begin().await.unwrap();
        for i in 0..10 {
            tx.insert_profile(&record(a, &format!("89494400000000001{i:02}")))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..25 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                let mut p = tx.available_profile(a, "t").await.unwrap()?;
                p.state = ProfileState::Allocated;
                tx.put_profile(&p).await.unwrap();
                tx.commit().await.unwrap();
                Some(p.iccid)
            }));
        }
        let mut got = Vec::new();
        for t in tasks {
            if let Some(i) = t.await.unwrap() {
                got.push(i);
            }
        }
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 10);
        let mut tx = store.begin().await.unwrap();
        let counts = tx.count_by_state(a).await.unwrap();
        assert!(counts.contains(&(ProfileState::Allocated, 10)));
        assert!(counts.contains(&(ProfileState::Available, 0)));
    }

    #[tokio::test]
    async fn sessions_and_events() {
        let (_d, store, a, _) = store().await;
        let tid = TransactionId::parse_hex("0A0B").unwrap();
        let s = Session {
            transaction_id: tid.clone(),
            state: simforge_smdp::SessionState::Initiated,
            created_at: 1,
            expires_at: 2,
            smdp_address: "x".into(),
            euicc_challenge: vec![1; 16],
            server_challenge: vec![2; 16],
            ci_pkid: vec![3; 20],
            signing_ci_pkids: vec![vec![3; 20]],
            eid: None,
            euicc_public_key: None,
            operator_id: Some(a),
            iccid: None,
            smdp_signature2: None,
            cc_required: false,
        };
        let mut tx = store.begin().await.unwrap();
        tx.put_session(&s).await.unwrap();
        tx.push_events(&[Event::ProfileState {
            operator_id: a,
            iccid: "1".into(),
            from: ProfileState::Available,
            to: ProfileState::Allocated,
            at: 5,
        }])
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        // Lower-case hex finds the same transaction.
        let lower = TransactionId::parse_hex("0a0b").unwrap();
        assert_eq!(tx.session(&lower).await.unwrap(), Some(s));
        tx.delete_session(&tid).await.unwrap();
        assert!(tx.session(&tid).await.unwrap().is_none());
        tx.commit().await.unwrap();
    }
}
