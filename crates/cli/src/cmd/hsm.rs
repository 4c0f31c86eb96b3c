//! `simforge hsm`: a PKCS#11 HSM's slots, tokens and objects (attributes, never values), and
//! keys generated or imported in it with CKA_SENSITIVE and without CKA_EXTRACTABLE — the
//! SM-DP+'s DPauth and DPpb (`serve --hsm-dpauth-label`, `--hsm-dppb-label`) and the vault's
//! master key (`--hsm-master-key-label`). The module, token and PIN file are the global
//! `--hsm-module`, `--hsm-token`, `--hsm-pin-file`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use simforge_crypto::EcPrivateKey;
use simforge_hsm::{KeyKind, ObjectInfo};

use zeroize::Zeroizing;

use crate::ctx::{Ctx, read_file};
use crate::exit::{CliResult, Code, fail};

#[derive(Subcommand)]
pub enum HsmCmd {
    /// The module's slots and tokens (--hsm-module); with --hsm-token and --hsm-pin-file, the
    /// token's objects too.
    List,
    /// Generate a key in the token: sensitive, never extractable, for one use.
    Generate(GenerateArgs),
    /// Import a key as a sensitive, non-extractable key: an EC private key (PEM: PKCS#8 or
    /// SEC1; a PKI directory's DPauth or DPpb key) or an AES key (32, 48 or 64 hex digits: an
    /// operator's transport key). Delete the file afterwards.
    Import(ImportArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    /// ECDSA on NIST P-256 (DPauth, DPpb).
    EcP256,
    /// ECDSA on brainpoolP256r1 (DPauth, DPpb).
    EcBrainpool,
    /// AES-256 (the vault's master key).
    Aes256,
}

#[derive(Args)]
pub struct GenerateArgs {
    /// The kind of key.
    #[arg(long, value_enum)]
    kind: Kind,
    /// The key's label (CKA_LABEL), unique in the token.
    #[arg(long)]
    label: String,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The key file: PEM (EC) or hex (AES).
    #[arg(long)]
    key: PathBuf,
    /// The key's label (CKA_LABEL), unique in the token.
    #[arg(long)]
    label: String,
}

fn open(ctx: &Ctx) -> CliResult<std::sync::Arc<simforge_hsm::Token>> {
    ctx.hsm_token()?.ok_or_else(|| {
        fail(
            Code::Input,
            anyhow::anyhow!("give the token: --hsm-module, --hsm-token, --hsm-pin-file"),
        )
    })
}

fn object_json(o: &ObjectInfo) -> serde_json::Value {
    serde_json::json!({
        "class": o.class,
        "label": o.label,
        "id": o.id,
        "keyType": o.key_type,
        "curve": o.curve.map(|c| format!("{c:?}")),
        "sensitive": o.sensitive,
        "extractable": o.extractable,
    })
}

fn object_line(o: &ObjectInfo) -> String {
    let flag = |name: &str, v: Option<bool>| match v {
        Some(true) => name.to_owned(),
        Some(false) => format!("not {name}"),
        None => String::new(),
    };
    let mut parts = vec![o.class.clone(), format!("label {:?}", o.label)];
    if !o.id.is_empty() {
        parts.push(format!("id {}", o.id));
    }
    parts.extend(o.key_type.clone());
    parts.extend(o.curve.map(|c| format!("{c:?}")));
    parts.push(flag("sensitive", o.sensitive));
    parts.push(flag("extractable", o.extractable));
    parts.retain(|p| !p.is_empty());
    format!("  {}", parts.join(", "))
}

pub async fn hsm(ctx: Ctx, cmd: HsmCmd) -> CliResult {
    match cmd {
        HsmCmd::List => {
            let Some(module) = ctx.hsm.module.clone() else {
                let e = anyhow::anyhow!("give the module: --hsm-module");
                return Err(fail(Code::Input, e));
            };
            let slots = simforge_hsm::slots(&module).map_err(simforge_esim::Error::from)?;
            let objects = match &ctx.hsm.token {
                Some(_) => Some(open(&ctx)?.objects().map_err(simforge_esim::Error::from)?),
                None => None,
            };
            let j = serde_json::json!({
                "slots": slots.iter().map(|s| serde_json::json!({
                    "id": s.id,
                    "description": s.description,
                    "token": s.token.as_ref().map(|t| serde_json::json!({
                        "label": t.label, "manufacturer": t.manufacturer, "model": t.model,
                        "serial": t.serial, "initialized": t.initialized,
                    })),
                })).collect::<Vec<_>>(),
                "objects": objects.as_ref().map(|o| o.iter().map(object_json).collect::<Vec<_>>()),
            });
            ctx.print(&j, || {
                let mut lines = Vec::new();
                for s in &slots {
                    match &s.token {
                        Some(t) if t.initialized => lines.push(format!(
                            "slot {}: token {:?} ({} {}, serial {})",
                            s.id, t.label, t.manufacturer, t.model, t.serial
                        )),
                        Some(_) => lines.push(format!("slot {}: uninitialised token", s.id)),
                        None => lines.push(format!("slot {}: no token", s.id)),
                    }
                }
                if let (Some(objects), Some(token)) = (&objects, &ctx.hsm.token) {
                    lines.push(format!("objects of token {token:?}:"));
                    lines.extend(objects.iter().map(object_line));
                }
                lines.join("\n")
            });
            Ok(())
        }
        HsmCmd::Generate(a) => {
            let token = open(&ctx)?;
            let kind = match a.kind {
                Kind::EcP256 => KeyKind::EcP256,
                Kind::EcBrainpool => KeyKind::EcBrainpoolP256r1,
                Kind::Aes256 => KeyKind::Aes256,
            };
            let info = token
                .generate(kind, &a.label)
                .map_err(simforge_esim::Error::from)?;
            ctx.print(&object_json(&info), || {
                format!(
                    "generated in token {:?}:\n{}",
                    token.label(),
                    object_line(&info)
                )
            });
            Ok(())
        }
        HsmCmd::Import(a) => {
            let data = read_file(&a.key, "reading")?;
            let bad =
                |what: &str| fail(Code::Input, anyhow::anyhow!("{}: {what}", a.key.display()));
            let text = std::str::from_utf8(&data).map_err(|_| bad("neither PEM nor hex"))?;
            let token = open(&ctx)?;
            let info = if text.contains("-----BEGIN") {
                let key = EcPrivateKey::from_pem(text).map_err(|e| {
                    fail(
                        Code::Input,
                        anyhow::Error::new(e).context(a.key.display().to_string()),
                    )
                })?;
                token.import_ec(&key, &a.label)
            } else {
                let hex = text.trim();
                if ![32, 48, 64].contains(&hex.len()) || !hex.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(bad("an AES key is 32, 48 or 64 hex digits"));
                }
                let key: Zeroizing<Vec<u8>> = Zeroizing::new(
                    (0..hex.len())
                        .step_by(2)
                        .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
                        .collect(),
                );
                token.import_aes(&key, &a.label)
            }
            .map_err(simforge_esim::Error::from)?;
            ctx.print(&object_json(&info), || {
                format!(
                    "imported into token {:?}:\n{}\nthe key is now in the HSM: delete {}",
                    token.label(),
                    object_line(&info),
                    a.key.display()
                )
            });
            Ok(())
        }
    }
}
