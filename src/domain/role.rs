use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

use super::FieldError;

/// What a user may do. Roles are bundles of permissions; guards check
/// permissions, so adding a role never means auditing every call site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Browse the catalog, download artifacts.
    Read,
    /// Register models and versions, upload, request promotions.
    Contribute,
    /// Sign off (or refuse) promotions.
    Approve,
    /// Read the audit trail and export compliance reports.
    ReadAudit,
    /// Report what a deployment serves (pipelines, with a `deploy` token).
    Deploy,
    /// Manage users, roles, tokens of others, settings.
    Administer,
}

/// A user's role: a bundle of permissions, from `viewer` (read only) to `admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Contributor,
    Approver,
    Auditor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Viewer,
        Role::Contributor,
        Role::Approver,
        Role::Auditor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Contributor => "contributor",
            Role::Approver => "approver",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// The permission table. Approvers can also contribute; auditors read
    /// everything plus the audit trail but change nothing; admins do all.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Viewer => matches!(permission, Read),
            Role::Contributor => matches!(permission, Read | Contribute | Deploy),
            Role::Approver => matches!(permission, Read | Contribute | Deploy | Approve),
            Role::Auditor => matches!(permission, Read | ReadAudit),
            Role::Admin => true,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s.trim())
            .ok_or_else(|| {
                FieldError::new(
                    "role",
                    "must be one of viewer, contributor, approver, auditor, admin",
                )
            })
    }
}

/// What an API token may do, chosen when it is made; never more than its
/// owner's role. Each scope includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Read the catalog (and, for auditors, the audit trail); CI/CD lookups.
    Read,
    /// Read, plus report deployments.
    Deploy,
    /// Deploy, plus change the catalog and take part in the workflow.
    Write,
    /// Everything the owner's role allows, user and token administration
    /// included, except password resets (those need a signed-in session).
    Admin,
}

impl TokenScope {
    pub const ALL: [TokenScope; 4] = [
        TokenScope::Read,
        TokenScope::Deploy,
        TokenScope::Write,
        TokenScope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Deploy => "deploy",
            TokenScope::Write => "write",
            TokenScope::Admin => "admin",
        }
    }

    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        let needed = match permission {
            Read | ReadAudit => TokenScope::Read,
            Deploy => TokenScope::Deploy,
            Contribute | Approve => TokenScope::Write,
            Administer => TokenScope::Admin,
        };
        self >= needed
    }
}

impl fmt::Display for TokenScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for TokenScope {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl FromStr for TokenScope {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TokenScope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s.trim())
            .ok_or_else(|| FieldError::new("scope", "must be one of read, deploy, write, admin"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    #[test]
    fn permission_table_is_exactly_as_documented() {
        let table = [
            (Role::Viewer, [true, false, false, false, false, false]),
            (Role::Contributor, [true, true, false, false, false, true]),
            (Role::Approver, [true, true, true, false, false, true]),
            (Role::Auditor, [true, false, false, true, false, false]),
            (Role::Admin, [true, true, true, true, true, true]),
        ];
        for (role, expected) in table {
            let actual =
                [Read, Contribute, Approve, ReadAudit, Administer, Deploy].map(|p| role.allows(p));
            assert_eq!(actual, expected, "{role}");
        }
    }

    #[test]
    fn scope_table_is_exactly_as_documented() {
        let table = [
            (TokenScope::Read, [true, false, false, true, false, false]),
            (TokenScope::Deploy, [true, false, false, true, false, true]),
            (TokenScope::Write, [true, true, true, true, false, true]),
            (TokenScope::Admin, [true, true, true, true, true, true]),
        ];
        for (scope, expected) in table {
            let actual =
                [Read, Contribute, Approve, ReadAudit, Administer, Deploy].map(|p| scope.allows(p));
            assert_eq!(actual, expected, "{scope}");
            assert_eq!(scope.as_str().parse::<TokenScope>(), Ok(scope));
        }
        for bad in ["", "root", "Read", "all"] {
            assert_eq!(bad.parse::<TokenScope>().unwrap_err().field, "scope");
        }
    }

    #[test]
    fn roles_round_trip_through_text() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(
                serde_json::to_string(&role).unwrap(),
                format!("\"{}\"", role.as_str())
            );
        }
    }

    #[test]
    fn unknown_roles_are_refused_naming_the_field() {
        for bad in ["", "root", "Admin", "admin;", "viewer viewer"] {
            let err = bad.parse::<Role>().unwrap_err();
            assert_eq!(err.field, "role", "{bad:?}");
        }
    }
}
