//! Every route and what it needs. [`crate::auth::authorize`] looks each request's route up
//! here before its handler runs: a route missing from this table answers 500 to everyone (and
//! the role × route test fails), so no route can be reached without a policy.

use simforge_access::Action;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone (the login, the OpenAPI document).
    Public,
    /// Any principal, acting on themselves.
    Authenticated,
    /// A platform role allowed this action (tenant roles: 403).
    Platform(Action),
    /// The action on the tenant named in the path (`{tenant}`): another tenant's principal
    /// gets 404.
    Tenant(Action),
}

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The HTTP method.
    pub method: &'static str,
    /// The path template, as routed.
    pub path: &'static str,
    /// What it needs.
    pub need: Need,
}

const fn r(method: &'static str, path: &'static str, need: Need) -> Route {
    Route { method, path, need }
}

use Action as A;
use Need::{Authenticated, Platform, Public, Tenant};

/// The table.
pub const ROUTES: &[Route] = &[
    r("GET", "/api/v1/openapi.json", Public),
    r("GET", "/healthz", Public),
    r("GET", "/readyz", Public),
    r("POST", "/api/v1/session", Public),
    r("DELETE", "/api/v1/session", Authenticated),
    r("GET", "/api/v1/me", Authenticated),
    r("POST", "/api/v1/me/logout-everywhere", Authenticated),
    r("POST", "/api/v1/me/password", Authenticated),
    r("POST", "/api/v1/me/totp", Authenticated),
    r("PUT", "/api/v1/me/totp", Authenticated),
    r("GET", "/api/v1/tenants", Platform(A::Read)),
    r("POST", "/api/v1/tenants", Platform(A::ManageTenants)),
    r("GET", "/api/v1/audit", Platform(A::Read)),
    r(
        "POST",
        "/api/v1/platform/keys/reload",
        Platform(A::ManageTenants),
    ),
    r("GET", "/api/v1/users", Platform(A::ManageUsers)),
    r("POST", "/api/v1/users", Platform(A::ManageUsers)),
    r(
        "POST",
        "/api/v1/users/{username}/unlock",
        Platform(A::ManageUsers),
    ),
    r("GET", "/api/v1/tokens", Platform(A::ManageUsers)),
    r("POST", "/api/v1/tokens", Platform(A::ManageUsers)),
    r("DELETE", "/api/v1/tokens/{id}", Platform(A::ManageUsers)),
    r("GET", "/api/v1/tenants/{tenant}", Tenant(A::Read)),
    r(
        "GET",
        "/api/v1/tenants/{tenant}/users",
        Tenant(A::ManageUsers),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/users",
        Tenant(A::ManageUsers),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/users/{username}/unlock",
        Tenant(A::ManageUsers),
    ),
    r(
        "GET",
        "/api/v1/tenants/{tenant}/tokens",
        Tenant(A::ManageUsers),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/tokens",
        Tenant(A::ManageUsers),
    ),
    r(
        "DELETE",
        "/api/v1/tenants/{tenant}/tokens/{id}",
        Tenant(A::ManageUsers),
    ),
    r("GET", "/api/v1/tenants/{tenant}/keys", Tenant(A::Read)),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/keys",
        Tenant(A::ImportKeys),
    ),
    r(
        "GET",
        "/api/v1/tenants/{tenant}/credentials",
        Tenant(A::ManageCredentials),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/credentials",
        Tenant(A::ManageCredentials),
    ),
    r(
        "DELETE",
        "/api/v1/tenants/{tenant}/credentials/{id}",
        Tenant(A::ManageCredentials),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/credentials/client-certs",
        Tenant(A::ManageCredentials),
    ),
    r("GET", "/api/v1/tenants/{tenant}/callback", Tenant(A::Read)),
    r(
        "GET",
        "/api/v1/tenants/{tenant}/smds-events",
        Tenant(A::Read),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/smds-events/{id}/requeue",
        Tenant(A::ManageOrders),
    ),
    r(
        "PUT",
        "/api/v1/tenants/{tenant}/callback",
        Tenant(A::ManageCallbacks),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/inventory/packages",
        Tenant(A::InventoryAction),
    ),
    r("GET", "/api/v1/tenants/{tenant}/audit", Tenant(A::Read)),
    r("GET", "/api/v1/tenants/{tenant}/quotas", Tenant(A::Read)),
    r(
        "PUT",
        "/api/v1/tenants/{tenant}/quotas",
        Tenant(A::ManageTenants),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/orders/validate",
        Tenant(A::RunBatches),
    ),
    r("GET", "/api/v1/tenants/{tenant}/batches", Tenant(A::Read)),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/batches",
        Tenant(A::RunBatches),
    ),
    r("GET", "/api/v1/tenants/{tenant}/jobs/{id}", Tenant(A::Read)),
    r(
        "GET",
        "/api/v1/tenants/{tenant}/jobs/{id}/events",
        Tenant(A::Read),
    ),
    r(
        "GET",
        "/api/v1/tenants/{tenant}/batches/{id}",
        Tenant(A::Read),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/batches/{id}/release",
        Tenant(A::RunBatches),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/batches/{id}/resume",
        Tenant(A::RunBatches),
    ),
    r(
        "GET",
        "/api/v1/tenants/{tenant}/batches/{id}/files",
        Tenant(A::Read),
    ),
    // Which files: per file, ReceiveOperatorFiles or ReceiveProductionFiles (in the handler).
    r(
        "GET",
        "/api/v1/tenants/{tenant}/batches/{id}/files/{name}",
        Tenant(A::Read),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/inventory/import",
        Tenant(A::InventoryAction),
    ),
    r("GET", "/api/v1/tenants/{tenant}/profiles", Tenant(A::Read)),
    r(
        "GET",
        "/api/v1/tenants/{tenant}/profiles/{iccid}",
        Tenant(A::Read),
    ),
    r(
        "GET",
        "/api/v1/tenants/{tenant}/profiles/{iccid}/history",
        Tenant(A::Read),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/profiles/{iccid}/reset",
        Tenant(A::InventoryAction),
    ),
    r(
        "GET",
        "/api/v1/tenants/{tenant}/profiles/{iccid}/activation-code",
        Tenant(A::InventoryAction),
    ),
    r("GET", "/api/v1/tenants/{tenant}/summary", Tenant(A::Read)),
    r("GET", "/api/v1/tenants/{tenant}/activity", Tenant(A::Read)),
    r(
        "GET",
        "/api/v1/tenants/{tenant}/activation-codes",
        Tenant(A::InventoryAction),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/releases",
        Tenant(A::InventoryAction),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/profiles/{iccid}/download-order",
        Tenant(A::InventoryAction),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/profiles/{iccid}/confirm-order",
        Tenant(A::InventoryAction),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/profiles/{iccid}/release",
        Tenant(A::InventoryAction),
    ),
    r(
        "POST",
        "/api/v1/tenants/{tenant}/profiles/{iccid}/cancel-order",
        Tenant(A::InventoryAction),
    ),
];

/// The route of `method` and `path` (a template).
#[must_use]
pub fn find(method: &str, path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}
