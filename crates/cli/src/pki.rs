//! `simforge pki`: lab PKIs for the eSIM platform (SGP.22 §4.5, SGP.26 layout).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use simforge_pki::{Curve, LabPkiOptions, Role};

use crate::exit::{CliResult, Code, fail};
use crate::factory::Ctx;

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
    /// Create a complete lab PKI: CI, EUM (with an EID range), eUICC certificates, DPauth, DPpb, DPtls.
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
    },
    /// Load and check the GSMA SGP.26 test PKI (CI, DPauth, DPpb, DPtls) from its directory.
    Sgp26 {
        /// The SGP.26 directory (with CertificateIssuer/, DPauth/, DPpb/, DPtls/).
        dir: PathBuf,
    },
}

pub async fn pki(ctx: Ctx, cmd: PkiCmd) -> CliResult {
    match cmd {
        PkiCmd::Init {
            dir,
            curve,
            fqdn,
            euiccs,
            eid_prefix,
        } => {
            let dir = dir.unwrap_or_else(|| ctx.data_dir.join("pki"));
            let curves: Vec<(Curve, PathBuf)> = match curve {
                CurveArg::Nist => vec![(Curve::P256, dir.clone())],
                CurveArg::Brainpool => vec![(Curve::BrainpoolP256r1, dir.clone())],
                CurveArg::Both => vec![
                    (Curve::P256, dir.join("nist")),
                    (Curve::BrainpoolP256r1, dir.join("brainpool")),
                ],
            };
            for (c, d) in curves {
                if d.join("ci").exists() {
                    return Err(fail(
                        Code::Conflict,
                        anyhow::anyhow!("{} already holds a PKI", d.display()),
                    ));
                }
                let mut opts = LabPkiOptions::new(c, &fqdn);
                opts.euicc_count = euiccs;
                if let Some(p) = &eid_prefix {
                    opts.eid_prefixes = vec![p.clone()];
                }
                let pki =
                    simforge_pki::write_lab_pki(&d, &opts).map_err(|e| fail(Code::Input, e))?;
                let pkid: String = pki.ci.subject_key_id().map(hex).unwrap_or_default();
                if ctx.json {
                    println!(
                        "{}",
                        serde_json::json!({"dir": d, "curve": format!("{c:?}"), "ci_pkid": pkid,
                            "eids": pki.euiccs.iter().map(|e| e.eid.clone()).collect::<Vec<_>>(), "fqdn": fqdn})
                    );
                } else {
                    println!("{:?} lab PKI in {} (CI PKID {pkid})", c, d.display());
                    for e in &pki.euiccs {
                        println!("  eUICC {}", e.eid);
                    }
                }
            }
            Ok(())
        }
        PkiCmd::Sgp26 { dir } => {
            let pkis = simforge_pki::load_sgp26(&dir)
                .with_context(|| format!("SGP.26 material in {}", dir.display()))?;
            for p in &pkis {
                let store = p.ci_store()?;
                let when = p.smdp.tls.cert.not_after();
                for (role, cert) in [
                    (Role::DpAuth, &p.smdp.auth.cert),
                    (Role::DpPb, &p.smdp.pb.cert),
                ] {
                    simforge_pki::verify_dp_cert(
                        &store,
                        cert.der(),
                        role,
                        simforge_crypto::Clock::now_unix(&simforge_crypto::SystemClock),
                    )
                    .with_context(|| format!("{:?} {role:?}", p.curve))?;
                }
                let until = time::OffsetDateTime::from(when)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                let state = if when < std::time::SystemTime::now() {
                    "EXPIRED"
                } else {
                    "valid"
                };
                println!(
                    "{:?}: CI PKID {}, DPauth and DPpb chain to the CI; DPtls for {} {state} until {until}",
                    p.curve,
                    p.ci.subject_key_id().map(hex).unwrap_or_default(),
                    p.smdp.fqdn,
                );
            }
            Ok(())
        }
    }
}

use simforge_sim::secret::to_hex as hex;
