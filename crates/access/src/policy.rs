//! Roles and the policy table: which role may do which [`Action`], in its own tenant or in
//! another's.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A principal's role: two of the platform (the SIM maker), three of a tenant (an operator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The SIM maker's administrators: tenants, users, keys of any tenant.
    PlatformAdmin,
    /// The SIM maker's factory: runs batches, receives the electrical and laser files.
    Factory,
    /// A tenant's administrators: its users, credentials, callbacks, key imports, and all an
    /// [`Role::Operator`] may do.
    OperatorAdmin,
    /// A tenant's staff: orders, batches, inventory actions (release, cancel, reset).
    Operator,
    /// Read only, in its own tenant.
    Viewer,
}

impl Role {
    /// Every role.
    pub const ALL: [Self; 5] = [
        Self::PlatformAdmin,
        Self::Factory,
        Self::OperatorAdmin,
        Self::Operator,
        Self::Viewer,
    ];

    /// The stable name (stored, on the command line, in the API).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PlatformAdmin => "platform-admin",
            Self::Factory => "factory",
            Self::OperatorAdmin => "operator-admin",
            Self::Operator => "operator",
            Self::Viewer => "viewer",
        }
    }

    /// A role of the platform (no tenant), not of a tenant.
    #[must_use]
    pub const fn is_platform(self) -> bool {
        matches!(self, Self::PlatformAdmin | Self::Factory)
    }

    /// An administrator: logs in with a second factor (TOTP) once enrolled.
    #[must_use]
    pub const fn is_admin(self) -> bool {
        matches!(self, Self::PlatformAdmin | Self::OperatorAdmin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| Error::UnknownRole(s.to_owned()))
    }
}

/// What a principal may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Create, change or delete tenants (operators); the platform's own keys (reload).
    ManageTenants,
    /// Create users, unlock them, issue and revoke API tokens.
    ManageUsers,
    /// ES2+ credentials.
    ManageCredentials,
    /// Callback (ES2+ notification) settings.
    ManageCallbacks,
    /// Import transport keys and OP/TOP.
    ImportKeys,
    /// Place and cancel orders.
    ManageOrders,
    /// Generate, resume and release batches.
    RunBatches,
    /// Receive a batch's production files (electrical and laser).
    ReceiveProductionFiles,
    /// Receive a batch's operator files (the `.out` with Ki under the transport key, the
    /// HLR and lab files).
    ReceiveOperatorFiles,
    /// Inventory actions on profiles: release, cancel, reset.
    InventoryAction,
    /// Read anything of the tenant (orders, batches, inventory, audit).
    Read,
}

impl Action {
    /// Every action.
    pub const ALL: [Self; 11] = [
        Self::ManageTenants,
        Self::ManageUsers,
        Self::ManageCredentials,
        Self::ManageCallbacks,
        Self::ImportKeys,
        Self::ManageOrders,
        Self::RunBatches,
        Self::ReceiveProductionFiles,
        Self::ReceiveOperatorFiles,
        Self::InventoryAction,
        Self::Read,
    ];
}

/// The policy: may `role` do `action` on a tenant's resources, its own (`own_tenant`) or
/// another's? Platform roles have no tenant of their own and act on every tenant; tenant
/// roles never act on another tenant.
#[must_use]
pub const fn allowed(role: Role, action: Action, own_tenant: bool) -> bool {
    use Action as A;
    match role {
        Role::PlatformAdmin => true,
        Role::Factory => matches!(action, A::RunBatches | A::ReceiveProductionFiles | A::Read),
        _ if !own_tenant => false,
        Role::OperatorAdmin => !matches!(action, A::ManageTenants | A::ReceiveProductionFiles),
        Role::Operator => matches!(
            action,
            A::ManageOrders
                | A::RunBatches
                | A::ReceiveOperatorFiles
                | A::InventoryAction
                | A::Read
        ),
        Role::Viewer => matches!(action, A::Read),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole table, own tenant and another's: `expect` lists the allowed actions.
    fn check(role: Role, own: bool, expect: &[Action]) {
        for a in Action::ALL {
            assert_eq!(
                allowed(role, a, own),
                expect.contains(&a),
                "{role} {a:?} own={own}"
            );
        }
    }

    #[test]
    fn the_policy_table() {
        use Action as A;
        check(Role::PlatformAdmin, true, &Action::ALL);
        check(Role::PlatformAdmin, false, &Action::ALL);
        let factory = [A::RunBatches, A::ReceiveProductionFiles, A::Read];
        check(Role::Factory, true, &factory);
        check(Role::Factory, false, &factory);
        check(
            Role::OperatorAdmin,
            true,
            &[
                A::ManageUsers,
                A::ManageCredentials,
                A::ManageCallbacks,
                A::ImportKeys,
                A::ManageOrders,
                A::RunBatches,
                A::ReceiveOperatorFiles,
                A::InventoryAction,
                A::Read,
            ],
        );
        check(
            Role::Operator,
            true,
            &[
                A::ManageOrders,
                A::RunBatches,
                A::ReceiveOperatorFiles,
                A::InventoryAction,
                A::Read,
            ],
        );
        check(Role::Viewer, true, &[A::Read]);
        for r in [Role::OperatorAdmin, Role::Operator, Role::Viewer] {
            check(r, false, &[]);
        }
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().ok(), Some(r));
        }
        assert!("root".parse::<Role>().is_err());
        assert!(Role::Factory.is_platform() && !Role::Viewer.is_platform());
        assert!(Role::OperatorAdmin.is_admin() && !Role::Factory.is_admin());
    }
}
