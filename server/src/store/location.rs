//! Where the database is: the embedded SQLite file, or a PostgreSQL server
//! named by `database.url`. A URL may hold a password, so this type shows
//! itself (and every error and log line names it) without one.

use std::fmt;
use std::path::PathBuf;

/// The two databases Duet runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// The embedded database, in this file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL server, by URL (`postgres://user:password@host/db`).
    Postgres(String),
}

impl Location {
    /// `url` when set (`database.url`), else the SQLite file.
    pub fn new(url: Option<&str>, sqlite_file: PathBuf) -> Location {
        match url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => Location::Postgres(url.to_string()),
            None => Location::Sqlite(sqlite_file),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Location::Sqlite(_) => Backend::Sqlite,
            Location::Postgres(_) => Backend::Postgres,
        }
    }

    /// The setting an operator changes to point Duet elsewhere, for errors.
    pub fn setting(&self) -> &'static str {
        match self {
            Location::Sqlite(_) => "data_dir",
            Location::Postgres(_) => "database.url",
        }
    }
}

/// Whether `url` is one `database.url` accepts: a PostgreSQL URL sqlx can
/// read. The error never repeats the URL (it may hold a password).
pub fn check_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(
            "must start with postgres:// or postgresql:// (unset: the embedded SQLite \
             database in the data folder)"
                .into(),
        );
    }
    url.parse::<sqlx::postgres::PgConnectOptions>()
        .map(|_| ())
        .map_err(|e| format!("is not a PostgreSQL URL: {e}"))
}

/// `url` without its password or query (which may carry one too).
pub fn redact(url: &str) -> String {
    let Ok(parsed) = url::Url::parse(url) else {
        return "(an unreadable URL)".into();
    };
    let user = match parsed.username() {
        "" => String::new(),
        u => format!("{u}@"),
    };
    let host = parsed.host_str().unwrap_or("");
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{}://{user}{host}{port}{}", parsed.scheme(), parsed.path())
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {self}", self.backend().name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_its_password() {
        let l = Location::new(
            Some("postgres://duet:s3cret@db.example:5433/duet?password=s3cret"),
            "x".into(),
        );
        assert_eq!(l.to_string(), "postgres://duet@db.example:5433/duet");
        assert!(!format!("{l:?}").contains("s3cret"));
        assert_eq!(l.setting(), "database.url");
    }

    #[test]
    fn unset_or_blank_is_the_embedded_file() {
        for url in [None, Some(""), Some("  ")] {
            assert_eq!(
                Location::new(url, "data/duet.sqlite3".into()),
                Location::Sqlite("data/duet.sqlite3".into())
            );
        }
    }

    #[test]
    fn only_postgres_urls_are_accepted_and_never_echoed() {
        check_url("postgres://duet@localhost/duet").expect("valid");
        check_url("postgresql://duet:pw@127.0.0.1:5432/duet").expect("valid");
        for bad in ["mysql://a:hunter2@b/c", "sqlite://x.db", "hunter2"] {
            let err = check_url(bad).expect_err("refused");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}
