//! Users, sessions and API tokens ([`AccessStore`]) of the SQL stores, and the access service
//! ([`Access`]) over them: users in two tenants, a taken user name refused, tokens found by
//! hash and refused once revoked or expired, logout everywhere, tenant isolation of listings;
//! login with throttling, lockout, unlock and TOTP, each audited.

use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use simforge_access::service::CreateUser;
use simforge_access::{
    Access, AccessStore, Error, NewToken, NewUser, Role, Secret, SessionRecord, Throttle,
    TotpSecret, token_hash,
};
use simforge_audit::{Actor, AuditLog, Outcome, Query, action};
use simforge_vault::{MasterKey, Vault};

use super::backends::{A, B};

const T0: i64 = 1_800_000_000;

fn user(tenant: Option<i64>, name: &str, role: Role) -> NewUser {
    NewUser {
        tenant,
        username: name.into(),
        role,
        password_phc: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        totp_sealed: None,
        created_at: T0,
    }
}

fn token(hash: &str, tenant: Option<i64>, expires_at: i64) -> NewToken {
    NewToken {
        hash: hash.into(),
        tenant,
        role: Role::Operator,
        name: format!("ci {hash}"),
        created_at: T0,
        expires_at,
    }
}

pub async fn users_sessions_and_tokens<S: AccessStore>(store: S) {
    let admin = store
        .create_user(&user(None, "root", Role::PlatformAdmin))
        .await
        .unwrap()
        .unwrap();
    let a1 = store
        .create_user(&user(Some(A), "alice", Role::OperatorAdmin))
        .await
        .unwrap()
        .unwrap();
    let b1 = store
        .create_user(&user(Some(B), "bob", Role::Viewer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a1.tenant, a1.role), (Some(A), Role::OperatorAdmin));
    assert_eq!(a1.throttle, Throttle::default());
    assert!(!a1.disabled);
    // A user name is unique over the platform, whatever the tenant.
    assert!(
        store
            .create_user(&user(Some(B), "alice", Role::Viewer))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.user_by_name("alice").await.unwrap(), Some(a1.clone()));
    assert_eq!(store.user_by_id(b1.id).await.unwrap(), Some(b1.clone()));
    assert_eq!(store.user_by_name("carol").await.unwrap(), None);
    // Listings by tenant.
    assert_eq!(store.users(Some(A)).await.unwrap(), vec![a1.clone()]);
    assert_eq!(store.users(Some(B)).await.unwrap(), vec![b1.clone()]);
    assert_eq!(store.users(None).await.unwrap(), vec![admin.clone()]);

    // Throttling state and the TOTP step round-trip.
    let locked = Throttle {
        failures: 0,
        locked_until: Some(T0 + 900),
    };
    store.set_throttle(a1.id, locked).await.unwrap();
    store.set_totp_last_step(a1.id, 42).await.unwrap();
    let a = store.user_by_id(a1.id).await.unwrap().unwrap();
    assert_eq!((a.throttle, a.totp_last_step), (locked, Some(42)));
    // A new TOTP enrollment replaces the sealed secret and the step; another user's stays.
    store.set_totp(a1.id, &[7, 8, 9], 43).await.unwrap();
    let a = store.user_by_id(a1.id).await.unwrap().unwrap();
    assert_eq!(
        (a.totp_sealed.as_deref(), a.totp_last_step),
        (Some(&[7u8, 8, 9][..]), Some(43))
    );
    let b = store.user_by_id(b1.id).await.unwrap().unwrap();
    assert_eq!(b.totp_sealed, b1.totp_sealed);

    // Sessions; logout everywhere deletes every session of one user only.
    for (i, u) in [a1.id, a1.id, b1.id].into_iter().enumerate() {
        store
            .create_session(&SessionRecord {
                hash: format!("s{i}"),
                user_id: u,
                created_at: T0,
                last_seen: T0,
                expires_at: T0 + 100,
            })
            .await
            .unwrap();
    }
    store.touch_session("s0", T0 + 5).await.unwrap();
    assert_eq!(
        store.session("s0").await.unwrap().unwrap().last_seen,
        T0 + 5
    );
    assert_eq!(store.delete_sessions_of(a1.id).await.unwrap(), 2);
    assert_eq!(store.session("s0").await.unwrap(), None);
    assert_eq!(store.session("s1").await.unwrap(), None);
    assert!(store.session("s2").await.unwrap().is_some());
    store.delete_session("s2").await.unwrap();
    assert_eq!(store.session("s2").await.unwrap(), None);

    // Tokens: found by hash while live, refused once revoked or expired.
    let ta = store
        .create_token(&token("ha", Some(A), T0 + 60))
        .await
        .unwrap();
    let tb = store
        .create_token(&token("hb", Some(B), T0 + 60))
        .await
        .unwrap();
    assert_eq!(
        (ta.tenant, ta.role, ta.revoked_at),
        (Some(A), Role::Operator, None)
    );
    assert_eq!(store.live_token("ha", T0).await.unwrap(), Some(ta.clone()));
    assert_eq!(store.live_token("ha", T0 + 60).await.unwrap(), None); // expired
    assert_eq!(store.live_token("nope", T0).await.unwrap(), None);
    assert!(store.revoke_token(tb.id, T0 + 1).await.unwrap());
    assert!(!store.revoke_token(tb.id, T0 + 2).await.unwrap()); // once
    assert_eq!(store.live_token("hb", T0 + 1).await.unwrap(), None);
    assert_eq!(store.tokens(Some(A)).await.unwrap(), vec![ta]);
    let b_tokens = store.tokens(Some(B)).await.unwrap();
    assert_eq!(b_tokens.len(), 1);
    assert_eq!(b_tokens[0].revoked_at, Some(T0 + 1));
    assert!(store.tokens(None).await.unwrap().is_empty());
}

fn pw(s: &str) -> Secret {
    Secret::new(s)
}

pub async fn login_tokens_and_lockout<S: AccessStore + AuditLog + Clone>(store: S) {
    let vault: Arc<dyn Vault> = Arc::new(MasterKey::from_bytes([7; 32]));
    let access = Access::new(store.clone(), store.clone(), vault.clone());
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let cli = Actor::cli("test");
    let password = "correct horse battery";

    let admin = access
        .create_user(
            &cli,
            CreateUser {
                username: "root".into(),
                role: Role::PlatformAdmin,
                tenant: None,
                password: pw(password),
            },
            T0,
            &mut rng,
        )
        .await
        .unwrap();
    let uri = admin.totp_uri.as_ref().unwrap().0.to_string();
    assert!(
        uri.starts_with("otpauth://totp/simforge:root?secret="),
        "{uri}"
    );
    // The TOTP secret is sealed at rest, and unseals to the enrolled one.
    let sealed = admin.user.totp_sealed.clone().unwrap();
    let totp = TotpSecret::from_bytes(&vault.unseal("totp:user/root", &sealed).unwrap());
    assert!(uri.contains(totp.base32().as_str()));
    assert!(!sealed.windows(20).any(|w| w == totp.bytes()));

    let op = access
        .create_user(
            &cli,
            CreateUser {
                username: "olga".into(),
                role: Role::Operator,
                tenant: Some(A),
                password: pw(password),
            },
            T0,
            &mut rng,
        )
        .await
        .unwrap();
    assert!(op.totp_uri.is_none());
    // Roles and tenants must fit; names are unique; weak passwords refused.
    for (name, role, tenant, p) in [
        ("x1", Role::Operator, None, password),
        ("x2", Role::Factory, Some(A), password),
        ("x3", Role::Viewer, Some(B), "short"),
        ("olga", Role::Viewer, Some(B), password),
    ] {
        let r = access
            .create_user(
                &cli,
                CreateUser {
                    username: name.into(),
                    role,
                    tenant,
                    password: pw(p),
                },
                T0,
                &mut rng,
            )
            .await;
        assert!(r.is_err(), "{name}");
    }

    // An operator logs in with its password alone; the session authenticates.
    let src = Some("192.0.2.1");
    let login = access
        .login("olga", &pw(password), None, src, T0, &mut rng)
        .await
        .unwrap();
    let who = access
        .authenticate_session(&login.session, T0 + 10)
        .await
        .unwrap();
    assert_eq!((who.tenant, who.role), (Some(A), Role::Operator));
    // Idle timeout (30 min).
    assert_eq!(
        access
            .authenticate_session(&login.session, T0 + 10 + 1800)
            .await,
        Err(Error::Unauthenticated)
    );

    // The admin needs a TOTP code; a code is not accepted twice.
    let t = T0 + 100;
    let code = format!("{:06}", totp.code_at(t, 6));
    assert_eq!(
        access
            .login("root", &pw(password), None, src, t, &mut rng)
            .await
            .unwrap_err(),
        Error::TotpRequired
    );
    let s1 = access
        .login("root", &pw(password), Some(&code), src, t, &mut rng)
        .await
        .unwrap();
    assert_eq!(
        access
            .login("root", &pw(password), Some(&code), src, t, &mut rng)
            .await
            .unwrap_err(),
        Error::BadCredentials
    );
    let next = format!("{:06}", totp.code_at(t + 30, 6));
    let s2 = access
        .login("root", &pw(password), Some(&next), src, t + 30, &mut rng)
        .await
        .unwrap();
    // Logout everywhere ends both sessions.
    assert_eq!(
        access
            .logout_everywhere(&cli, "root", t + 31)
            .await
            .unwrap(),
        2
    );
    for s in [&s1.session, &s2.session] {
        assert!(access.authenticate_session(s, t + 32).await.is_err());
    }

    // Five wrong passwords lock the account, even against the right one; an admin unlocks.
    let t = T0 + 1000;
    for i in 0..5 {
        assert_eq!(
            access
                .login(
                    "olga",
                    &pw("wrong password!"),
                    None,
                    Some("198.51.100.7"),
                    t + i,
                    &mut rng
                )
                .await
                .unwrap_err(),
            Error::BadCredentials
        );
    }
    assert_eq!(
        access
            .login("olga", &pw(password), None, src, t + 6, &mut rng)
            .await
            .unwrap_err(),
        Error::Locked(t + 4 + 900)
    );
    access.unlock_user(&cli, "olga", t + 7).await.unwrap();
    access
        .login("olga", &pw(password), None, src, t + 8, &mut rng)
        .await
        .unwrap();

    // Twenty failures from one source throttle that source, whatever the account.
    let bad = Some("203.0.113.9");
    for i in 0..20 {
        let _ = access
            .login(
                &format!("nobody{i}"),
                &pw("wrong password!"),
                None,
                bad,
                t + 10,
                &mut rng,
            )
            .await;
    }
    assert!(matches!(
        access
            .login("olga", &pw(password), None, bad, t + 11, &mut rng)
            .await,
        Err(Error::Throttled(_))
    ));

    // API tokens: shown once, stored hashed, refused once revoked or expired.
    let (rec, secret) = access
        .create_token(
            &cli,
            Some(B),
            Role::Viewer,
            "reporting",
            T0 + 5000,
            T0,
            &mut rng,
        )
        .await
        .unwrap();
    assert!(secret.expose().starts_with("sf_"));
    assert_eq!(rec.hash, token_hash(&secret));
    let who = access.authenticate_token(&secret, T0 + 1).await.unwrap();
    assert_eq!((who.tenant, who.role), (Some(B), Role::Viewer));
    assert_eq!(
        access.authenticate_token(&secret, T0 + 5000).await,
        Err(Error::Unauthenticated)
    );
    access.revoke_token(&cli, rec.id, T0 + 2).await.unwrap();
    assert_eq!(
        access.authenticate_token(&secret, T0 + 3).await,
        Err(Error::Unauthenticated)
    );
    assert!(access.revoke_token(&cli, rec.id, T0 + 4).await.is_err());

    // Every login is audited, never with a secret.
    let log = store.entries(&Query::default()).await.unwrap();
    let logins: Vec<_> = log.iter().filter(|e| e.action == action::LOGIN).collect();
    assert!(logins.iter().any(|e| e.outcome == Outcome::Ok));
    assert!(
        logins
            .iter()
            .any(|e| e.outcome == Outcome::Failed("password".into()))
    );
    for kind in [
        action::USER_CREATE,
        action::USER_UNLOCK,
        action::TOKEN_CREATE,
        action::TOKEN_REVOKE,
    ] {
        assert!(log.iter().any(|e| e.action == kind), "{kind}");
    }
    let dump = format!("{log:?}");
    for secret in [
        password,
        "wrong password!",
        secret.expose(),
        totp.base32().as_str(),
    ] {
        assert!(!dump.contains(secret), "a secret in the audit log");
    }
}
