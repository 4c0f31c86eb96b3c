//! Modules, tokens, sessions and objects: a PKCS#11 module loaded and initialised once per
//! process, a token found by its label and logged in with a PIN read from a file, a pool of
//! sessions (a PKCS#11 session is used by one thread at a time), and the object listing and key
//! generation behind `simforge hsm`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use simforge_crypto::{Curve, EcPrivateKey, Signer as _, SoftwareSigner};
use zeroize::Zeroizing;

use crate::error::{HsmError, Result, p11};

/// Every module this process has loaded, initialised once and never finalised: PKCS#11 allows
/// one `C_Initialize` per process, and several tokens (or several users of one token) share it.
static MODULES: Mutex<Vec<(PathBuf, Pkcs11)>> = Mutex::new(Vec::new());

fn module(path: &Path) -> Result<Pkcs11> {
    let mut modules = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, ctx)) = modules.iter().find(|(p, _)| p == path) {
        return Ok(ctx.clone());
    }
    let err = |source| HsmError::Module {
        path: path.to_path_buf(),
        source,
    };
    let ctx = Pkcs11::new(path).map_err(err)?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(err(e)),
    }
    modules.push((path.to_path_buf(), ctx.clone()));
    Ok(ctx)
}

/// A token's user PIN. Read from a file, zeroized on drop, never printed.
pub struct Pin(AuthPin);

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

impl Pin {
    /// A PIN from its text.
    #[must_use]
    pub fn new(pin: &str) -> Self {
        Self(AuthPin::from(pin.to_owned()))
    }

    /// Reads the PIN from `path`: its first line, without the line end. The file must be
    /// readable by its owner only (like the vault's master key file).
    ///
    /// # Errors
    /// [`HsmError::PinFile`] if it cannot be read, [`HsmError::BadPinFile`] if it is empty,
    /// not UTF-8 or readable by others.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bad = |reason| HsmError::BadPinFile {
            path: path.to_path_buf(),
            reason,
        };
        let data = Zeroizing::new(std::fs::read(path).map_err(|source| HsmError::PinFile {
            path: path.to_path_buf(),
            source,
        })?);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|source| HsmError::PinFile {
                    path: path.to_path_buf(),
                    source,
                })?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(bad(
                    "readable or writable by others than its owner (fix: chmod 600)",
                ));
            }
        }
        let text = std::str::from_utf8(&data).map_err(|_| bad("not UTF-8"))?;
        let line = text.lines().next().unwrap_or("");
        if line.is_empty() {
            return Err(bad("empty"));
        }
        Ok(Self::new(line))
    }
}

/// A token opened by label and logged in as its user, with a pool of sessions.
///
/// PKCS#11 sessions must not be used by two threads at once: each operation takes a session
/// from the pool (or opens one), uses it alone, and gives it back. One more session is held for
/// the life of the token so that the login (which PKCS#11 keeps per application and token)
/// lasts.
///
/// When the token loses the login (its sessions closed under us — `C_CloseAllSessions`, a
/// token or HSM reset, a network HSM's reconnection — answered `CKR_SESSION_HANDLE_INVALID`,
/// `CKR_SESSION_CLOSED` or `CKR_USER_NOT_LOGGED_IN`), the operation opens a new login session
/// with the PIN (kept zeroizing, never printed) and runs once more: a server keeps signing
/// without a restart.
pub struct Token {
    ctx: Pkcs11,
    slot: Slot,
    label: String,
    serial: String,
    pool: Mutex<Vec<Session>>,
    login: Mutex<Session>,
    pin: Pin,
    /// Logins done again so far: an operation that failed for want of a login logs in again
    /// only if no other thread did since it started.
    logins: AtomicU64,
    /// The token refused the PIN on a new login: never tried again (PIN retry limits).
    pin_refused: AtomicBool,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("label", &self.label)
            .field("slot", &self.slot.id())
            .finish_non_exhaustive()
    }
}

/// Whether the token forgot this application's login, the session an operation ran on, or
/// (after a logout, which invalidates the handles of private objects) the key's handle.
fn logged_out(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::ObjectHandleInvalid
                | RvError::KeyHandleInvalid,
            _
        )
    )
}

/// A key in the token by its label, with the handle found for it (found again after a new
/// login: handles of private objects do not outlive a logout).
pub(crate) struct KeyRef {
    class: ObjectClass,
    class_name: &'static str,
    label: String,
    handle: Mutex<ObjectHandle>,
}

impl KeyRef {
    /// The handle as last found.
    pub(crate) fn handle(&self) -> ObjectHandle {
        *self.handle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Finds the slot whose initialised token carries `label`.
fn find_slot(ctx: &Pkcs11, label: &str) -> Result<(Slot, String)> {
    let slots = ctx.get_slots_with_token().map_err(p11("C_GetSlotList"))?;
    for slot in slots {
        // A slot whose token went away since the list was made (another process deleted it)
        // answers an error: it is not the token looked for.
        let Ok(info) = ctx.get_token_info(slot) else {
            continue;
        };
        if info.token_initialized() && info.label().trim_end() == label {
            return Ok((slot, info.serial_number().trim_end().to_owned()));
        }
    }
    Err(HsmError::NoToken(label.to_owned()))
}

impl Token {
    /// Loads `module` (once per process), finds the token labelled `label` and logs in as
    /// its user with `pin`.
    ///
    /// # Errors
    /// [`HsmError::Module`], [`HsmError::NoToken`], or the module's refusal (a wrong PIN is
    /// `CKR_PIN_INCORRECT`).
    pub fn open(module_path: &Path, label: &str, pin: &Pin) -> Result<Arc<Self>> {
        let ctx = module(module_path)?;
        let (slot, serial) = find_slot(&ctx, label)?;
        let login = ctx.open_rw_session(slot).map_err(p11("C_OpenSession"))?;
        match login.login(UserType::User, Some(&pin.0)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(p11("C_Login")(e)),
        }
        Ok(Arc::new(Self {
            ctx,
            slot,
            label: label.to_owned(),
            serial,
            pool: Mutex::new(Vec::new()),
            login: Mutex::new(login),
            pin: Pin(pin.0.clone()),
            logins: AtomicU64::new(0),
            pin_refused: AtomicBool::new(false),
        }))
    }

    /// The token's label.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The token's serial number.
    #[must_use]
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// Runs `f` on a session of its own (from the pool, or a new one); once more after a
    /// new login when the token lost the login (see [`Token`]).
    pub(crate) fn with_session<T>(
        &self,
        f: impl Fn(&Session) -> std::result::Result<T, CkError>,
        op: &'static str,
    ) -> Result<T> {
        let seen = self.logins.load(Ordering::SeqCst);
        match self.once(&f) {
            Err(e) if logged_out(&e) => {
                self.relogin(seen)?;
                self.once(&f).map_err(p11(op))
            }
            r => r.map_err(p11(op)),
        }
    }

    /// The one object of `class` labelled `label`, to use through [`Token::with_key`].
    pub(crate) fn key(
        &self,
        class: ObjectClass,
        class_name: &'static str,
        label: &str,
    ) -> Result<KeyRef> {
        Ok(KeyRef {
            class,
            class_name,
            label: label.to_owned(),
            handle: Mutex::new(self.find_one(class, class_name, label)?),
        })
    }

    /// Runs `f` with `key`'s handle on a session of its own; after a new login (the token
    /// lost it), with the key found again by its label, once more.
    pub(crate) fn with_key<T>(
        &self,
        key: &KeyRef,
        f: impl Fn(&Session, ObjectHandle) -> std::result::Result<T, CkError>,
        op: &'static str,
    ) -> Result<T> {
        let handle = key.handle();
        let seen = self.logins.load(Ordering::SeqCst);
        match self.once(&|s: &Session| f(s, handle)) {
            Err(e) if logged_out(&e) => {
                self.relogin(seen)?;
                let handle = self.find_one(key.class, key.class_name, &key.label)?;
                *key.handle.lock().unwrap_or_else(PoisonError::into_inner) = handle;
                self.once(&|s: &Session| f(s, handle)).map_err(p11(op))
            }
            r => r.map_err(p11(op)),
        }
    }

    /// Runs `f` on a pooled or new session; a session the token no longer knows is dropped.
    fn once<T>(
        &self,
        f: &impl Fn(&Session) -> std::result::Result<T, CkError>,
    ) -> std::result::Result<T, CkError> {
        let pooled = self
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let session = match pooled {
            Some(s) => s,
            None => self.ctx.open_rw_session(self.slot)?,
        };
        let result = f(&session);
        let broken = matches!(
            result,
            Err(CkError::Pkcs11(
                RvError::SessionHandleInvalid
                    | RvError::SessionClosed
                    | RvError::DeviceRemoved
                    | RvError::TokenNotPresent,
                _
            ))
        );
        if !broken {
            self.pool
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(session);
        }
        result
    }

    /// Logs this application out of the token (`C_Logout`): what a token reset does to a
    /// running server's login. The next operation logs in again.
    ///
    /// # Errors
    /// The module's refusal.
    pub fn logout(&self) -> Result<()> {
        let login = self.login.lock().unwrap_or_else(PoisonError::into_inner);
        login.logout().map_err(p11("C_Logout"))
    }

    /// Drops every pooled session and logs in again on a new login session, unless another
    /// thread did since `seen` (logins counted then). A PIN the token refuses is never tried
    /// again.
    fn relogin(&self, seen: u64) -> Result<()> {
        let mut login = self.login.lock().unwrap_or_else(PoisonError::into_inner);
        if self.pin_refused.load(Ordering::SeqCst) {
            return Err(HsmError::LoginRefused(self.label.clone()));
        }
        if self.logins.load(Ordering::SeqCst) != seen {
            return Ok(());
        }
        self.pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        let fresh = self
            .ctx
            .open_rw_session(self.slot)
            .map_err(p11("C_OpenSession"))?;
        match fresh.login(UserType::User, Some(&self.pin.0)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(
                RvError::PinIncorrect
                | RvError::PinLocked
                | RvError::PinExpired
                | RvError::PinInvalid,
                _,
            )) => {
                self.pin_refused.store(true, Ordering::SeqCst);
                tracing::error!(token = %self.label, "PKCS#11 token refused the PIN when logging in again; no further login is tried");
                return Err(HsmError::LoginRefused(self.label.clone()));
            }
            Err(e) => return Err(p11("C_Login")(e)),
        }
        tracing::warn!(token = %self.label, "PKCS#11 token lost its login: logged in again");
        self.logins.fetch_add(1, Ordering::SeqCst);
        *login = fresh;
        Ok(())
    }

    /// The one object of `class` labelled `label`.
    pub(crate) fn find_one(
        &self,
        class: ObjectClass,
        class_name: &'static str,
        label: &str,
    ) -> Result<ObjectHandle> {
        let found = self.with_session(
            |s| {
                s.find_objects(&[
                    Attribute::Class(class),
                    Attribute::Label(label.as_bytes().to_vec()),
                ])
            },
            "C_FindObjects",
        )?;
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(HsmError::NoKey {
                label: label.to_owned(),
                class: class_name,
            }),
            _ => Err(HsmError::Ambiguous {
                label: label.to_owned(),
                class: class_name,
            }),
        }
    }

    /// Every object the logged-in user can see, with its attributes (never a value).
    ///
    /// # Errors
    /// The module's refusal.
    pub fn objects(&self) -> Result<Vec<ObjectInfo>> {
        self.with_session(
            |s| {
                let mut out = Vec::new();
                for handle in s.find_objects(&[])? {
                    out.push(object_info(s, handle)?);
                }
                Ok(out)
            },
            "list objects",
        )
    }

    /// Generates a key in the token, non-extractable and sensitive, labelled `label`.
    ///
    /// # Errors
    /// [`HsmError::Exists`] if the label is taken, or the module's refusal.
    pub fn generate(&self, kind: KeyKind, label: &str) -> Result<ObjectInfo> {
        self.generate_with(kind, label, Export::Never)
    }

    /// Like [`Token::generate`], but the key may be exported when `export` says so: only for
    /// test tokens (an independent check of what the HSM computed).
    ///
    /// # Errors
    /// As [`Token::generate`].
    pub fn generate_with(&self, kind: KeyKind, label: &str, export: Export) -> Result<ObjectInfo> {
        self.refuse_taken(label)?;
        let id = new_id()?;
        let common = |private: bool| {
            let mut a = vec![
                Attribute::Token(true),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.clone()),
            ];
            if private {
                a.push(Attribute::Private(true));
                a.push(Attribute::Sensitive(export == Export::Never));
                a.push(Attribute::Extractable(export == Export::Allowed));
            }
            a
        };
        let handle = match kind {
            KeyKind::EcP256 | KeyKind::EcBrainpoolP256r1 => {
                let curve = kind.curve().unwrap_or(Curve::NistP256);
                let mut public = common(false);
                public.extend(SIGNING_PUBLIC);
                public.push(Attribute::EcParams(ec_params(curve)));
                let mut private = common(true);
                private.extend(SIGNING_PRIVATE);
                let (_, private) = self.with_session(
                    |s| s.generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private),
                    "C_GenerateKeyPair",
                )?;
                private
            }
            KeyKind::Aes256 => {
                let mut t = common(true);
                t.push(Attribute::ValueLen(32.into()));
                t.extend(SEALING);
                self.with_session(
                    |s| s.generate_key(&Mechanism::AesKeyGen, &t),
                    "C_GenerateKey",
                )?
            }
        };
        self.with_session(|s| object_info(s, handle), "C_GetAttributeValue")
    }

    /// Imports an EC private key (for example a DPauth or DPpb key of a PKI directory) as a
    /// sensitive, non-extractable key labelled `label`, with its public key object beside it.
    /// The caller should destroy its copy afterwards.
    ///
    /// # Errors
    /// [`HsmError::Exists`] if the label is taken, or the module's refusal.
    pub fn import_ec(&self, key: &EcPrivateKey, label: &str) -> Result<ObjectInfo> {
        self.refuse_taken(label)?;
        let id = new_id()?;
        let public_key = SoftwareSigner::new(key)?.public_key();
        let params = ec_params(key.curve());
        let public = vec![
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.clone()),
            Attribute::EcParams(params.clone()),
            Attribute::EcPoint(der_octet_string(&public_key)),
        ];
        let private = vec![
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id),
            Attribute::EcParams(params),
            Attribute::Value(key.scalar().to_vec()),
        ];
        let public: Vec<Attribute> = public.into_iter().chain(SIGNING_PUBLIC).collect();
        let private: Vec<Attribute> = private.into_iter().chain(SIGNING_PRIVATE).collect();
        let handle = self.with_session(
            |s| {
                s.create_object(&public)?;
                s.create_object(&private)
            },
            "C_CreateObject",
        )?;
        self.with_session(|s| object_info(s, handle), "C_GetAttributeValue")
    }

    /// Imports an AES key (16, 24 or 32 bytes: an operator's transport key as exchanged with
    /// it) as a sensitive, non-extractable key labelled `label`, allowed to encrypt and decrypt
    /// only. The caller should destroy its copy afterwards.
    ///
    /// # Errors
    /// [`HsmError::Exists`] if the label is taken, [`HsmError::BadKey`] for another length, or
    /// the module's refusal.
    pub fn import_aes(&self, key: &[u8], label: &str) -> Result<ObjectInfo> {
        if ![16, 24, 32].contains(&key.len()) {
            return Err(HsmError::BadKey {
                label: label.to_owned(),
                reason: "an AES key is 16, 24 or 32 bytes",
            });
        }
        self.refuse_taken(label)?;
        let mut t = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(new_id()?),
            Attribute::Value(key.to_vec()),
        ];
        t.extend(SEALING);
        let handle = self.with_session(|s| s.create_object(&t), "C_CreateObject")?;
        // The template's copy of the key.
        for a in &mut t {
            if let Attribute::Value(v) = a {
                zeroize::Zeroize::zeroize(v);
            }
        }
        self.with_session(|s| object_info(s, handle), "C_GetAttributeValue")
    }

    fn refuse_taken(&self, label: &str) -> Result<()> {
        let taken = self.with_session(
            |s| s.find_objects(&[Attribute::Label(label.as_bytes().to_vec())]),
            "C_FindObjects",
        )?;
        if taken.is_empty() {
            Ok(())
        } else {
            Err(HsmError::Exists(label.to_owned()))
        }
    }
}

/// What a signing key may do: sign, and nothing else (SoftHSM2 would also let an EC private
/// key decrypt and unwrap by default).
const SIGNING_PRIVATE: [Attribute; 4] = [
    Attribute::Sign(true),
    Attribute::Decrypt(false),
    Attribute::Unwrap(false),
    Attribute::Derive(false),
];
const SIGNING_PUBLIC: [Attribute; 3] = [
    Attribute::Verify(true),
    Attribute::Encrypt(false),
    Attribute::Wrap(false),
];
/// What a sealing (master or transport) key may do: encrypt and decrypt.
const SEALING: [Attribute; 6] = [
    Attribute::Encrypt(true),
    Attribute::Decrypt(true),
    Attribute::Sign(false),
    Attribute::Verify(false),
    Attribute::Wrap(false),
    Attribute::Unwrap(false),
];

/// Whether a generated key may ever leave the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// Production: CKA_SENSITIVE true, CKA_EXTRACTABLE false.
    Never,
    /// Test tokens only: CKA_SENSITIVE false, CKA_EXTRACTABLE true.
    Allowed,
}

/// The kinds of key `simforge hsm generate` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An ECDSA key pair on NIST P-256.
    EcP256,
    /// An ECDSA key pair on brainpoolP256r1.
    EcBrainpoolP256r1,
    /// An AES-256 secret key.
    Aes256,
}

impl KeyKind {
    /// The curve of an EC kind.
    #[must_use]
    pub fn curve(self) -> Option<Curve> {
        match self {
            Self::EcP256 => Some(Curve::NistP256),
            Self::EcBrainpoolP256r1 => Some(Curve::BrainpoolP256r1),
            Self::Aes256 => None,
        }
    }
}

/// One object of a token as `simforge hsm list` shows it: never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// `private-key`, `public-key`, `secret-key`, `certificate`, `data`, …
    pub class: String,
    /// CKA_LABEL.
    pub label: String,
    /// CKA_ID, hex.
    pub id: String,
    /// `EC`, `AES`, … (keys only).
    pub key_type: Option<String>,
    /// The curve of an EC key, when it is one simforge knows.
    pub curve: Option<Curve>,
    /// CKA_SENSITIVE (private and secret keys).
    pub sensitive: Option<bool>,
    /// CKA_EXTRACTABLE (private and secret keys).
    pub extractable: Option<bool>,
}

fn object_info(s: &Session, handle: ObjectHandle) -> std::result::Result<ObjectInfo, CkError> {
    let attrs = s.get_attributes(
        handle,
        &[
            AttributeType::Class,
            AttributeType::Label,
            AttributeType::Id,
            AttributeType::KeyType,
            AttributeType::EcParams,
            AttributeType::Sensitive,
            AttributeType::Extractable,
        ],
    )?;
    let mut info = ObjectInfo {
        class: String::new(),
        label: String::new(),
        id: String::new(),
        key_type: None,
        curve: None,
        sensitive: None,
        extractable: None,
    };
    for a in attrs {
        match a {
            Attribute::Class(c) => info.class = class_name(c),
            Attribute::Label(l) => info.label = String::from_utf8_lossy(&l).into_owned(),
            Attribute::Id(id) => info.id = hex(&id),
            Attribute::KeyType(k) => {
                info.key_type = Some(if k == KeyType::EC {
                    "EC".to_owned()
                } else if k == KeyType::AES {
                    "AES".to_owned()
                } else {
                    k.to_string()
                });
            }
            Attribute::EcParams(p) => info.curve = curve_of_params(&p),
            Attribute::Sensitive(b) => info.sensitive = Some(b),
            Attribute::Extractable(b) => info.extractable = Some(b),
            _ => {}
        }
    }
    Ok(info)
}

fn class_name(c: ObjectClass) -> String {
    if c == ObjectClass::PRIVATE_KEY {
        "private-key".into()
    } else if c == ObjectClass::PUBLIC_KEY {
        "public-key".into()
    } else if c == ObjectClass::SECRET_KEY {
        "secret-key".into()
    } else if c == ObjectClass::CERTIFICATE {
        "certificate".into()
    } else if c == ObjectClass::DATA {
        "data".into()
    } else {
        c.to_string()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn new_id() -> Result<Vec<u8>> {
    let mut id = vec![0u8; 8];
    getrandom::fill(&mut id).map_err(|_| HsmError::Random)?;
    Ok(id)
}

/// CKA_EC_PARAMS of a curve: the DER named-curve OID.
pub(crate) fn ec_params(curve: Curve) -> Vec<u8> {
    let oid = curve.oid();
    let mut v = Vec::with_capacity(2 + oid.len());
    v.push(0x06);
    v.push(u8::try_from(oid.len()).unwrap_or(0));
    v.extend_from_slice(oid);
    v
}

/// The curve named by CKA_EC_PARAMS (a DER OID), if simforge knows it.
pub(crate) fn curve_of_params(params: &[u8]) -> Option<Curve> {
    match params {
        [0x06, len, oid @ ..] if usize::from(*len) == oid.len() => Curve::from_oid(oid).ok(),
        _ => None,
    }
}

/// `bytes` (at most 127 of them) as a DER OCTET STRING: CKA_EC_POINT's form.
fn der_octet_string(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(2 + bytes.len());
    v.push(0x04);
    v.push(u8::try_from(bytes.len()).unwrap_or(0));
    v.extend_from_slice(bytes);
    v
}

/// A slot and its token, as `simforge hsm list` shows them without logging in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotSummary {
    /// The slot id.
    pub id: u64,
    /// The slot's description.
    pub description: String,
    /// The token in it, if one is present.
    pub token: Option<TokenSummary>,
}

/// A token's public information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSummary {
    /// Its label.
    pub label: String,
    /// Its manufacturer.
    pub manufacturer: String,
    /// Its model.
    pub model: String,
    /// Its serial number.
    pub serial: String,
    /// Whether it has been initialised.
    pub initialized: bool,
}

/// The slots of `module` and their tokens (no login needed).
///
/// # Errors
/// [`HsmError::Module`] or the module's refusal.
pub fn slots(module_path: &Path) -> Result<Vec<SlotSummary>> {
    let ctx = module(module_path)?;
    let mut out = Vec::new();
    for slot in ctx.get_all_slots().map_err(p11("C_GetSlotList"))? {
        let info = ctx.get_slot_info(slot).map_err(p11("C_GetSlotInfo"))?;
        // A token that went away since the list was made answers an error: shown as none.
        let token = match ctx.get_token_info(slot) {
            Ok(t) if info.token_present() => Some(TokenSummary {
                label: t.label().trim_end().to_owned(),
                manufacturer: t.manufacturer_id().trim_end().to_owned(),
                model: t.model().trim_end().to_owned(),
                serial: t.serial_number().trim_end().to_owned(),
                initialized: t.token_initialized(),
            }),
            _ => None,
        };
        out.push(SlotSummary {
            id: slot.id(),
            description: info.slot_description().trim_end().to_owned(),
            token,
        });
    }
    Ok(out)
}

/// The default SoftHSM2 module of Debian and Ubuntu.
pub const SOFTHSM2_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_params_roundtrip_and_octet_string() {
        for c in Curve::ALL {
            assert_eq!(curve_of_params(&ec_params(c)), Some(c));
        }
        assert_eq!(curve_of_params(&[0x06, 0x05, 1, 2]), None);
        assert_eq!(der_octet_string(&[1, 2]), vec![4, 2, 1, 2]);
    }

    #[test]
    fn pin_never_prints() {
        assert_eq!(format!("{:?}", Pin::new("123456")), "Pin(<redacted>)");
    }
}
