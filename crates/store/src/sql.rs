//! What the two databases' statements share: the dialect, and one statement text for both
//! (written with `?`, numbered `$1`, `$2`… for PostgreSQL by [`pg_sql`]).

use std::borrow::Cow;

/// Which SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// `sql` (written with `?` placeholders) in this dialect.
    pub(crate) fn sql(self, sql: &str) -> Cow<'_, str> {
        match self {
            Self::Sqlite => Cow::Borrowed(sql),
            Self::Postgres => Cow::Owned(pg_sql(sql)),
        }
    }

    /// An RFC 3339 text column as Unix seconds (BIGINT).
    pub(crate) fn epoch(self, column: &str) -> String {
        match self {
            Self::Sqlite => format!("unixepoch({column})"),
            Self::Postgres => {
                format!("CAST(EXTRACT(EPOCH FROM CAST({column} AS TIMESTAMPTZ)) AS BIGINT)")
            }
        }
    }
}

/// `sql` with its `?` placeholders numbered `$1`, `$2`… (PostgreSQL). No statement of ours
/// has a `?` inside a literal.
pub(crate) fn pg_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(pg_sql("a = ? AND b = ? OR c"), "a = $1 AND b = $2 OR c");
        assert_eq!(Dialect::Sqlite.sql("a = ?"), "a = ?");
        assert_eq!(
            Dialect::Postgres.sql("a = ? AND b = ?"),
            "a = $1 AND b = $2"
        );
    }
}
