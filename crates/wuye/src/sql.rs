//! A small builder for dynamic SQL written once for both engines.
//!
//! Filters and pagination are assembled as text with `$N` placeholders and a list of typed
//! parameters; [`bind_params!`] binds them in order on either driver. Only text written in
//! this crate ever enters the SQL string: user values always travel as parameters.

/// A bind parameter.
#[derive(Debug, Clone)]
pub enum Param {
    I64(i64),
    OptI64(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Bool(bool),
    Date(time::Date),
    Ts(time::OffsetDateTime),
    OptTs(Option<time::OffsetDateTime>),
}

/// SQL text plus its parameters.
#[derive(Debug, Default, Clone)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            params: Vec::new(),
        }
    }

    /// Appends trusted SQL text (never user input).
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `p`.
    pub fn bind(&mut self, p: Param) -> &mut Self {
        self.params.push(p);
        self.text.push('$');
        self.text.push_str(&self.params.len().to_string());
        self
    }

    /// Appends one row of a multi-row `VALUES` list: `($a, $b, …)`, each value a parameter.
    pub fn values_row(&mut self, values: impl IntoIterator<Item = Param>) -> &mut Self {
        self.text.push('(');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(v);
        }
        self.text.push(')');
        self
    }

    pub fn bind_i64(&mut self, v: i64) -> &mut Self {
        self.bind(Param::I64(v))
    }

    pub fn bind_text(&mut self, v: impl Into<String>) -> &mut Self {
        self.bind(Param::Text(v.into()))
    }

    /// The text as `db` binds it fastest. On SQLite, when every `$N` appears once and in order
    /// (as this builder writes them), they become anonymous `?`: SQLite finds a numbered
    /// parameter's name by a linear search, so binding a statement with thousands of `$N`
    /// takes quadratic time (a 2,000-row multi-row INSERT spent ~100 ms there).
    pub fn text_for(&self, db: &crate::db::Db) -> String {
        if matches!(db, crate::db::Db::Postgres(_)) || self.params.len() < 64 {
            return self.text.clone();
        }
        self.text_with_positional()
    }

    /// The text with anonymous `?` for `$1 … $n` written once each in order; else unchanged.
    pub(crate) fn text_with_positional(&self) -> String {
        let mut out = String::with_capacity(self.text.len());
        let mut expect = 1usize;
        let mut chars = self.text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '$' && chars.peek().is_some_and(|(_, d)| d.is_ascii_digit()) {
                let start = i + 1;
                let mut end = start;
                while let Some((j, d)) = chars.peek().copied() {
                    if !d.is_ascii_digit() {
                        break;
                    }
                    end = j + 1;
                    chars.next();
                }
                if self.text[start..end].parse::<usize>().ok() != Some(expect) {
                    return self.text.clone();
                }
                expect += 1;
                out.push('?');
            } else {
                out.push(c);
            }
        }
        if expect - 1 == self.params.len() {
            out
        } else {
            self.text.clone()
        }
    }

    /// `LIMIT … OFFSET …` for a 1-based page.
    pub fn paginate(&mut self, page: &crate::registry::Page) -> &mut Self {
        self.push(" LIMIT ")
            .bind_i64(page.limit_plus_one())
            .push(" OFFSET ")
            .bind_i64(page.offset())
    }
}

/// Binds every parameter of a [`Sql`] onto a sqlx query (either engine).
#[macro_export]
macro_rules! bind_params {
    ($q:expr, $params:expr) => {{
        let mut q = $q;
        for p in $params.iter() {
            q = match p {
                $crate::sql::Param::I64(v) => q.bind(*v),
                $crate::sql::Param::OptI64(v) => q.bind(*v),
                $crate::sql::Param::Text(v) => q.bind(v.clone()),
                $crate::sql::Param::OptText(v) => q.bind(v.clone()),
                $crate::sql::Param::Bool(v) => q.bind(*v),
                $crate::sql::Param::Date(v) => q.bind(*v),
                $crate::sql::Param::Ts(v) => q.bind(*v),
                $crate::sql::Param::OptTs(v) => q.bind(*v),
            };
        }
        q
    }};
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_pattern(q: &str) -> String {
    let mut s = String::with_capacity(q.len() + 2);
    s.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

/// Pushes one [`Param`] as a bind onto a `QueryBuilder` separator (either engine).
#[macro_export]
macro_rules! push_param {
    ($b:expr, $p:expr) => {
        match $p {
            $crate::sql::Param::I64(v) => $b.push_bind(*v),
            $crate::sql::Param::OptI64(v) => $b.push_bind(*v),
            $crate::sql::Param::Text(v) => $b.push_bind(v.clone()),
            $crate::sql::Param::OptText(v) => $b.push_bind(v.clone()),
            $crate::sql::Param::Bool(v) => $b.push_bind(*v),
            $crate::sql::Param::Date(v) => $b.push_bind(*v),
            $crate::sql::Param::Ts(v) => $b.push_bind(*v),
            $crate::sql::Param::OptTs(v) => $b.push_bind(*v),
        }
    };
}

/// Inserts rows in multi-row statements inside one transaction: the bulk path of the demo
/// generator and benchmarks. `rows` must all have `cols.len()` values.
pub async fn insert_rows(
    db: &crate::db::Db,
    table: &str,
    cols: &[&str],
    rows: &[Vec<Param>],
) -> crate::db::DbResult<u64> {
    let per_stmt = (30_000 / cols.len().max(1)).clamp(1, 1000);
    let head = format!("INSERT INTO {table} ({}) ", cols.join(", "));
    let n = crate::db_run!(db, pool => {
        let mut tx = pool.begin().await?;
        let mut n = 0u64;
        for chunk in rows.chunks(per_stmt) {
            let mut qb = sqlx::QueryBuilder::new(head.clone());
            qb.push_values(chunk, |mut b, row| {
                for p in row {
                    crate::push_param!(b, p);
                }
            });
            n += qb.build().execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        n
    });
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_placeholders_only_when_in_order() {
        let mut sql = Sql::new("INSERT INTO t (a) VALUES ");
        for i in 0..100 {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").bind_i64(i).push(")");
        }
        let sqlite_like = sql.text.replace('$', "?");
        let text = sql.text_with_positional();
        assert!(text.contains("(?), (?)") && !text.contains('$'));
        assert_eq!(text.matches('?').count(), 100);
        assert_ne!(text, sqlite_like, "the numbers are gone, not just the sign");
        // A placeholder used twice keeps its number.
        let mut twice = Sql::new("SELECT $1, $1");
        twice.params.push(Param::I64(1));
        for _ in 0..70 {
            twice.push(", ").bind_i64(2);
        }
        assert_eq!(twice.text_with_positional(), twice.text);
    }
}
