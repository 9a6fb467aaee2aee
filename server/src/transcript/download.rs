//! `duet model download`: fetch a model file, check it against a pinned
//! SHA-256 while it streams in, and put it in place atomically, so the
//! models folder never holds a partial or unexpected model.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("fetching {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("{url} sent {got} bytes where {expected} were expected; nothing was saved")]
    Size {
        url: String,
        got: u64,
        expected: u64,
    },
    #[error(
        "{url} is not the expected file (SHA-256 {got}, expected {expected}); nothing was saved"
    )]
    Digest {
        url: String,
        got: String,
        expected: String,
    },
    #[error("writing {path}: {error}")]
    Write { path: String, error: std::io::Error },
}

/// One file to fetch.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub url: String,
    /// Where it goes (its folder is created if needed).
    pub dest: PathBuf,
    /// Lower-case hex.
    pub sha256: String,
    /// Known size, when the catalog pins it.
    pub bytes: Option<u64>,
}

/// What [`fetch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    Downloaded {
        bytes: u64,
    },
    /// The file was there already, with the right digest.
    AlreadyThere,
}

/// Fetches `wanted`; `progress` hears (bytes so far, total if known).
pub fn fetch(
    wanted: &Wanted,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Fetched, DownloadError> {
    if wanted.dest.is_file()
        && let Ok(digest) = file_sha256(&wanted.dest)
        && digest == wanted.sha256
    {
        return Ok(Fetched::AlreadyThere);
    }
    let write_err = |path: &Path| {
        let path = path.display().to_string();
        move |error| DownloadError::Write { path, error }
    };
    let dir = wanted.dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let name = wanted
        .dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let part = dir.join(format!(".{name}.part"));
    let result = stream_to(wanted, &part, progress);
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    let bytes = result?;
    std::fs::rename(&part, &wanted.dest).map_err(write_err(&wanted.dest))?;
    crate::recorder::files::sync_dir(dir).map_err(write_err(dir))?;
    Ok(Fetched::Downloaded { bytes })
}

fn stream_to(
    wanted: &Wanted,
    part: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<u64, DownloadError> {
    let fetch_err = |reason: String| DownloadError::Fetch {
        url: wanted.url.clone(),
        reason,
    };
    let write_err = |error| DownloadError::Write {
        path: part.display().to_string(),
        error,
    };
    let response = ureq::get(&wanted.url)
        .call()
        .map_err(|e| fetch_err(e.to_string()))?;
    let total = wanted.bytes.or_else(|| {
        response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    });
    let mut body = response.into_body().into_reader();
    let mut out = File::create(part).map_err(write_err)?;
    let mut hasher = Sha256::new();
    let mut got: u64 = 0;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = body.read(&mut buf).map_err(|e| fetch_err(e.to_string()))?;
        if n == 0 {
            break;
        }
        got += n as u64;
        // A server sending more than the pinned size is not sending the
        // pinned file: stop before filling the disk.
        if let Some(expected) = wanted.bytes
            && got > expected
        {
            return Err(DownloadError::Size {
                url: wanted.url.clone(),
                got,
                expected,
            });
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(write_err)?;
        progress(got, total);
    }
    if let Some(expected) = wanted.bytes
        && got != expected
    {
        return Err(DownloadError::Size {
            url: wanted.url.clone(),
            got,
            expected,
        });
    }
    let digest = hex(&hasher.finalize());
    if digest != wanted.sha256 {
        return Err(DownloadError::Digest {
            url: wanted.url.clone(),
            got: digest,
            expected: wanted.sha256.clone(),
        });
    }
    out.sync_all().map_err(write_err)?;
    Ok(got)
}

/// SHA-256 of a file, in lower-case hex.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
