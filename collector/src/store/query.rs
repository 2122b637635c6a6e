//! Building the read queries of the API: a `WHERE` clause from optional
//! filters, with every value bound as a parameter, and search patterns.
//!
//! Only our own text goes into the SQL (column names, operators, the `$N`
//! placeholders this builder numbers); every value a caller supplied is a
//! bound [`Arg`].

use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::Backend;

/// A bound value.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    /// An integer.
    Int(i64),
    /// A text.
    Text(String),
    /// A flag (a boolean column compares with it on both databases).
    Bool(bool),
}

/// Conditions joined with `AND`, and the values they bind.
#[derive(Debug, Default)]
pub(crate) struct Where {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Where {
    /// No conditions yet.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Bind `value`; returns its placeholder (`$N`) for a clause.
    pub(crate) fn arg(&mut self, value: Arg) -> String {
        self.args.push(value);
        format!("${}", self.args.len())
    }

    /// Shorthand for an integer placeholder.
    pub(crate) fn int(&mut self, value: i64) -> String {
        self.arg(Arg::Int(value))
    }

    /// Shorthand for a text placeholder.
    pub(crate) fn text(&mut self, value: impl Into<String>) -> String {
        self.arg(Arg::Text(value.into()))
    }

    /// Add a condition (our own SQL, with placeholders from [`Self::arg`]).
    pub(crate) fn and(&mut self, clause: impl Into<String>) {
        self.clauses.push(clause.into());
    }

    /// ` WHERE a AND b …` (empty without conditions).
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// Bind the values, in placeholder order.
    pub(crate) fn bind<'q>(
        self,
        mut q: Query<'q, sqlx::Any, AnyArguments>,
    ) -> Query<'q, sqlx::Any, AnyArguments> {
        for a in self.args {
            q = match a {
                Arg::Int(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
            };
        }
        q
    }
}

/// The escape character of [`contains_pattern`] patterns (`LIKE … ESCAPE '\'`).
pub(crate) const LIKE_ESCAPE: &str = r"ESCAPE '\'";

/// A `LIKE` pattern matching text that contains `needle`, lower-cased: the
/// caller compares it with `LOWER(column)`, which makes the search ignore
/// case on both databases (SQLite's `LIKE` ignores ASCII case by itself,
/// PostgreSQL's does not; SQLite's `LOWER` folds ASCII only). `%`, `_` and
/// the escape character in `needle` match themselves.
pub(crate) fn contains_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 8);
    p.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A condition true when `column` contains `placeholder`'s text exactly
/// (case-sensitive, no wildcards). The one function both databases lack in
/// common: SQLite has `instr`, PostgreSQL `strpos`.
pub(crate) fn contains_exactly(backend: Backend, column: &str, placeholder: &str) -> String {
    match backend {
        Backend::Sqlite => format!("instr({column}, {placeholder}) > 0"),
        Backend::Postgres => format!("strpos({column}, {placeholder}) > 0"),
    }
}

/// The observation window bounds as placeholders, for `col BETWEEN lo AND hi`
/// (everyone but auditors: the whole range of `i64`).
pub(crate) fn window(w: &mut Where, column: &str, (from, to): (i64, i64)) {
    if (from, to) == (i64::MIN, i64::MAX) {
        return;
    }
    let lo = w.int(from);
    let hi = w.int(to);
    w.and(format!("{column} BETWEEN {lo} AND {hi}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_wildcards() {
        assert_eq!(contains_pattern("A_b%c\\"), r"%a\_b\%c\\%");
        let mut w = Where::new();
        assert_eq!(w.int(1), "$1");
        assert_eq!(w.text("x"), "$2");
        assert_eq!(w.sql(), "");
        w.and("a = $1");
        w.and("b = $2");
        assert_eq!(w.sql(), " WHERE a = $1 AND b = $2");
        window(&mut w, "t", (i64::MIN, i64::MAX));
        assert_eq!(w.args.len(), 2, "no bounds for the full window");
    }
}
