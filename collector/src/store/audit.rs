//! Audit rows: appended inside the caller's transaction, read in pages, and
//! verified as a chain (see [`crate::audit`] for the hash).

use sqlx::{AnyConnection, Row as _};

use super::{Store, StoreError};
use crate::audit::{Broken, Context, Event, Row, Verifier};

/// Filters of the audit log listing.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Actor id (user or token id, agent id).
    pub actor_id: Option<String>,
    /// Dotted action name.
    pub action: Option<String>,
    /// Object type.
    pub object_type: Option<String>,
    /// Object id.
    pub object_id: Option<String>,
    /// Only these tenants' rows (`None`: all rows, admins only).
    pub tenant_ids: Option<Vec<i64>>,
    /// From (Unix ms, inclusive).
    pub from: Option<i64>,
    /// To (Unix ms, exclusive).
    pub to: Option<i64>,
}

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    /// Every row verified; the number of rows.
    Intact(i64),
    /// The first broken row.
    Broken(Broken),
}

const COLUMNS: &str = "seq, at, actor_type, actor_id, actor_name, action, object_type, object_id,
    tenant_id, before_json, after_json, request_id, source, user_agent, prev_hash, hash";

/// Rows read per page when verifying: memory stays flat for any log size.
const VERIFY_PAGE: i64 = 5_000;

/// Append `event` to the chain within the caller's transaction. The first
/// statement takes the chain head's row lock (PostgreSQL) or the write lock
/// (SQLite), so concurrent appenders queue instead of forking the chain.
pub(crate) async fn append(
    conn: &mut AnyConnection,
    ctx: &Context,
    event: &Event,
) -> Result<i64, StoreError> {
    let head = sqlx::query("UPDATE audit_chain SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut *conn)
        .await?;
    let (actor_type, actor_id, actor_name) = ctx.actor.columns();
    let mut row = Row {
        seq: head.try_get(0)?,
        at: ctx.at,
        actor_type: actor_type.into(),
        actor_id,
        actor_name,
        action: event.action.as_str().into(),
        object_type: event.object_type.into(),
        object_id: event.object_id.clone(),
        tenant_id: event.tenant_id,
        before_json: event.before.as_ref().map(|v| v.to_string()),
        after_json: event.after.as_ref().map(|v| v.to_string()),
        request_id: ctx.request_id.clone(),
        source: ctx.source.clone(),
        user_agent: ctx.user_agent.clone(),
        prev_hash: head.try_get(1)?,
        hash: String::new(),
    };
    row.hash = row.expected_hash();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO audit_log ({COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    )))
    .bind(row.seq)
    .bind(row.at)
    .bind(&row.actor_type)
    .bind(&row.actor_id)
    .bind(&row.actor_name)
    .bind(&row.action)
    .bind(&row.object_type)
    .bind(&row.object_id)
    .bind(row.tenant_id)
    .bind(&row.before_json)
    .bind(&row.after_json)
    .bind(&row.request_id)
    .bind(&row.source)
    .bind(&row.user_agent)
    .bind(&row.prev_hash)
    .bind(&row.hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_chain SET hash = $1 WHERE id = 1")
        .bind(&row.hash)
        .execute(&mut *conn)
        .await?;
    Ok(row.seq)
}

fn decode(r: &sqlx::any::AnyRow) -> Result<Row, sqlx::Error> {
    Ok(Row {
        seq: r.try_get(0)?,
        at: r.try_get(1)?,
        actor_type: r.try_get(2)?,
        actor_id: r.try_get(3)?,
        actor_name: r.try_get(4)?,
        action: r.try_get(5)?,
        object_type: r.try_get(6)?,
        object_id: r.try_get(7)?,
        tenant_id: r.try_get(8)?,
        before_json: r.try_get(9)?,
        after_json: r.try_get(10)?,
        request_id: r.try_get(11)?,
        source: r.try_get(12)?,
        user_agent: r.try_get(13)?,
        prev_hash: r.try_get(14)?,
        hash: r.try_get(15)?,
    })
}

impl Store {
    /// Audit rows matching `filter`, newest first, with `seq < before` when
    /// paging on; at most `limit`.
    pub async fn audit_log(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Row>, StoreError> {
        let mut clauses = vec!["1 = 1".to_string()];
        let mut texts: Vec<&str> = Vec::new();
        for (column, value) in [
            ("actor_id", &filter.actor_id),
            ("action", &filter.action),
            ("object_type", &filter.object_type),
            ("object_id", &filter.object_id),
        ] {
            if let Some(v) = value {
                texts.push(v.as_str());
                clauses.push(format!("{column} = ${}", texts.len()));
            }
        }
        // Numbers are ours (parsed i64), written as literals.
        if let Some(ids) = &filter.tenant_ids {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let list: Vec<String> = ids.iter().map(i64::to_string).collect();
            clauses.push(format!("tenant_id IN ({})", list.join(", ")));
        }
        if let Some(from) = filter.from {
            clauses.push(format!("at >= {from}"));
        }
        if let Some(to) = filter.to {
            clauses.push(format!("at < {to}"));
        }
        if let Some(before) = before {
            clauses.push(format!("seq < {before}"));
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log WHERE {} ORDER BY seq DESC LIMIT {limit}",
            clauses.join(" AND ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for t in texts {
            q = q.bind(t);
        }
        let rows = q.fetch_all(&self.pool).await?;
        Ok(rows.iter().map(decode).collect::<Result<_, _>>()?)
    }

    /// Check the whole chain, page by page, and name the first broken row.
    pub async fn verify_audit(&self) -> Result<ChainReport, StoreError> {
        // The head first, then the rows up to it: rows appended while this
        // runs belong to a later verification, not to a false break.
        let head = sqlx::query("SELECT seq, hash FROM audit_chain WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let head_seq: i64 = head.try_get(0)?;
        let head_hash: String = head.try_get(1)?;
        let mut verifier = Verifier::default();
        let mut after = 0i64;
        loop {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM audit_log WHERE seq > $1 AND seq <= $2
                 ORDER BY seq LIMIT {VERIFY_PAGE}"
            )))
            .bind(after)
            .bind(head_seq)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get(0)?;
            for r in &rows {
                if let Err(b) = verifier.push(&decode(r)?) {
                    return Ok(ChainReport::Broken(b));
                }
            }
        }
        Ok(match verifier.finish(head_seq, &head_hash) {
            Ok(n) => ChainReport::Intact(n),
            Err(b) => ChainReport::Broken(b),
        })
    }
}
