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

/// `s` as an SQL string literal (quotes doubled), for values of our own making
/// written inline in set-based statements.
pub(crate) fn text_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
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
        assert_eq!(super::text_literal("it's"), "'it''s'");
        assert_eq!(super::rows_per_statement(15), 1000);
        assert_eq!(super::rows_per_statement(60), 500);
    }
}
