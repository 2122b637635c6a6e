//! Check results: staged once, then merged with set-based statements.
//!
//! A batch's results are bound into a temporary table in one pass (the only
//! per-row work on our side). Everything derived from them — history rows,
//! results updated by id or inserted, evidence records and revisions — is one
//! `INSERT … SELECT` or `UPDATE` each, run by the database over the staged
//! rows and the unique indexes. The earlier design bound every row three
//! times and read ids back row by row (`RETURNING`); at 100,000 results most of
//! ingest time went to that traffic, not to the database's own work.
//!
//! The staging table is created inside the ingest transaction and dropped
//! before it commits, so a failed ingest leaves nothing behind either.

use std::collections::HashMap;
use std::ops::Range;

use citadel_wire::Status;
use sqlx::{AnyConnection, Row};

use super::batches::Scope;
use super::{Backend, StoreError, bulk};
use crate::store::IngestSummary;

/// The staging table's name, in every statement that reads it.
pub(crate) const STAGED: &str = "ingest_results";

/// Stage the batch's results and merge them into `check_results` and
/// `check_result_history`. The staged rows stay for [`super::mapping`]
/// (evidence) until [`drop_staged`].
pub(super) async fn store(
    conn: &mut AnyConnection,
    scope: &Scope<'_>,
    asset_ids: &HashMap<String, i64>,
    summary: &mut IngestSummary,
) -> Result<(), StoreError> {
    let Scope {
        backend,
        tenant_id,
        batch_number,
        batch,
        spans,
        ..
    } = *scope;
    exec(
        conn,
        format!(
            "CREATE TEMP TABLE {STAGED} (
                 check_id        TEXT   NOT NULL,
                 asset_id        BIGINT NOT NULL,
                 status          TEXT   NOT NULL,
                 status_extended TEXT   NOT NULL,
                 severity        TEXT   NOT NULL,
                 observed_at     BIGINT NOT NULL,
                 result_offset   BIGINT NOT NULL,
                 result_len      BIGINT NOT NULL,
                 previous_status TEXT,
                 result_id       BIGINT,
                 observations    BIGINT NOT NULL DEFAULT 1
             )"
        ),
    )
    .await?;

    // 1. Stage. Ingest validated that every result names an asset of the batch.
    //    SQLite: every staged row gets the row id its result takes if it is
    //    new, above every id in use (this transaction holds the only write
    //    lock); step 2 replaces it for results seen before. So no pass reads
    //    ids back, and the few unused ids are only gaps. PostgreSQL draws ids
    //    from the identity sequence and looks them up after the insert.
    let next_id: Option<i64> = match backend {
        Backend::Sqlite => Some(
            sqlx::query("SELECT COALESCE(MAX(id), 0) + 1 FROM check_results")
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?,
        ),
        Backend::Postgres => None,
    };
    const COLS: usize = 9;
    type Staged<'b> = (
        &'b citadel_wire::CheckResult,
        i64,
        &'b Range<usize>,
        Option<i64>,
    );
    let rows: Vec<Staged> = batch
        .results
        .iter()
        .zip(spans)
        .filter_map(|(r, span)| asset_ids.get(&r.asset).map(|&a| (r, a, span)))
        .zip(0..)
        .map(|((r, a, span), n)| (r, a, span, next_id.map(|first| first + n)))
        .collect();
    let statement = |chunk: &[Staged]| {
        let sql = format!(
            "INSERT INTO {STAGED} (check_id, asset_id, status, status_extended, severity,
                 observed_at, result_offset, result_len, result_id) VALUES {}",
            bulk::values(backend, chunk.len(), COLS)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (r, asset_id, span, id) in chunk {
            q = q
                .bind(r.check_id.as_str())
                .bind(*asset_id)
                .bind(r.status.as_str())
                .bind(r.status_extended.as_str())
                .bind(r.severity.as_str())
                .bind(r.observed_at)
                .bind(span.start as i64)
                .bind(span.len() as i64)
                .bind(*id);
        }
        q
    };
    // Each statement's values are bound here while the database runs the
    // previous one (on its own thread for SQLite, on the server for
    // PostgreSQL): both take about as long.
    let mut chunks = rows.chunks(bulk::rows_per_statement(COLS));
    let mut next = chunks.next().map(statement);
    while let Some(q) = next.take() {
        let (done, following) = tokio::join!(q.execute(&mut *conn), async {
            chunks.next().map(statement)
        });
        done?;
        next = following;
    }
    for (r, ..) in &rows {
        summary.results += 1;
        match r.status {
            Status::Pass => summary.passed += 1,
            Status::Fail => summary.failed += 1,
            Status::Error => summary.errors += 1,
            Status::NotApplicable => summary.not_applicable += 1,
        }
    }

    // Tenant id and batch number are ours (integers); they are written as
    // literals so each statement below binds nothing per row.
    let batch = batch_number;
    let same = format!(
        "r.tenant_id = {tenant_id} AND r.check_id = {STAGED}.check_id AND r.asset_id = {STAGED}.asset_id"
    );
    // 2. What each result was before this batch (NULL: never seen), the rows
    //    of results seen before (an upsert keeps them), and which observation
    //    of the result this batch is (its evidence revision's version).
    exec(
        conn,
        format!(
            "UPDATE {STAGED} SET previous_status = r.status, result_id = r.id,
                 observations = r.observations + 1
             FROM check_results r WHERE {same}"
        ),
    )
    .await?;
    // 3. Results seen before: updated in place, by row id.
    exec(
        conn,
        format!(
            "UPDATE check_results SET status = s.status, status_extended = s.status_extended,
                 severity = s.severity, observed_at = s.observed_at, batch_number = {batch},
                 observations = check_results.observations + 1
             FROM {STAGED} s
             WHERE check_results.id = s.result_id AND s.previous_status IS NOT NULL"
        ),
    )
    .await?;
    // 4. Results seen for the first time, with the ids staged for them on
    //    SQLite. (On PostgreSQL a concurrent ingest may have stored the same
    //    new result a moment ago: the insert waits for it and then updates
    //    that row.)
    let (id_column, id_value) = match backend {
        Backend::Sqlite => ("id, ", "result_id, "),
        Backend::Postgres => ("", ""),
    };
    exec(
        conn,
        format!(
            "INSERT INTO check_results ({id_column}tenant_id, check_id, asset_id, status,
                 status_extended, severity, observed_at, first_seen_at, batch_number, observations)
             SELECT {id_value}{tenant_id}, check_id, asset_id, status, status_extended,
                 severity, observed_at, observed_at, {batch}, 1
             FROM {STAGED} WHERE previous_status IS NULL
             ON CONFLICT (tenant_id, check_id, asset_id) DO UPDATE SET
                 status = excluded.status, status_extended = excluded.status_extended,
                 severity = excluded.severity, observed_at = excluded.observed_at,
                 batch_number = excluded.batch_number,
                 observations = check_results.observations + 1"
        ),
    )
    .await?;
    if backend == Backend::Postgres {
        // Ids of the new results, and every result's count as the row now
        // has it: a concurrent ingest of the same result may have counted
        // first (its update or insert committed while ours waited for the
        // row), and the count is the version of the revision written next.
        // SQLite has one writer at a time: step 2's count is the row's.
        exec(
            conn,
            format!(
                "UPDATE {STAGED} SET result_id = r.id, observations = r.observations
                 FROM check_results r
                 WHERE {same}"
            ),
        )
        .await?;
    }
    // 5. History: new results and status changes.
    summary.history += exec(
        conn,
        format!(
            "INSERT INTO check_result_history (check_result_id, previous_status, status,
                 changed_at, batch_number)
             SELECT result_id, previous_status, status, observed_at, {batch} FROM {STAGED}
             WHERE previous_status IS NULL OR previous_status <> status"
        ),
    )
    .await?;
    Ok(())
}

/// Drop the staging table before the transaction commits.
pub(super) async fn drop_staged(conn: &mut AnyConnection) -> Result<(), StoreError> {
    exec(conn, format!("DROP TABLE {STAGED}")).await?;
    Ok(())
}

/// Run one statement of our own making; rows affected.
pub(crate) async fn exec(conn: &mut AnyConnection, sql: String) -> Result<u64, StoreError> {
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await?
        .rows_affected())
}
