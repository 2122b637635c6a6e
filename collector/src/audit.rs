//! The audit log's vocabulary and its hash chain.
//!
//! Every state change appends one row in the transaction that makes it (the
//! store does the writing, see `store::audit`). Rows form one chain: each
//! carries the SHA-256 of the previous row, and its own hash covers every
//! field, so editing, removing or reordering a row breaks the chain at that
//! row. The database refuses UPDATE and DELETE on the table (triggers); the
//! chain is what catches someone who drops the triggers first.
//!
//! ```text
//! hash(row) = SHA-256( JSON array [seq, at, actor_type, actor_id, actor_name,
//!                     action, object_type, object_id, tenant_id, before_json,
//!                     after_json, request_id, source, user_agent, prev_hash] )
//! prev_hash(row 1) = 64 × "0";  prev_hash(row n) = hash(row n-1)
//! ```
//! (`before_json`/`after_json` enter as the stored strings; absent values as
//! JSON `null`.)

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened. Stored as its dotted name (`as_str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Action {
    /// A user account was created.
    UserCreated,
    /// A user was disabled (sessions and tokens stop working).
    UserDisabled,
    /// A disabled user was enabled again.
    UserEnabled,
    /// A user's password was set by an administrator.
    PasswordReset,
    /// A grant was created or changed.
    GrantSet,
    /// A grant was removed.
    GrantRemoved,
    /// A tenant was created.
    TenantCreated,
    /// An API token was created.
    ApiTokenCreated,
    /// An API token was revoked.
    ApiTokenRevoked,
    /// An enrollment token was created.
    EnrollmentTokenCreated,
    /// An enrollment token was revoked.
    EnrollmentTokenRevoked,
    /// An agent enrolled.
    AgentEnrolled,
    /// An agent was revoked.
    AgentRevoked,
    /// An integration's settings changed.
    IntegrationUpdated,
    /// An applied control's hand-edited fields changed.
    ControlUpdated,
    /// A policy's status or fields changed.
    PolicyUpdated,
    /// A manual control → requirement mapping was added.
    MappingAdded,
    /// A manual control → requirement mapping was removed.
    MappingRemoved,
    /// A requirement assessment was created or changed.
    AssessmentUpdated,
    /// An evidence record was approved, rejected, flagged or reopened.
    EvidenceReviewed,
    /// Someone signed in.
    LoginSucceeded,
    /// A sign-in failed (wrong password, unknown or disabled account, throttled).
    LoginFailed,
    /// Someone signed out.
    Logout,
}

impl Action {
    /// Every action, for documentation and filters.
    pub const ALL: &'static [Action] = &[
        Self::UserCreated,
        Self::UserDisabled,
        Self::UserEnabled,
        Self::PasswordReset,
        Self::GrantSet,
        Self::GrantRemoved,
        Self::TenantCreated,
        Self::ApiTokenCreated,
        Self::ApiTokenRevoked,
        Self::EnrollmentTokenCreated,
        Self::EnrollmentTokenRevoked,
        Self::AgentEnrolled,
        Self::AgentRevoked,
        Self::IntegrationUpdated,
        Self::ControlUpdated,
        Self::PolicyUpdated,
        Self::MappingAdded,
        Self::MappingRemoved,
        Self::AssessmentUpdated,
        Self::EvidenceReviewed,
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::Logout,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserCreated => "user.create",
            Self::UserDisabled => "user.disable",
            Self::UserEnabled => "user.enable",
            Self::PasswordReset => "user.reset_password",
            Self::GrantSet => "grant.set",
            Self::GrantRemoved => "grant.remove",
            Self::TenantCreated => "tenant.create",
            Self::ApiTokenCreated => "api_token.create",
            Self::ApiTokenRevoked => "api_token.revoke",
            Self::EnrollmentTokenCreated => "enrollment_token.create",
            Self::EnrollmentTokenRevoked => "enrollment_token.revoke",
            Self::AgentEnrolled => "agent.enroll",
            Self::AgentRevoked => "agent.revoke",
            Self::IntegrationUpdated => "integration.update",
            Self::ControlUpdated => "control.update",
            Self::PolicyUpdated => "policy.update",
            Self::MappingAdded => "mapping.add",
            Self::MappingRemoved => "mapping.remove",
            Self::AssessmentUpdated => "assessment.update",
            Self::EvidenceReviewed => "evidence.review",
            Self::LoginSucceeded => "auth.login",
            Self::LoginFailed => "auth.login_failed",
            Self::Logout => "auth.logout",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.as_str() == s)
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user.
    User {
        /// User id.
        id: i64,
        /// E-mail address.
        email: String,
    },
    /// An API token acting for its owner.
    Token {
        /// Token id.
        id: i64,
        /// The owner's e-mail address.
        email: String,
    },
    /// An agent (enrollment).
    Agent {
        /// Agent id.
        id: String,
    },
    /// The collector host's CLI.
    System,
    /// Nobody authenticated (failed logins).
    Anonymous,
}

impl Actor {
    /// (type, id, name) as stored.
    pub fn columns(&self) -> (&'static str, Option<String>, Option<String>) {
        match self {
            Self::User { id, email } => ("user", Some(id.to_string()), Some(email.clone())),
            Self::Token { id, email } => ("token", Some(id.to_string()), Some(email.clone())),
            Self::Agent { id } => ("agent", Some(id.clone()), None),
            Self::System => ("system", None, None),
            Self::Anonymous => ("anonymous", None, None),
        }
    }
}

/// The request a change came with: who, from where, under which request id.
#[derive(Debug, Clone)]
pub struct Context {
    /// Who.
    pub actor: Actor,
    /// The request id (also in the response's `x-request-id`).
    pub request_id: Option<String>,
    /// Source address.
    pub source: Option<String>,
    /// User agent (truncated).
    pub user_agent: Option<String>,
    /// When (Unix ms).
    pub at: i64,
}

impl Context {
    /// A change made from the collector host's CLI.
    pub fn system(at: i64) -> Self {
        Self {
            actor: Actor::System,
            request_id: None,
            source: Some("cli".into()),
            user_agent: None,
            at,
        }
    }
}

/// One change, as the code that makes it describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What happened.
    pub action: Action,
    /// Kind of object (`user`, `grant`, `applied_control`, …).
    pub object_type: &'static str,
    /// The object's id.
    pub object_id: Option<String>,
    /// The tenant it belongs to.
    pub tenant_id: Option<i64>,
    /// State before (JSON), for edits and removals.
    pub before: Option<serde_json::Value>,
    /// State after (JSON), for creations and edits.
    pub after: Option<serde_json::Value>,
}

impl Event {
    /// An event on `object_type` `object_id`.
    pub fn new(action: Action, object_type: &'static str, object_id: impl ToString) -> Self {
        Self {
            action,
            object_type,
            object_id: Some(object_id.to_string()),
            tenant_id: None,
            before: None,
            after: None,
        }
    }

    /// In tenant `id`.
    pub fn tenant(mut self, id: i64) -> Self {
        self.tenant_id = Some(id);
        self
    }

    /// With the state before.
    pub fn before(mut self, v: impl Serialize) -> Self {
        self.before = serde_json::to_value(v).ok();
        self
    }

    /// With the state after.
    pub fn after(mut self, v: impl Serialize) -> Self {
        self.after = serde_json::to_value(v).ok();
        self
    }
}

/// A stored row, as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Row {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When (Unix ms).
    pub at: i64,
    /// user | token | agent | system | anonymous.
    pub actor_type: String,
    /// The actor's id.
    pub actor_id: Option<String>,
    /// The actor's name (e-mail address).
    pub actor_name: Option<String>,
    /// Dotted action name.
    pub action: String,
    /// Kind of object.
    pub object_type: String,
    /// Object id.
    pub object_id: Option<String>,
    /// Tenant id.
    pub tenant_id: Option<i64>,
    /// State before, JSON text.
    pub before_json: Option<String>,
    /// State after, JSON text.
    pub after_json: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Source address.
    pub source: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Hash of the previous row.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

impl Row {
    /// The hash this row must carry (see the module docs).
    pub fn expected_hash(&self) -> String {
        let canonical = serde_json::json!([
            self.seq,
            self.at,
            self.actor_type,
            self.actor_id,
            self.actor_name,
            self.action,
            self.object_type,
            self.object_id,
            self.tenant_id,
            self.before_json,
            self.after_json,
            self.request_id,
            self.source,
            self.user_agent,
            self.prev_hash,
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    /// A row's hash does not cover its contents: it was edited.
    #[error("row {seq}: its contents do not match its hash (edited)")]
    Hash {
        /// The row.
        seq: i64,
    },
    /// A row does not point at its predecessor: rows were removed, inserted
    /// or reordered before it.
    #[error("row {seq}: it does not follow row {expected_seq} (rows removed or inserted)")]
    Link {
        /// The row.
        seq: i64,
        /// The sequence number it should have had.
        expected_seq: i64,
    },
    /// The chain head disagrees with the last row: rows were removed at the end.
    #[error("the chain head names row {head_seq} but the log ends at row {last_seq}")]
    Head {
        /// Sequence number in the head.
        head_seq: i64,
        /// Last row present.
        last_seq: i64,
    },
}

/// Checks rows in order, one at a time, so a chain of any length verifies
/// in constant memory.
#[derive(Debug)]
pub struct Verifier {
    next_seq: i64,
    prev_hash: String,
}

impl Default for Verifier {
    fn default() -> Self {
        Self {
            next_seq: 1,
            prev_hash: GENESIS.to_string(),
        }
    }
}

impl Verifier {
    /// Check the next row.
    pub fn push(&mut self, row: &Row) -> Result<(), Broken> {
        if row.seq != self.next_seq || row.prev_hash != self.prev_hash {
            return Err(Broken::Link {
                seq: row.seq,
                expected_seq: self.next_seq,
            });
        }
        if row.expected_hash() != row.hash {
            return Err(Broken::Hash { seq: row.seq });
        }
        self.next_seq += 1;
        self.prev_hash = row.hash.clone();
        Ok(())
    }

    /// Check the end against the chain head `(seq, hash)`.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> Result<i64, Broken> {
        let last = self.next_seq - 1;
        if head_seq != last || head_hash != self.prev_hash {
            return Err(Broken::Head {
                head_seq,
                last_seq: last,
            });
        }
        Ok(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<Row> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut r = Row {
                    seq,
                    at: 1000 + seq,
                    actor_type: "user".into(),
                    actor_id: Some("1".into()),
                    actor_name: Some("a@example.com".into()),
                    action: Action::ControlUpdated.as_str().into(),
                    object_type: "applied_control".into(),
                    object_id: Some(seq.to_string()),
                    tenant_id: Some(1),
                    before_json: Some(r#"{"owner":null}"#.into()),
                    after_json: Some(r#"{"owner":"x"}"#.into()),
                    request_id: None,
                    source: None,
                    user_agent: None,
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                r.hash = r.expected_hash();
                prev = r.hash.clone();
                r
            })
            .collect()
    }

    fn verify(rows: &[Row]) -> Result<i64, Broken> {
        let mut v = Verifier::default();
        for r in rows {
            v.push(r)?;
        }
        let (seq, hash) = rows
            .last()
            .map_or((0, GENESIS.to_string()), |r| (r.seq, r.hash.clone()));
        v.finish(seq, &hash)
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&chain(0)), Ok(0));
        assert_eq!(verify(&chain(5)), Ok(5));
    }

    #[test]
    fn every_kind_of_tampering_names_the_row() {
        let mut edited = chain(5);
        edited[2].after_json = Some(r#"{"owner":"mallory"}"#.into());
        assert_eq!(verify(&edited), Err(Broken::Hash { seq: 3 }));

        let mut removed = chain(5);
        removed.remove(1);
        assert_eq!(
            verify(&removed),
            Err(Broken::Link {
                seq: 3,
                expected_seq: 2
            })
        );

        let mut swapped = chain(5);
        swapped.swap(1, 2);
        assert!(matches!(verify(&swapped), Err(Broken::Link { seq: 3, .. })));

        let rows = chain(5);
        let mut v = Verifier::default();
        for r in &rows[..4] {
            v.push(r).unwrap();
        }
        assert_eq!(
            v.finish(5, &rows[4].hash),
            Err(Broken::Head {
                head_seq: 5,
                last_seq: 4
            })
        );
    }

    #[test]
    fn actions_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(*a));
        }
    }
}
