//! Multi-row statements. One `INSERT … VALUES (…), (…), …` per few hundred
//! rows instead of one statement per row: per-statement overhead dominates
//! ingest otherwise (a 100,000-result batch would be ~400,000 round trips).

use super::Backend;

/// Bound parameters per statement: under SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_PARAMS: usize = 30_000;

/// Rows per statement for a table of `cols` bound columns.
pub(crate) fn rows_per_statement(cols: usize) -> usize {
    (MAX_PARAMS / cols.max(1)).clamp(1, 1000)
}

/// `($1, $2), ($3, $4)` for `rows` rows of `cols` parameters; `(?, ?), (?, ?)`
/// on SQLite, which looks numbered parameters up by walking a list (quadratic
/// in the parameter count, dominating ingest time with thousands per statement).
pub(crate) fn values(backend: Backend, rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * (cols * 6 + 4));
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            match backend {
                Backend::Sqlite => out.push('?'),
                Backend::Postgres => {
                    out.push('$');
                    out.push_str(&(r * cols + c + 1).to_string());
                }
            }
        }
        out.push(')');
    }
    out
}

/// One bound value of a multi-row statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// An integer.
    Int(i64),
    /// A text.
    Text(String),
    /// A NULL in a text column.
    NullText,
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Text(v.to_string())
    }
}

impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Self::NullText, Self::from)
    }
}

/// `INSERT INTO {into} VALUES (…), (…), … {tail}` over rows of `cols`
/// values (`values` holds them row after row), in as few statements as the
/// parameter limit allows; returns the rows affected. The mapping stage
/// writes a few hundred small rows per batch: one statement each cost more
/// in round trips than the database spent on them.
pub(crate) async fn insert(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    into: &str,
    tail: &str,
    cols: usize,
    values: &[Value],
) -> Result<u64, sqlx::Error> {
    debug_assert!(values.len().is_multiple_of(cols.max(1)));
    let mut affected = 0;
    for chunk in values.chunks(rows_per_statement(cols) * cols) {
        let sql = format!(
            "INSERT INTO {into} VALUES {} {tail}",
            self::values(backend, chunk.len() / cols, cols)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for v in chunk {
            q = match v {
                Value::Int(i) => q.bind(*i),
                Value::Text(t) => q.bind(t.as_str()),
                Value::NullText => q.bind(None::<String>),
            };
        }
        affected += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(affected)
}

/// `DELETE FROM {from} WHERE {filter} AND {column} IN (…)` over `keys`.
pub(crate) async fn delete_in(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    from: &str,
    filter: &str,
    column: &str,
    keys: &[&str],
) -> Result<u64, sqlx::Error> {
    let mut affected = 0;
    for chunk in keys.chunks(MAX_PARAMS) {
        let sql = format!(
            "DELETE FROM {from} WHERE {filter} AND {column} IN {}",
            values(backend, 1, chunk.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for k in chunk {
            q = q.bind(*k);
        }
        affected += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(affected)
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_clause() {
        use super::Backend;
        assert_eq!(
            super::values(Backend::Postgres, 2, 3),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(super::values(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(super::rows_per_statement(15), 1000);
        assert_eq!(super::rows_per_statement(60), 500);
    }
}
