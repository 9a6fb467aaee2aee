//! Throwaway PostgreSQL databases for tests. `DUET_TEST_DATABASE_URL`
//! names a server and a role that may create databases (`tests/postgres.sh`
//! starts one); each test gets a database of its own, so tests run in
//! parallel, and it is dropped when the test is done. Unset, tests use
//! SQLite. Public so the end-to-end tests (`duet-tests`) can use it too.

use sqlx::{AnyConnection, AssertSqlSafe, ConnectOptions, Connection};

use super::{Location, StoreError};

/// The variable naming the test server.
pub const TEST_URL_VAR: &str = "DUET_TEST_DATABASE_URL";

/// A database made for one test, dropped (best effort) with this value.
#[derive(Debug)]
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// A new empty database on the server of `DUET_TEST_DATABASE_URL`, or
    /// `None` when it is unset.
    pub async fn create() -> Result<Option<ScratchDatabase>, StoreError> {
        match std::env::var(TEST_URL_VAR) {
            Ok(url) if !url.trim().is_empty() => Ok(Some(Self::create_on(url.trim()).await?)),
            _ => Ok(None),
        }
    }

    async fn create_on(admin_url: &str) -> Result<ScratchDatabase, StoreError> {
        sqlx::any::install_default_drivers();
        let name = format!("duet_test_{}", uuid::Uuid::new_v4().simple());
        let mut url = url::Url::parse(admin_url)
            .map_err(|e| StoreError::Task(format!("{TEST_URL_VAR} is not a URL: {e}")))?;
        url.set_path(&name);
        let mut admin = AnyConnection::connect(admin_url).await?;
        // `name` is ours: a fixed prefix and hex digits.
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        Ok(ScratchDatabase {
            admin_url: admin_url.to_string(),
            name,
            url: url.to_string(),
        })
    }

    /// The URL of this database (with the test server's credentials).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn location(&self) -> Location {
        Location::Postgres(self.url.clone())
    }
}

impl Drop for ScratchDatabase {
    /// Drops the database on a thread of its own (this may run inside a
    /// runtime, which cannot block on its own futures), ending any
    /// connection a test left open. A failure only leaves a database
    /// behind in a server that is itself thrown away.
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let options: sqlx::any::AnyConnectOptions = admin_url.parse()?;
                let mut admin = options.connect().await?;
                sqlx::raw_sql(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await?;
                admin.close().await
            })
            .map_err(std::io::Error::other)
        });
        if let Ok(Err(e)) = dropped.join() {
            tracing::warn!(error = %e, "could not drop a test database");
        }
    }
}
