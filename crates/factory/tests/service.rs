//! The batch workflows over a real (SQLite) store: generate, a failure while writing, resume,
//! release, next free ranges.

mod common;

use simforge_factory::batch::{Progress, partial_dir};
use simforge_factory::{
    ErrorKind, Format, Run, generate, next_free_iccid, next_free_imsi, operator_profile, release,
    resume,
};
use simforge_sim::CardError;
use simforge_store::BatchState;

const ORDER: &str = "quantity = 10\nkid = 1\nopid = 1\n";

/// Counts progress calls; optionally blocks the final directory when the run starts (so that the
/// rename at the end fails, as if the process had died before it).
#[derive(Default)]
struct Probe {
    started: u64,
    done: u64,
    finished: bool,
    block: Option<std::path::PathBuf>,
}

impl Progress for Probe {
    fn start(&mut self, cards: u64) {
        self.started = cards;
        if let Some(d) = &self.block {
            std::fs::create_dir_all(d).expect("block");
            std::fs::write(d.join("blocker"), b"x").expect("blocker");
        }
    }
    fn cards(&mut self, done: u64) {
        self.done = done;
    }
    fn finish(&mut self) {
        self.finished = true;
    }
}

#[tokio::test]
async fn generate_writes_files_and_completes_the_batch() {
    let env = common::Env::new(None).await;
    let profile = operator_profile(&env.op).expect("profile");
    assert_eq!(
        next_free_iccid(&env.store, &profile).await.expect("iccid"),
        "8988211000000000001"
    );
    assert_eq!(
        next_free_imsi(&env.store, &profile).await.expect("imsi"),
        "001010000000001"
    );
    let planned = env.plan(ORDER).await;
    assert_eq!(planned.plan.name, "B1700000000123");
    let mut probe = Probe::default();
    let g = generate(
        &env.store,
        &env.vault,
        &simforge_factory::Actor::cli("test"),
        &planned,
        &env.out_root(),
        &[Format::Out, Format::Elec],
        Run::os(2, &mut probe),
    )
    .await
    .expect("generate");
    assert_eq!((probe.started, probe.done, probe.finished), (10, 10, true));
    assert_eq!(g.dir, env.out_root().join("B1700000000123"));
    assert_eq!(g.files.len(), 2);
    for f in &g.files {
        assert!(f.is_file(), "{}", f.display());
    }
    assert!(!partial_dir(&g.dir).exists());
    let b = env.store.batch(g.batch_id).await.expect("batch");
    assert_eq!(b.state, BatchState::Complete);
    assert_eq!(b.quantity, 10);
    // The next batch starts after this one's ranges.
    assert_eq!(
        next_free_iccid(&env.store, &profile).await.expect("iccid"),
        "8988211000000000011"
    );
    assert_eq!(
        next_free_imsi(&env.store, &profile).await.expect("imsi"),
        "001010000000011"
    );
    // The same batch name again is a conflict, before anything is reserved.
    let again = env.plan(ORDER).await;
    let e = generate(
        &env.store,
        &env.vault,
        &simforge_factory::Actor::cli("test"),
        &again,
        &env.out_root(),
        &Format::ALL,
        Run::os(1, &mut ()),
    )
    .await
    .expect_err("exists");
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(env.store.batches(None).await.expect("batches").len(), 1);
}

#[tokio::test]
async fn a_failure_while_writing_leaves_nothing_and_releases_the_ranges() {
    let env = common::Env::new(None).await;
    let planned = env.plan(ORDER).await;
    let e = generate(
        &env.store,
        &env.vault,
        &simforge_factory::Actor::cli("test"),
        &planned,
        &env.out_root(),
        &Format::ALL,
        Run {
            threads: 1,
            make_rng: || -> Result<rand_chacha::ChaCha20Rng, CardError> {
                Err(CardError::Random("no entropy".into()))
            },
            progress: &mut (),
            hsm: None,
        },
    )
    .await
    .expect_err("the random source fails");
    assert_eq!(e.kind(), ErrorKind::Failure);
    let dir = env.out_root().join("B1700000000123");
    assert!(!dir.exists());
    assert!(!partial_dir(&dir).exists());
    let batches = env.store.batches(None).await.expect("batches");
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].state, BatchState::Released);
    let profile = operator_profile(&env.op).expect("profile");
    assert_eq!(
        next_free_iccid(&env.store, &profile).await.expect("iccid"),
        "8988211000000000001"
    );
}

#[tokio::test]
async fn an_interrupted_batch_is_resumed_or_released() {
    let env = common::Env::new(None).await;
    let planned = env.plan(ORDER).await;
    let dir = env.out_root().join("B1700000000123");
    let mut probe = Probe {
        block: Some(dir.clone()),
        ..Probe::default()
    };
    let e = generate(
        &env.store,
        &env.vault,
        &simforge_factory::Actor::cli("test"),
        &planned,
        &env.out_root(),
        &Format::ALL,
        Run::os(1, &mut probe),
    )
    .await
    .expect_err("the rename fails");
    assert_eq!(e.kind(), ErrorKind::Failure);
    // As after a crash before the rename: reserved, the files only in the partial directory.
    let b = env.store.batches(None).await.expect("batches").remove(0);
    assert_eq!(b.state, BatchState::Generating);
    assert!(partial_dir(&dir).is_dir());
    std::fs::remove_dir_all(&dir).expect("unblock");

    let g = resume(
        &env.store,
        &env.vault,
        &simforge_factory::Actor::cli("test"),
        b.id,
        Run::os(1, &mut ()),
    )
    .await
    .expect("resume");
    assert_eq!(g.batch_id, b.id);
    assert_eq!(g.files.len(), 5);
    assert!(g.files.iter().all(|f| f.is_file()));
    assert!(!partial_dir(&dir).exists());
    assert_eq!(
        env.store.batch(b.id).await.expect("batch").state,
        BatchState::Complete
    );
    // Only an interrupted batch can be resumed or released.
    let e = resume(
        &env.store,
        &env.vault,
        &simforge_factory::Actor::cli("test"),
        b.id,
        Run::os(1, &mut ()),
    )
    .await
    .expect_err("complete");
    assert_eq!(e.kind(), ErrorKind::Conflict);
    let e = release(&env.store, &simforge_factory::Actor::cli("test"), b.id)
        .await
        .expect_err("complete");
    assert_eq!(e.kind(), ErrorKind::Conflict);

    // A second interrupted batch, released: its ranges are free again, its partial dir gone.
    let planned = env.plan(&format!("name = \"second\"\n{ORDER}")).await;
    let dir = env.out_root().join("second");
    let mut probe = Probe {
        block: Some(dir.clone()),
        ..Probe::default()
    };
    generate(
        &env.store,
        &env.vault,
        &simforge_factory::Actor::cli("test"),
        &planned,
        &env.out_root(),
        &Format::ALL,
        Run::os(1, &mut probe),
    )
    .await
    .expect_err("the rename fails");
    let b = env.store.batches(None).await.expect("batches").remove(0);
    assert_eq!(b.name, "second");
    let profile = operator_profile(&env.op).expect("profile");
    assert_eq!(
        next_free_iccid(&env.store, &profile).await.expect("iccid"),
        "8988211000000000021"
    );
    release(&env.store, &simforge_factory::Actor::cli("test"), b.id)
        .await
        .expect("release");
    assert!(!partial_dir(&dir).exists());
    assert_eq!(
        env.store.batch(b.id).await.expect("batch").state,
        BatchState::Released
    );
    assert_eq!(
        next_free_iccid(&env.store, &profile).await.expect("iccid"),
        "8988211000000000011"
    );

    // Every step is in the audit log, failures with their kind, all under this operator.
    use simforge_audit::AuditLog as _;
    let log = env.store.entries(&Default::default()).await.expect("log");
    simforge_audit::verify(&log).expect("intact");
    let tail: Vec<(&str, String)> = log[log.len() - 5..]
        .iter()
        .map(|e| (e.action.as_str(), e.outcome.to_string()))
        .collect();
    let ok = || "ok".to_owned();
    assert_eq!(
        tail,
        [
            ("batch.resume", "failed:conflict".to_owned()),
            ("batch.release", "failed:conflict".to_owned()),
            ("key.unseal", ok()),
            ("batch.generate", "failed:failure".to_owned()),
            ("batch.release", ok()),
        ]
    );
    let last = log.last().expect("entry");
    assert_eq!(
        (last.tenant, last.target.as_str()),
        (Some(env.op.id), "batch:second")
    );
    assert!(
        log.iter()
            .all(|e| e.actor == "cli:test" && e.tenant == Some(env.op.id))
    );
}
