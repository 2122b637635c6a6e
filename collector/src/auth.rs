//! Who is calling and what they may do: users, roles per tenant, sessions and
//! API tokens, and the one guard every API and console handler goes through.
//!
//! Nothing here touches the database. The store resolves a credential into a
//! [`Principal`] (its user, how it authenticated, and its effective grants,
//! already narrowed by an API token's scope); handlers then ask the principal
//! for a tenant with [`Principal::tenant`], which is the only way to obtain a
//! [`TenantAccess`]. Every store function that reads or writes a tenant's data
//! takes a `&TenantAccess`, so a handler cannot reach another tenant's rows by
//! putting its name in a path: the type system carries the access decision.
//!
//! Roles (admin is global, the others are granted per tenant):
//!
//! | role     | may                                                                 |
//! |----------|---------------------------------------------------------------------|
//! | admin    | everything, on every tenant; users, grants, tenants                 |
//! | operator | read; agents, enrollment tokens, integrations, control/policy edits, manual mappings, requirement assessments |
//! | auditor  | read within its frameworks and observation window until its expiry; evidence review decisions |
//! | viewer   | read                                                                |

pub mod password;
pub mod secret;

use serde::{Deserialize, Serialize};

/// A role, as granted to a user on a tenant (admin: on all tenants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, on every tenant.
    Admin,
    /// Runs a tenant's estate: agents, tokens, integrations, edits.
    Operator,
    /// Reviews evidence within a framework scope and a time window.
    Auditor,
    /// Reads.
    Viewer,
}

impl Role {
    /// The name stored in the database and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::Auditor => "auditor",
            Self::Viewer => "viewer",
        }
    }

    /// Parse a stored or requested role name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "operator" => Some(Self::Operator),
            "auditor" => Some(Self::Auditor),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }

    /// Whether `self` includes everything `other` may do. Admin covers all;
    /// operator and auditor each cover viewer and not each other (an
    /// auditor's review power is not an operator's, and the reverse).
    pub fn covers(self, other: Role) -> bool {
        self == other || self == Self::Admin || other == Self::Viewer
    }

    /// The most a credential may do when one side allows `self` and the
    /// other `other`: the greatest role both cover.
    pub fn meet(self, other: Role) -> Role {
        if self.covers(other) {
            other
        } else if other.covers(self) {
            self
        } else {
            Self::Viewer
        }
    }
}

/// What a handler needs on a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Read posture, findings, assets, evidence (auditors within their scope).
    Read,
    /// See enrolment tokens and other operational secrets' metadata.
    ReadOperational,
    /// Change the tenant's estate or hand-edited compliance state.
    Operate,
    /// Decide evidence: approve, reject, flag.
    Review,
    /// Read the tenant's audit trail (operators).
    ReadAudit,
}

impl Need {
    /// Whether `role` may do this (the console hides what it may not).
    pub fn allows(self, role: Role) -> bool {
        match self {
            Self::Read => true,
            Self::ReadOperational | Self::Operate => matches!(role, Role::Admin | Role::Operator),
            Self::Review => matches!(role, Role::Admin | Role::Auditor),
            // Auditors are bounded to frameworks and a window; the trail is
            // neither (assessments of other frameworks, token metadata).
            Self::ReadAudit => matches!(role, Role::Admin | Role::Operator),
        }
    }
}

/// An auditor grant's bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditorScope {
    /// Framework ids the auditor may see.
    pub frameworks: Vec<String>,
    /// Start of the observation window (Unix ms).
    pub from: i64,
    /// End of the observation window (Unix ms).
    pub to: i64,
    /// When the access ends (Unix ms).
    pub expires_at: i64,
}

impl AuditorScope {
    /// Whether `framework_id` is within the scope.
    pub fn allows_framework(&self, framework_id: &str) -> bool {
        self.frameworks.iter().any(|f| f == framework_id)
    }
}

/// A grant as stored: a user's role on one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Tenant row id.
    pub tenant_id: i64,
    /// Tenant name.
    pub tenant: String,
    /// Role on the tenant.
    pub role: Role,
    /// Bounds, for auditors.
    pub auditor: Option<AuditorScope>,
}

/// How a principal authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A console session (cookie); state changes need its CSRF token.
    Session {
        /// Session row id.
        session_id: i64,
        /// The CSRF token state changes must carry (derived from the
        /// session secret, see `auth::secret::csrf_token`).
        csrf: String,
    },
    /// An API token (`Authorization: Bearer`).
    Token {
        /// Token row id.
        token_id: i64,
        /// The token's role cap.
        role: Role,
        /// When the token expires (Unix ms): tokens it mints may not outlive it.
        expires_at: i64,
    },
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// User row id (tokens act for their owner).
    pub user_id: i64,
    /// The user's e-mail address.
    pub email: String,
    /// Global admin, after the token's cap.
    pub admin: bool,
    /// Session or token.
    pub via: Via,
    grants: Vec<Grant>,
}

/// Why the guard said no.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The tenant does not exist or the caller has no grant on it (the two
    /// are not told apart, so tenant names cannot be probed).
    #[error("no such tenant")]
    UnknownTenant,
    /// The caller may see the tenant but not do this.
    #[error("your role on this tenant does not allow this")]
    Role,
    /// Only administrators may do this.
    #[error("only administrators may do this")]
    AdminOnly,
}

impl Principal {
    /// A principal from the user's stored state and credential.
    ///
    /// `grants` are the user's grants; expired auditor grants are dropped,
    /// and for tokens every grant is narrowed to the token's role and
    /// tenants (`token_tenants`: `None` for all of the user's). An admin
    /// user's token keeps admin only if its own role is admin and it is not
    /// limited to some tenants (admin reaches every tenant, so a tenant list
    /// could not be honoured). An auditor grant keeps its bounds under any
    /// cap: a viewer token of an auditor is still bounded.
    pub fn new(
        user_id: i64,
        email: String,
        user_admin: bool,
        via: Via,
        grants: Vec<Grant>,
        token_tenants: Option<&[i64]>,
        now: i64,
    ) -> Self {
        let cap = match &via {
            Via::Session { .. } => None,
            Via::Token { role, .. } => Some(*role),
        };
        let admin = user_admin && cap.is_none_or(|r| r == Role::Admin) && token_tenants.is_none();
        let grants = grants
            .into_iter()
            .filter(|g| g.auditor.as_ref().is_none_or(|a| a.expires_at > now))
            .filter(|g| token_tenants.is_none_or(|t| t.contains(&g.tenant_id)))
            .map(|mut g| {
                if let Some(cap) = cap {
                    // The scope stays with the grant whatever the cap: it
                    // bounds what is read, not what is done.
                    g.role = g.role.meet(cap);
                }
                g
            })
            .collect();
        Self {
            user_id,
            email,
            admin,
            via,
            grants,
        }
    }

    /// The caller's effective grants.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// Whether this principal authenticated with a session cookie.
    pub fn is_session(&self) -> bool {
        matches!(self.via, Via::Session { .. })
    }

    /// Admin-only operations.
    pub fn require_admin(&self) -> Result<(), Denied> {
        if self.admin {
            Ok(())
        } else {
            Err(Denied::AdminOnly)
        }
    }

    /// Whether the caller holds only auditor grants (and is no admin):
    /// auditors never see API or enrolment tokens.
    pub fn auditor_only(&self) -> bool {
        !self.admin
            && !self.grants.is_empty()
            && self
                .grants
                .iter()
                .all(|g| g.role == Role::Auditor || g.auditor.is_some())
    }

    /// The caller's access to tenant `name` for `need`, or why not.
    /// `lookup` resolves a tenant name to its id for admins (who hold no
    /// grants); it is called only for them.
    pub fn tenant(
        &self,
        name: &str,
        need: Need,
        lookup: impl FnOnce(&str) -> Option<i64>,
    ) -> Result<TenantAccess, Denied> {
        if self.admin {
            let id = lookup(name).ok_or(Denied::UnknownTenant)?;
            return Ok(TenantAccess {
                id,
                name: name.to_string(),
                role: Role::Admin,
                auditor: None,
            });
        }
        let grant = self
            .grants
            .iter()
            .find(|g| g.tenant == name)
            .ok_or(Denied::UnknownTenant)?;
        if !need.allows(grant.role) {
            return Err(Denied::Role);
        }
        Ok(TenantAccess {
            id: grant.tenant_id,
            name: grant.tenant.clone(),
            role: grant.role,
            auditor: grant.auditor.clone(),
        })
    }
}

/// Proof that the caller may act on one tenant, with the bounds that apply.
/// Only [`Principal::tenant`] makes one; the store's tenant functions take it.
#[derive(Debug, Clone)]
pub struct TenantAccess {
    id: i64,
    name: String,
    role: Role,
    auditor: Option<AuditorScope>,
}

impl TenantAccess {
    /// Tenant row id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Tenant name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The caller's role on the tenant.
    pub fn role(&self) -> Role {
        self.role
    }

    /// An auditor's bounds (`None` for every other role).
    pub fn auditor(&self) -> Option<&AuditorScope> {
        self.auditor.as_ref()
    }

    /// Whether `framework_id` may be shown.
    pub fn allows_framework(&self, framework_id: &str) -> bool {
        self.auditor
            .as_ref()
            .is_none_or(|a| a.allows_framework(framework_id))
    }

    /// The observation window `(from, to)` in Unix ms that reads are limited
    /// to (`i64::MIN..i64::MAX` for everyone but auditors).
    pub fn window(&self) -> (i64, i64) {
        self.auditor
            .as_ref()
            .map_or((i64::MIN, i64::MAX), |a| (a.from, a.to))
    }

    /// Access for work the system does on a tenant's behalf (the CLI on the
    /// collector host, which has the database anyway).
    pub fn system(id: i64, name: &str) -> Self {
        Self {
            id,
            name: name.to_string(),
            role: Role::Admin,
            auditor: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(tenant_id: i64, tenant: &str, role: Role) -> Grant {
        Grant {
            tenant_id,
            tenant: tenant.into(),
            role,
            auditor: (role == Role::Auditor).then(|| AuditorScope {
                frameworks: vec!["soc2".into()],
                from: 0,
                to: 100,
                expires_at: 1_000,
            }),
        }
    }

    fn session() -> Via {
        Via::Session {
            session_id: 1,
            csrf: String::new(),
        }
    }

    #[test]
    fn roles_meet_and_cover() {
        use Role::*;
        assert!(Admin.covers(Operator) && Operator.covers(Viewer) && Auditor.covers(Viewer));
        assert!(!Operator.covers(Auditor) && !Auditor.covers(Operator));
        assert_eq!(Operator.meet(Auditor), Viewer);
        assert_eq!(Admin.meet(Auditor), Auditor);
        assert_eq!(Viewer.meet(Admin), Viewer);
        for r in [Admin, Operator, Auditor, Viewer] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn the_guard_checks_role_and_tenant() {
        let p = Principal::new(
            1,
            "a@x".into(),
            false,
            session(),
            vec![
                grant(1, "acme", Role::Viewer),
                grant(2, "beta", Role::Operator),
            ],
            None,
            0,
        );
        let none = |_: &str| -> Option<i64> { panic!("only admins look tenants up") };
        assert!(p.tenant("acme", Need::Read, none).is_ok());
        assert_eq!(
            p.tenant("acme", Need::Operate, none).unwrap_err(),
            Denied::Role
        );
        assert_eq!(p.tenant("beta", Need::Operate, none).unwrap().id(), 2);
        assert_eq!(
            p.tenant("gamma", Need::Read, none).unwrap_err(),
            Denied::UnknownTenant
        );
        assert_eq!(p.require_admin(), Err(Denied::AdminOnly));
    }

    #[test]
    fn tokens_narrow_grants_and_expired_auditors_lose_access() {
        let grants = vec![
            grant(1, "acme", Role::Operator),
            grant(2, "beta", Role::Auditor),
            grant(3, "gamma", Role::Operator),
        ];
        let token = Via::Token {
            token_id: 9,
            role: Role::Viewer,
            expires_at: i64::MAX,
        };
        let p = Principal::new(
            1,
            "a@x".into(),
            true,
            token,
            grants.clone(),
            Some(&[1, 2]),
            0,
        );
        assert!(!p.admin, "a viewer token of an admin is no admin");
        let roles: Vec<_> = p.grants().iter().map(|g| (g.tenant_id, g.role)).collect();
        assert_eq!(roles, vec![(1, Role::Viewer), (2, Role::Viewer)]);
        assert!(
            p.grants()[1].auditor.is_some(),
            "a viewer token of an auditor keeps the auditor's bounds"
        );
        let t = p.tenant("beta", Need::Read, |_| None).unwrap();
        assert!(!t.allows_framework("pci_dss_4.0.1"));
        let unlimited = Via::Token {
            token_id: 9,
            role: Role::Admin,
            expires_at: i64::MAX,
        };
        let limited = Principal::new(
            1,
            "a@x".into(),
            true,
            unlimited.clone(),
            vec![],
            Some(&[1]),
            0,
        );
        assert!(!limited.admin, "a tenant-limited token is no admin");
        assert!(Principal::new(1, "a@x".into(), true, unlimited, vec![], None, 0).admin);
        let later = Principal::new(1, "a@x".into(), false, session(), grants, None, 5_000);
        let tenants: Vec<_> = later.grants().iter().map(|g| g.tenant_id).collect();
        assert_eq!(tenants, vec![1, 3], "the expired auditor grant is gone");
    }

    #[test]
    fn auditors_are_bounded() {
        let p = Principal::new(
            1,
            "a@x".into(),
            false,
            session(),
            vec![grant(2, "beta", Role::Auditor)],
            None,
            0,
        );
        let none = |_: &str| None;
        let t = p.tenant("beta", Need::Review, none).unwrap();
        assert!(t.allows_framework("soc2") && !t.allows_framework("pci_dss_4.0.1"));
        assert_eq!(t.window(), (0, 100));
        assert_eq!(
            p.tenant("beta", Need::ReadOperational, none).unwrap_err(),
            Denied::Role
        );
        assert!(p.auditor_only());
    }
}
