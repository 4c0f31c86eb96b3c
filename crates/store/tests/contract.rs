//! The storage contract: one behavioural suite for every store of the SM-DP+, run on each
//! backend (atuin's shape: a scenario is one generic `async fn`, `contract!` makes a
//! `#[tokio::test]` of it per backend).
//!
//! - `memory`: [`simforge_smdp::MemoryStore`];
//! - `sqlite`: the SQLite [`simforge_store::Store`];
//! - `postgres`: the same [`simforge_store::Store`] on a private PostgreSQL server per test
//!   (`simforge_testkit::postgres`; "skipped" without PostgreSQL installed, a failure when
//!   `CI` is set);
//! - `*_cached`: the same with a [`simforge_store::SessionCache`] above the store.
//!
//! The scenarios (`support::smdp`, `support::inventory`, `support::outbox`, `support::smds`,
//! `support::settings`, `support::audit`, `support::access`, `support::platform`) get a fresh database (holding
//! operators 1 and 2 on SQLite; the SM-DP+'s tables take tenant numbers as they are). The
//! operator settings (`OperatorAdmin`) and the platform's records (`support::platform`:
//! operators, keys, batches and their ranges, credentials, quotas, the master key check) are
//! the SQL stores' only. Below the instantiations, the few tests that only one backend can run.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use simforge_testkit::prelude as common;
mod support;

use support::backends::{Backend, Cached, Memory, Pg, Sqlite};

/// `contract!(module: Backend { store: [scenario…], backend: [scenario…] })`: a test per
/// scenario in `module`; `store` scenarios get a handle on a fresh database
/// ([`Backend::open`]), `backend` scenarios the backend itself (to restart it or open more
/// handles).
macro_rules! contract {
    ($module:ident: $backend:ty { $($kind:ident: [$($group:ident::$scenario:ident),* $(,)?]),* $(,)? }) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $($(contract!(@$kind $backend, $group::$scenario);)*)*
        }
    };
    (@store $backend:ty, $group:ident::$scenario:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $scenario() {
            let Some(backend) = <$backend as Backend>::start(stringify!($scenario)).await else {
                return;
            };
            crate::support::$group::$scenario(backend.open().await).await;
        }
    };
    (@backend $backend:ty, $group:ident::$scenario:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $scenario() {
            let Some(backend) = <$backend as Backend>::start(stringify!($scenario)).await else {
                return;
            };
            crate::support::$group::$scenario(backend).await;
        }
    };
}

/// The SM-DP+ store scenarios every backend runs.
macro_rules! smdp_contract {
    ($module:ident: $backend:ty { $($kind:ident: [$($group:ident::$scenario:ident),* $(,)?]),* $(,)? }) => {
        contract!($module: $backend {
            store: [
                smdp::round_trip_and_tenant_isolation,
                smdp::a_matching_id_names_one_profile,
                smdp::the_pending_order_of_an_eid_is_the_oldest,
                smdp::allocation_takes_the_lowest_available_iccid,
                smdp::concurrent_allocation_never_hands_out_a_profile_twice,
                smdp::concurrent_orders_never_allocate_a_profile_twice,
                smdp::one_operator_cannot_order_another_operators_profile,
                smdp::sessions_round_trip,
                smdp::expired_sessions_are_purged,
                smdp::keys_rotate_without_a_restart,
                inventory::search_and_history,
                inventory::search_by_date,
                inventory::history_of_a_download,
            ],
            backend: [smdp::binding_and_last_notification_survive_restarts],
            $($kind: [$($group::$scenario),*]),*
        });
    };
}

/// Without a cache, every session is in the database: another instance goes on with it.
macro_rules! plain_contract {
    ($module:ident: $backend:ty { $($kind:ident: [$($group:ident::$scenario:ident),* $(,)?]),* $(,)? }) => {
        smdp_contract!($module: $backend {
            backend: [
                smdp::a_download_goes_on_whichever_instance_gets_the_call,
                smdp::every_session_survives_a_restart,
            ],
            $($kind: [$($group::$scenario),*]),*
        });
    };
}

/// With a cache, an Initiated session lives in the instance that started it.
macro_rules! cached_contract {
    ($module:ident: $backend:ty { $($kind:ident: [$($group:ident::$scenario:ident),* $(,)?]),* $(,)? }) => {
        smdp_contract!($module: $backend {
            backend: [smdp::initiated_sessions_live_in_the_instance_that_started_them],
            $($kind: [$($group::$scenario),*]),*
        });
    };
}

/// The outbox, on every store.
macro_rules! outbox_contract {
    ($module:ident: $backend:ty { $($kind:ident: [$($group:ident::$scenario:ident),* $(,)?]),* $(,)? }) => {
        plain_contract!($module: $backend {
            store: [
                outbox::events_past_retention_are_deleted_oldest_first,
                outbox::callback_urls,
                outbox::claim_deliver_retry_in_order_per_tenant,
                smds::orders_register_and_delete_their_events_in_order,
                smds::a_cancel_session_that_ends_the_order_deletes_its_event,
                smds::a_given_up_operation_is_requeued_unless_overtaken,
            ],
            backend: [
                outbox::claims_survive_a_restart_until_the_lease_ends,
                outbox::two_instances_never_claim_the_same_event,
                smds::two_instances_never_claim_the_same_smds_op,
            ],
            $($kind: [$($group::$scenario),*]),*
        });
    };
}

/// And the operator settings, the access and audit records and the platform's records of the
/// SQL stores.
macro_rules! sql_contract {
    ($module:ident: $backend:ty) => {
        outbox_contract!($module: $backend {
            store: [
                settings::callback_settings_and_redelivery,
                settings::cancel_session_policy_per_operator,
                smds::the_default_smds_address_is_the_operators,
                access::users_sessions_and_tokens,
                access::login_tokens_and_lockout,
                platform::operators_keys_batches_credentials_and_quotas,
            ],
            backend: [
                audit::the_chain_finds_tampering_and_never_forks,
                audit::every_unseal_is_audited,
                platform::concurrent_reservations_from_several_nodes_never_overlap,
                platform::a_schema_newer_than_the_binary_is_refused,
                platform::an_operator_survives_reopening_the_database,
                platform::cluster_counters_are_shared_by_every_node,
            ],

        });
    };
}

outbox_contract!(memory: Memory {});
cached_contract!(memory_cached: Cached<Memory> {});
sql_contract!(sqlite: Sqlite);
// The cache passes the outbox and settings through: one scenario that uses them all.
cached_contract!(sqlite_cached: Cached<Sqlite> {
    store: [settings::callback_settings_and_redelivery],
});
sql_contract!(postgres: Pg);
cached_contract!(postgres_cached: Cached<Pg> {
    store: [settings::callback_settings_and_redelivery],
});

/// What only PostgreSQL allows: concurrent transactions (ids not in commit order), and its
/// connection errors.
mod postgres_only {
    use super::*;
    use simforge_smdp::{OutboxStore as _, SmdpStore as _, SmdpTx as _};
    use simforge_store::{OutboxAdmin as _, PgStore};
    use support::outbox;

    /// Ids are not in commit order across concurrent transactions on PostgreSQL: an event
    /// with a lower id that commits after a higher one was claimed must not make the claimed
    /// (leased) one claimable again.
    #[tokio::test]
    async fn a_leased_event_is_not_claimed_again_when_an_older_id_commits_later() {
        let Some(pg) =
            Pg::start("a_leased_event_is_not_claimed_again_when_an_older_id_commits_later").await
        else {
            return;
        };
        let store = pg.open().await;
        store
            .set_callback_url(1, Some("http://a/cb"), 0)
            .await
            .unwrap();
        let mut slow = store.begin().await.unwrap();
        slow.push_events(&[outbox::progress(1, 1)]).await.unwrap(); // id 1, not committed yet
        outbox::push(&store, &[outbox::progress(1, 3)]).await; // id 2, committed
        let first = store.claim_outbox(1_000, 60_000, 10).await.unwrap();
        assert_eq!(outbox::ids(&first), vec![(1, 2)]);
        slow.commit().await.unwrap();
        // Event 2 is leased until 61 s: nothing of this operator is claimed before.
        assert!(
            store
                .claim_outbox(2_000, 60_000, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let later = store.claim_outbox(61_000, 60_000, 10).await.unwrap();
        assert_eq!(outbox::ids(&later), vec![(1, 1), (1, 2)]);
    }

    /// Every shape of inventory search reads an index in ICCID order on PostgreSQL (with
    /// statistics of 100,000 profiles, 1 % of them another operator's): no sequential scan,
    /// no sort but of the few rows of an EID or a matchingId.
    #[tokio::test]
    async fn every_search_shape_reads_an_index_in_order() {
        use simforge_smdp::{IccidPrefix, ProfileFilter, ProfileState};
        use support::backends::RawSql as _;
        let Some(pg) = Pg::start("every_search_shape_reads_an_index_in_order").await else {
            return;
        };
        let store = pg.open().await;
        pg.exec(
            "INSERT INTO rsp_profiles
                 (iccid, operator_id, profile_type, state, eid, matching_id, version, updated_at, record)
             SELECT '8949440' || lpad(g::text, 12, '0'),
                 CASE WHEN g % 100 = 0 THEN 2 ELSE 1 END,
                 (ARRAY['a', 'b', 'c', 'd'])[1 + (g / 7) % 4],
                 (ARRAY['available', 'available', 'released', 'installed', 'installed', 'error'])[1 + g % 6],
                 CASE WHEN g % 6 IN (2, 3, 4, 5) THEN '8904903200000000000' || lpad(g::text, 13, '0') END,
                 CASE WHEN g % 6 IN (2, 3, 4, 5) THEN 'M-' || g END,
                 0, g, '{}'
             FROM generate_series(1, 100000) g;
             ANALYZE rsp_profiles",
        )
        .await;
        let iccid: simforge_asn1::Iccid = "8949440000000050000".parse().unwrap();
        let base = ProfileFilter::new(1);
        let shapes = [
            ("first page", base.clone()),
            ("small operator", ProfileFilter::new(2)),
            (
                "next page",
                ProfileFilter {
                    after: Some(iccid.clone()),
                    ..base.clone()
                },
            ),
            (
                "prefix",
                ProfileFilter {
                    iccid_prefix: Some(IccidPrefix::parse("894944000000005").unwrap()),
                    ..base.clone()
                },
            ),
            (
                "state",
                ProfileFilter {
                    state: Some(ProfileState::Error),
                    after: Some(iccid.clone()),
                    ..base.clone()
                },
            ),
            (
                "type",
                ProfileFilter {
                    profile_type: Some("c".into()),
                    ..base.clone()
                },
            ),
            (
                "type and state",
                ProfileFilter {
                    profile_type: Some("c".into()),
                    state: Some(ProfileState::Installed),
                    after: Some(iccid.clone()),
                    ..base.clone()
                },
            ),
            (
                "EID",
                ProfileFilter {
                    eid: Some(
                        simforge_asn1::Eid::parse("89049032123451234512345678901235").unwrap(),
                    ),
                    ..base.clone()
                },
            ),
            (
                "matchingId",
                ProfileFilter {
                    matching_id: Some(simforge_asn1::MatchingId::parse("M-4").unwrap()),
                    ..base.clone()
                },
            ),
        ];
        for (what, f) in shapes {
            let plan = store.explain_search(&f).await.unwrap().join(" | ");
            assert!(
                plan.contains("Index") && !plan.contains("Seq Scan"),
                "{what}: {plan}"
            );
            if !matches!(what, "EID" | "matchingId") {
                assert!(!plan.contains("Sort"), "{what}: {plan}");
            }
            eprintln!("{what}: {plan}");
        }
        // By date: an index of the same range, bounded, then the hits by primary key; the
        // table is never read whole. (PostgreSQL may read the range by bitmap and sort it,
        // unlike the undated shapes: a bound of thousands of rows makes that look cheaper.)
        let dated = [
            ProfileFilter {
                updated_from: Some(10),
                updated_until: Some(20_000),
                after: Some(iccid.clone()),
                ..base.clone()
            },
            ProfileFilter {
                updated_from: Some(10),
                state: Some(ProfileState::Error),
                ..base.clone()
            },
        ];
        for f in dated {
            let plan = store.explain_search(&f).await.unwrap().join(" | ");
            assert!(
                plan.contains("Index") && !plan.contains("Seq Scan on rsp_profiles"),
                "dated: {plan}"
            );
            eprintln!("dated: {plan}");
        }
    }

    /// Events recorded before migration 0006 get their ICCID from their record.
    #[tokio::test]
    async fn events_recorded_before_the_iccid_column_are_backfilled() {
        use simforge_smdp::{Event, Inventory as _, ProfileState};
        use sqlx::Connection as _;
        let Some(pg) = Pg::start("events_recorded_before_the_iccid_column_are_backfilled").await
        else {
            return;
        };
        let all = sqlx::migrate!("./migrations-pg");
        let before = sqlx::migrate::Migrator {
            migrations: all
                .migrations
                .iter()
                .filter(|m| m.version < 6)
                .cloned()
                .collect::<Vec<_>>()
                .into(),
            ..all
        };
        let mut conn = sqlx::PgConnection::connect(&pg.0.url()).await.unwrap();
        before.run(&mut conn).await.unwrap();
        let iccid: simforge_asn1::Iccid = "8949440000000000011".parse().unwrap();
        let events = [
            Event::ProfileState {
                operator_id: 1,
                iccid: iccid.clone(),
                from: ProfileState::Available,
                to: ProfileState::Released,
                at: 5,
            },
            outbox::progress(1, 4),
        ];
        for e in &events {
            sqlx::query(
                "INSERT INTO rsp_events (operator_id, kind, record, created_at) VALUES (1, $1, $2, 0)",
            )
            .bind(e.kind())
            .bind(serde_json::to_string(e).unwrap())
            .execute(&mut conn)
            .await
            .unwrap();
        }
        conn.close().await.unwrap();
        let store = pg.open().await;
        let history = store.history(1, &iccid, None, 10).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].event, events[0]);
        let other = store.history(1, events[1].iccid(), None, 10).await.unwrap();
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].event, events[1]);
    }

    /// A malformed URL, or a server that is not there, is a clear error (no server needed).
    #[tokio::test]
    async fn a_bad_url_or_an_absent_server_is_an_error() {
        for bad in [
            "postgres://simforge@127.0.0.1:notaport/x",
            "mysql://simforge@127.0.0.1/x",
        ] {
            assert!(matches!(
                PgStore::connect(bad, 1).await,
                Err(simforge_store::StoreError::Config(_))
            ));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(matches!(
            PgStore::connect(&format!("postgres://simforge@127.0.0.1:{port}/x"), 1).await,
            Err(simforge_store::StoreError::Db(_))
        ));
    }
}
