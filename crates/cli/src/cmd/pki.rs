//! `simforge pki`: lab PKIs for the eSIM platform (SGP.22 §4.5, SGP.26 layout).

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use serde_json::json;
use simforge_pki::{Curve, LabPkiOptions};
use simforge_sim::secret::to_hex;

use crate::ctx::Ctx;
use crate::exit::{CliResult, Code, fail};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CurveArg {
    /// NIST P-256.
    Nist,
    /// brainpoolP256r1.
    Brainpool,
    /// One PKI per curve, in <dir>/nist and <dir>/brainpool.
    Both,
}

#[derive(Subcommand)]
pub enum PkiCmd {
    /// Create a complete lab PKI: CI, EUM (with an EID range), eUICC certificates, DPauth, DPpb,
    /// DPtls, and the SM-DS's DSauth and DStls.
    Init {
        /// Output directory (default: <data-dir>/pki).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Curve.
        #[arg(long, value_enum, default_value = "both")]
        curve: CurveArg,
        /// The SM-DP+ FQDN (DPtls subjectAltName).
        #[arg(long, default_value = "smdp.simforge.test")]
        fqdn: String,
        /// Number of eUICC certificates.
        #[arg(long, default_value_t = 1)]
        euiccs: u64,
        /// EID prefix the EUM may issue (digits).
        #[arg(long)]
        eid_prefix: Option<String>,
        /// The SM-DS FQDN (DStls subjectAltName). Default: `smds.` and the SM-DP+ FQDN's
        /// domain (`smdp.x` gives `smds.x`).
        #[arg(long)]
        smds_fqdn: Option<String>,
    },
    /// Load and check the GSMA SGP.26 test PKI (CI, DPauth, DPpb, DPtls) from its directory.
    Sgp26 {
        /// The SGP.26 directory (with CertificateIssuer/, DPauth/, DPpb/, DPtls/).
        dir: PathBuf,
    },
    /// Have every `simforge serve` on this database take its keys again from its PKI directory
    /// (and HSM labels), without a restart, within its --key-poll-secs: sessions in flight
    /// finish with the keys they started with; a node whose PKI does not load keeps its keys.
    /// (SIGHUP does the same on one node.) The PKI directory is checked first: one that does
    /// not load moves nothing.
    Reload {
        /// The PKI directory the nodes load (default: <data-dir>/pki).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

pub async fn pki(ctx: Ctx, cmd: PkiCmd) -> CliResult {
    let hex = |c: &simforge_pki::Certificate| c.subject_key_id().map(to_hex).unwrap_or_default();
    match cmd {
        PkiCmd::Init {
            dir,
            curve,
            fqdn,
            euiccs,
            eid_prefix,
            smds_fqdn,
        } => {
            let dir = dir.unwrap_or_else(|| ctx.data_dir.join("pki"));
            let curves = match curve {
                CurveArg::Nist => vec![(Curve::P256, dir.clone())],
                CurveArg::Brainpool => vec![(Curve::BrainpoolP256r1, dir.clone())],
                CurveArg::Both => vec![
                    (Curve::P256, dir.join("nist")),
                    (Curve::BrainpoolP256r1, dir.join("brainpool")),
                ],
            };
            for (c, d) in curves {
                if d.join("ci").exists() {
                    let e = anyhow::anyhow!("{} already holds a PKI", d.display());
                    return Err(fail(Code::Conflict, e));
                }
                let mut opts = LabPkiOptions::new(c, &fqdn);
                opts.euicc_count = euiccs;
                if let Some(p) = &eid_prefix {
                    opts.eid_prefixes = vec![p.clone()];
                }
                if let Some(f) = &smds_fqdn {
                    opts.smds_fqdn.clone_from(f);
                }
                let pki =
                    simforge_pki::write_lab_pki(&d, &opts).map_err(|e| fail(Code::Input, e))?;
                let (pkid, eids) = (hex(&pki.ci), pki.euiccs.iter().map(|e| e.eid.clone()));
                let eids: Vec<_> = eids.collect();
                let ds = pki.smds.as_ref().map(|s| s.fqdn.clone());
                let j = json!({"dir": d, "curve": format!("{c:?}"), "ci_pkid": pkid, "eids": eids, "fqdn": fqdn, "smds_fqdn": ds});
                ctx.print(&j, || {
                    let e: String = eids.iter().map(|e| format!("\n  eUICC {e}")).collect();
                    format!("{c:?} lab PKI in {} (CI PKID {pkid}){e}", d.display())
                });
            }
        }
        PkiCmd::Reload { dir } => {
            let dir = dir.unwrap_or_else(|| ctx.data_dir.join("pki"));
            simforge_esim::reload::check_pki(&dir, std::time::SystemTime::now())
                .map_err(|e| fail(Code::Input, e))?;
            let store = ctx.store().await?;
            let generation = simforge_esim::reload::request_reload(&store, &ctx.actor).await?;
            ctx.print(&json!({ "generation": generation }), || {
                format!("key generation {generation}: every node reloads its keys when it next looks (serve --key-poll-secs)")
            });
        }
        PkiCmd::Sgp26 { dir } => {
            let now = std::time::SystemTime::now();
            // Loaded, and DPauth and DPpb checked against the CI.
            let pkis = simforge_esim::pki::load_sgp26(&dir, crate::ctx::unix_now())
                .map_err(|e| fail(Code::Failure, e))?;
            for p in &pkis {
                let when = p.smdp.tls.cert.not_after();
                let until = time::OffsetDateTime::from(when)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                let state = if when < now { "EXPIRED" } else { "valid" };
                println!(
                    "{:?}: CI PKID {}, DPauth and DPpb chain to the CI; DPtls for {} {state} until {until}",
                    p.curve,
                    hex(&p.ci),
                    p.smdp.fqdn,
                );
            }
        }
    }
    Ok(())
}
