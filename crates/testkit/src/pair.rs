//! A whole simulated world in one process, in the style of quinn's test `Pair`: the SM-DP+
//! ([`Smdp`] on a [`MemoryStore`]), real virtual eUICCs, the real LPA, and one injected
//! [`TestClock`] that the SM-DP+ (its `now` arguments), the eUICCs (their
//! `simforge_crypto::Clock`) and the tests read. Nothing sleeps: time moves only by
//! [`Pair::advance`]. ES9+ goes through [`DirectEs9`] (the service with the server's JSON),
//! ES2+ through the service functions as the operator's system calls them.

use std::future::Future;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use simforge_asn1::json::{
    ConfirmOrderRequest, DownloadOrderRequest, ReleaseProfileRequest, RequestHeader,
};
use simforge_asn1::{Eid, MatchingId};
use simforge_euicc::{Euicc, EuiccState};
use simforge_lpa::{DownloadOutcome, Es10, Lpa};
use simforge_pki::LabPki;
use simforge_smdp::{
    Error, MemoryStore, NewProfile, OperatorId, ProfileMetadata, ProfileRecord, Smdp, SmdpConfig,
    SmdpKeys,
};
use tokio::runtime::Runtime;

use crate::card::{InProc, euicc_at};
use crate::clock::TestClock;
use crate::es9::{DirectEs9, GatedEs9, Msg, Pending, call, runtime};
use crate::lab::{ADDRESS, FQDN, NOW, lab};
use crate::profiles::built;
use crate::service::service_with_keys;

/// The operator of the [`Pair`]'s inventory.
pub const OPERATOR: OperatorId = 1;
/// Its functionRequesterIdentifier.
pub const REQUESTER: &str = "op1";

/// The LPA of one of the [`Pair`]'s eUICCs.
pub type PairLpa<'a> = Lpa<InProc<'a>, &'a mut DirectEs9>;
/// The LPA of one of the eUICCs run by [`Pair::interleave`].
pub type GatedLpa<'a> = Lpa<InProc<'a>, GatedEs9>;

/// An order confirmed and released by the operator.
#[derive(Clone, Debug)]
pub struct Order {
    /// The profile ordered.
    pub iccid: String,
    /// Its matchingId.
    pub matching_id: MatchingId,
    /// Whether the order asks for a confirmation code.
    pub confirmation_code_required: bool,
}

impl Order {
    /// The activation code of the order (`LPA:1$address$matchingId`).
    pub fn activation_code(&self) -> String {
        let cc = if self.confirmation_code_required {
            "$$1"
        } else {
            ""
        };
        format!("LPA:1${ADDRESS}${}{cc}", self.matching_id.as_str())
    }
}

/// SM-DP+, eUICCs and LPA sharing one clock.
pub struct Pair {
    /// The world's clock.
    pub clock: TestClock,
    /// The lab PKI (CI, EUM, eUICCs, DPauth/DPpb).
    pub pki: LabPki,
    /// The SM-DP+.
    pub smdp: Arc<Smdp<MemoryStore>>,
    /// The runtime the SM-DP+'s futures run on.
    pub rt: Arc<Runtime>,
    /// The eUICCs (`pki.euiccs[i]`), each reading [`Self::clock`].
    pub euiccs: Vec<Euicc>,
    /// The LPAs' ES9+ transport to the SM-DP+.
    pub es9: DirectEs9,
}

impl std::fmt::Debug for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pair")
            .field("now", &self.clock.now())
            .field("euiccs", &self.euiccs.len())
            .finish_non_exhaustive()
    }
}

fn header() -> RequestHeader {
    RequestHeader {
        function_requester_identifier: REQUESTER.into(),
        function_call_identifier: "pair".into(),
    }
}

impl Pair {
    /// A new world at [`NOW`]: a P-256 lab PKI and one eUICC, the default SM-DP+ settings.
    pub fn new() -> Self {
        Self::with(lab(simforge_pki::Curve::P256, 1), |_| {})
    }

    /// A new world at [`NOW`] on `pki`, with one eUICC per eUICC certificate of the PKI and
    /// the SM-DP+ settings changed by `configure`.
    pub fn with(pki: LabPki, configure: impl FnOnce(&mut SmdpConfig)) -> Self {
        let keys = SmdpKeys::from_pkis(&[&pki]).expect("keys");
        Self::with_keys(pki, keys, configure)
    }

    /// As [`Pair::with`], the SM-DP+ signing with `keys` (for example DPauth and DPpb in an
    /// HSM) instead of the PKI's own keys; the eUICCs still trust `pki`'s CI.
    pub fn with_keys(pki: LabPki, keys: SmdpKeys, configure: impl FnOnce(&mut SmdpConfig)) -> Self {
        let clock = TestClock::at(NOW);
        let smdp = Arc::new(service_with_keys(keys, MemoryStore::new(), configure));
        let rt = Arc::new(runtime());
        let euiccs = (0..pki.euiccs.len())
            .map(|i| euicc_at(&pki, i, EuiccState::default(), Box::new(clock.clone())))
            .collect();
        let es9 = DirectEs9::new(Arc::clone(&smdp), Arc::clone(&rt), clock.clone());
        Self {
            clock,
            pki,
            smdp,
            rt,
            euiccs,
            es9,
        }
    }

    /// The world's time.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Moves every party's time forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Runs an SM-DP+ future to completion.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The EID of eUICC `device`.
    pub fn eid(&self, device: usize) -> Eid {
        Eid::parse(&self.pki.euiccs[device].eid).expect("eid")
    }

    /// Adds a profile built by the project for each ICCID to the operator's inventory.
    pub fn add_profiles(&self, iccids: &[&str], reuse_on_delete: bool) {
        for iccid in iccids {
            let new = NewProfile {
                iccid: iccid.parse().expect("iccid"),
                profile_type: "simforge".into(),
                metadata: ProfileMetadata {
                    service_provider_name: "Simforge".into(),
                    profile_name: "Pair profile".into(),
                    profile_class: 2,
                    notification_address: Some(FQDN.into()),
                },
                package: built(iccid),
                reuse_on_delete,
                radio_access: Vec::new(),
            };
            self.block_on(self.smdp.add_profile(OPERATOR, new, self.now()))
                .expect("add profile");
        }
    }

    /// ES2+ DownloadOrder (of `iccid`, or any available profile of the pool) then
    /// ConfirmOrder with release, optionally bound to `eid` and with a confirmation code.
    ///
    /// # Errors
    /// The SM-DP+'s refusal of either call.
    pub fn order(
        &self,
        iccid: Option<&str>,
        eid: Option<Eid>,
        cc: Option<&str>,
    ) -> Result<Order, Error> {
        self.order_with(iccid, (eid, None), cc, None)
    }

    /// ES2+ DownloadOrder of `iccid`, then ConfirmOrder with release for `eid` naming the
    /// SM-DS `smds_address` (the SM-DP+ then registers the event there).
    ///
    /// # Errors
    /// The SM-DP+'s refusal of either call.
    pub fn order_at_smds(&self, iccid: &str, eid: Eid, smds_address: &str) -> Result<Order, Error> {
        self.order_with(Some(iccid), (None, Some(eid)), None, Some(smds_address))
    }

    /// DownloadOrder (with its EID) and ConfirmOrder (with its EID, confirmation code and
    /// smdsAddress).
    fn order_with(
        &self,
        iccid: Option<&str>,
        (download_eid, confirm_eid): (Option<Eid>, Option<Eid>),
        cc: Option<&str>,
        smds_address: Option<&str>,
    ) -> Result<Order, Error> {
        let now = self.now();
        let (r, _) = self.block_on(self.smdp.download_order(
            OPERATOR,
            &DownloadOrderRequest {
                header: header(),
                eid: download_eid,
                iccid: iccid.map(str::to_owned),
                profile_type: iccid.is_none().then(|| "simforge".to_owned()),
            },
            now,
        ))?;
        let iccid = r.iccid.expect("DownloadOrder names the profile");
        let (r, _) = self.block_on(self.smdp.confirm_order(
            OPERATOR,
            &ConfirmOrderRequest {
                header: header(),
                iccid: iccid.clone(),
                eid: confirm_eid,
                matching_id: None,
                confirmation_code: cc.map(str::to_owned),
                smds_address: smds_address.map(str::to_owned),
                release_flag: true,
            },
            now,
        ))?;
        Ok(Order {
            iccid,
            matching_id: r.matching_id.expect("matchingId"),
            confirmation_code_required: cc.is_some(),
        })
    }

    /// ES2+ ReleaseProfile.
    ///
    /// # Errors
    /// The SM-DP+'s refusal.
    pub fn release(&self, iccid: &str) -> Result<(), Error> {
        self.block_on(self.smdp.release_profile(
            OPERATOR,
            &ReleaseProfileRequest {
                header: header(),
                iccid: iccid.into(),
            },
            self.now(),
        ))
        .map(|_| ())
    }

    /// The SM-DP+'s record of `iccid`.
    pub fn profile(&self, iccid: &str) -> Option<ProfileRecord> {
        self.block_on(self.smdp.store().snapshot())
            .profiles
            .get(iccid)
            .cloned()
    }

    /// `Smdp::purge_expired_sessions` at the world's time; the sessions deleted.
    pub fn purge(&self) -> usize {
        self.block_on(self.smdp.purge_expired_sessions(self.now()))
            .expect("purge")
    }

    /// The LPA of eUICC `device`, on the SM-DP+ through [`Self::es9`].
    ///
    /// # Errors
    /// The eUICC refusing to open its ISD-R.
    pub fn lpa(&mut self, device: usize) -> Result<PairLpa<'_>, simforge_lpa::Error> {
        let Self { euiccs, es9, .. } = self;
        let es10 = Es10::open(InProc::new(&mut euiccs[device]))?;
        Ok(Lpa::new(es10, es9))
    }

    /// The LPA of eUICC `device` downloads the profile of `activation_code` (with the
    /// install notification), all at the world's current time.
    ///
    /// # Errors
    /// The LPA's error (an SM-DP+ refusal is [`simforge_lpa::Error::Es9Status`]).
    pub fn drive_download(
        &mut self,
        device: usize,
        activation_code: &str,
        confirmation_code: Option<&str>,
    ) -> Result<DownloadOutcome, simforge_lpa::Error> {
        self.lpa(device)?
            .download(activation_code, confirmation_code)
    }

    /// Runs `job` for every eUICC at once, each on its own thread with its own LPA, and
    /// lets the ES9+ calls reach the SM-DP+ one at a time in the order `schedule` picks:
    /// at each step, of the eUICCs with a call waiting (all that have not finished), the one
    /// at `schedule[step] % waiting` goes (the first once `schedule` is used up). The
    /// results of the jobs, by eUICC.
    ///
    /// # Panics
    /// When a job panics (after every thread has ended).
    pub fn interleave<R: Send>(
        &mut self,
        schedule: &[usize],
        job: impl Fn(usize, &mut GatedLpa<'_>) -> R + Sync,
    ) -> Vec<Result<R, simforge_lpa::Error>> {
        struct DoneGuard(mpsc::Sender<Msg>);
        impl Drop for DoneGuard {
            fn drop(&mut self) {
                let _ = self.0.send(Msg::Done);
            }
        }
        let Self {
            euiccs,
            smdp,
            rt,
            clock,
            ..
        } = self;
        let n = euiccs.len();
        let (tx, rx) = mpsc::channel::<Msg>();
        let job = &job;
        std::thread::scope(|s| {
            let handles: Vec<_> = euiccs
                .iter_mut()
                .enumerate()
                .map(|(i, e)| {
                    let tx = tx.clone();
                    s.spawn(move || {
                        let _done = DoneGuard(tx.clone());
                        let es10 = Es10::open(InProc::new(e))?;
                        let mut lpa = Lpa::new(es10, GatedEs9 { device: i, tx });
                        Ok(job(i, &mut lpa))
                    })
                })
                .collect();
            drop(tx);
            let mut waiting: Vec<Option<Pending>> = (0..n).map(|_| None).collect();
            let mut live = n;
            let mut step = 0;
            loop {
                while waiting.iter().filter(|p| p.is_some()).count() < live {
                    match rx.recv() {
                        Ok(Msg::Call(p)) => {
                            let d = p.device;
                            waiting[d] = Some(p);
                        }
                        Ok(Msg::Done) => live -= 1,
                        Err(_) => {
                            live = 0;
                            break;
                        }
                    }
                }
                if live == 0 {
                    break;
                }
                let ready: Vec<usize> = (0..n).filter(|d| waiting[*d].is_some()).collect();
                let pick = ready[schedule.get(step).copied().unwrap_or(0) % ready.len()];
                step += 1;
                let p = waiting[pick].take().expect("waiting call");
                let answer = rt.block_on(call(smdp, &p.function, &p.body, clock.now()));
                let _ = p.reply.send(answer);
            }
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    }
}

impl Default for Pair {
    fn default() -> Self {
        Self::new()
    }
}
