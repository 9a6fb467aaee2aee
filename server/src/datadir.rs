//! The data folder: created on first start, holding the database and the
//! link-signing secret (readable by the owner only).

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("cannot create the data folder {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read or write the signing secret {path}: {source}")]
    Secret {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the signing secret {0} is damaged (expected 64 hex digits); restore it from a backup or delete it to invalidate every link"
    )]
    BadSecret(PathBuf),
}

pub fn ensure(dir: &Path) -> Result<(), DataDirError> {
    std::fs::create_dir_all(dir).map_err(|source| DataDirError::Create {
        path: dir.to_path_buf(),
        source,
    })
}

pub fn database_path(dir: &Path) -> PathBuf {
    dir.join("duet.sqlite3")
}

/// The database `config` names: `database.url` when set, else the
/// embedded SQLite file in the data folder.
pub fn database(config: &crate::Config) -> crate::store::Location {
    crate::store::Location::new(
        config.database.url.as_deref(),
        database_path(&config.data_dir),
    )
}

/// Loads the signing secret, generating it on first start.
pub fn signing_secret(dir: &Path) -> Result<[u8; 32], DataDirError> {
    let path = dir.join("secret.key");
    let err = |source| DataDirError::Secret {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_hex(text.trim()).ok_or_else(|| DataDirError::BadSecret(path.clone())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret: [u8; 32] = rand::random();
            let hex = to_hex(&secret);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&path).map_err(err)?;
            file.write_all(hex.as_bytes()).map_err(err)?;
            file.sync_all().map_err(err)?;
            tracing::info!(path = %path.display(), "generated a new link-signing secret");
            Ok(secret)
        }
        Err(e) => Err(err(e)),
    }
}

/// A secret from its 64 hex digits.
pub fn parse_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests;

/// A secret as 64 hex digits, as `secret.key` holds it.
pub fn to_hex(secret: &[u8; 32]) -> String {
    secret.iter().map(|b| format!("{b:02x}")).collect()
}
