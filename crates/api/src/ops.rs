//! The API's workflows as calls, for the other front door beside it (the operator console,
//! `simforge_console`): each is what one API handler does once [`crate::auth`] has let the
//! call through, so both doors run the same code, the same checks (tenant ids, 404 across
//! tenants) and the same service calls. The caller checks the route's policy first
//! ([`crate::auth::check`] with the [`crate::policy::ROUTES`] row it stands for) and records
//! state-changing calls ([`crate::auth::record`]).

/// What [`activity_of`] answers.
pub use simforge_smdp::{Activity, HourActivity};

pub use crate::batches::{
    BatchOut, FileOut, JobOut, OrderIn, PlanOut, batches_of, check_order, files, job, jobs_of,
    start,
};
pub use crate::inventory::{
    ActivityQuery, CodeRow, CodesPage, CodesQuery, ConfirmOrderIn, DownloadOrderIn, HistoryOut,
    ImportIn, Imported, ProfileDetail, ProfileOut, RELEASE_MAX, ReleaseManyIn, ReleasedOut,
    SearchOut, SearchQuery, SummaryOut, activity_of, cancel, code, codes_as, codes_csv, codes_in,
    codes_of, codes_zip, confirm, detail, import_batch_in, order, release, release_many, reset_to,
    search_in, summary_of,
};
pub use crate::platform_keys::{KeysReloaded, reload_keys_in};
pub use crate::session::{
    Me, SessionInfo, TotpBegun, TotpEnrollIn, change_password_of,
    cleared_cookie as cleared_session_cookie, end as end_session, end_everywhere, me_of,
    start as start_session, totp_begin, totp_enroll,
};
pub use crate::tenants::{
    AuditEntryOut, AuditQuery, CallbackIn, CallbackOut, ClientCertIn, ClientCertOut,
    CredentialCreated, CredentialOut, KeyOut, NewKeyIn, NewTenant, NewTokenIn, NewUserIn, QuotasIo,
    TenantOut, TokenCreated, TokenOut, UserCreated, UserOut, audit_entries, audit_verify,
    audit_verify_after, callback_of, create_api_key, create_tenant_in, create_token_in,
    create_user_in, credentials_of, import_key_in, keys_of, quotas_of, register_client_cert_in,
    requeue_smds_event_in, revoke_credential_in, revoke_token_in, set_callback_in, set_quotas_in,
    tokens_of, unlock_in, users_of,
};
