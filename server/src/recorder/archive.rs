//! Finished recordings in S3-compatible object storage (`storage.url`).
//!
//! The live writer always writes to the data folder: that is what keeps a
//! crash from losing more than a second. Once a recording is settled
//! (finalized, its transcript made or given up), [`sweep`] uploads its
//! files, checks each one's size in the bucket, puts the manifest last and
//! only then removes the local folder. Reads fetch what they need back
//! into the folder, marked as a copy ([`COPY_MARK`]), so the code that
//! serves files, mixes audio and edits manifests works on local files
//! either way. Without `storage.url` nothing moves: the data folder is
//! the archive, and every call here is a no-op.
//!
//! While a recording is written, [`Archive::ship`] sends what its files
//! gained since the last time, every 10 s, as chunk objects: the files
//! only grow while recording, so a file's chunks laid end to end are
//! exactly what it held, and a node that never comes back loses at most
//! those seconds. Another node puts them back together
//! ([`Archive::reassemble`]) and recovers the recording as a restart would.
//!
//! Objects mirror the folder: `<prefix>/recordings/<id>/<file name>`;
//! chunks are `<prefix>/recordings/<id>/chunks/<file name>/<offset>` (the
//! offset in 20 digits, so names sort as numbers do) beside
//! `chunks/manifest.json`, and go once the whole recording is uploaded.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::io::AsyncWriteExt;

use super::manifest::{self, Manifest};

pub mod sweep;

/// In a folder fetched back from the bucket: the bucket holds the
/// recording, this folder is a copy of some of its files. The mark lists
/// the size of every file in the bucket, so a listing needs no download.
pub const COPY_MARK: &str = ".archived";

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{0}")]
    BadUrl(String),
    #[error("object storage: {0}")]
    Store(#[from] object_store::Error),
    #[error("recording files: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    #[error("{file}: {local} bytes here but {stored} in the bucket")]
    SizeMismatch {
        file: String,
        local: u64,
        stored: u64,
    },
    #[error("{0} is not in the bucket")]
    Missing(String),
}

/// Where finished recordings are kept: the data folder (no bucket) or a
/// bucket. Cheap to clone.
#[derive(Clone, Default)]
pub struct Archive {
    bucket: Option<Arc<Bucket>>,
}

struct Bucket {
    store: Arc<dyn ObjectStore>,
    /// `""` or `a/b`, never with a slash at either end.
    prefix: String,
    /// Uploads, deletions and manifest rewrites run one at a time, so a
    /// deletion never races an upload that would put files back.
    busy: tokio::sync::Mutex<()>,
}

/// The folder of chunk objects, and the manifest's name in it.
const CHUNKS: &str = "chunks";

/// How many of a file's chunks, sorted by offset, lie end to end from its
/// start: `(offset, size)` each. A gap (a chunk that never arrived) ends
/// the file there, since what follows could not be placed.
pub fn contiguous(chunks: &[(u64, u64)]) -> usize {
    let mut end = 0;
    for (n, &(offset, size)) in chunks.iter().enumerate() {
        if offset != end {
            return n;
        }
        end += size;
    }
    chunks.len()
}

/// `s3://bucket/prefix` as `(bucket, prefix)`, or why not.
pub fn parse_storage_url(url: &str) -> Result<(String, String), String> {
    let bad = |why: &str| format!("{url:?} is not s3://bucket/prefix: {why}");
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| bad("it must start with s3://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    // S3's own rules for bucket names, which every compatible store keeps.
    let name_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && !bucket.starts_with(['.', '-'])
        && !bucket.ends_with(['.', '-']);
    if !name_ok {
        return Err(bad(
            "a bucket name is 3–63 lower-case letters, digits, dots and hyphens",
        ));
    }
    let prefix = prefix.trim_end_matches('/');
    if prefix
        .split('/')
        .any(|s| (s.is_empty() && !prefix.is_empty()) || s == "." || s == "..")
    {
        return Err(bad("the prefix has an empty, `.` or `..` part"));
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

impl Archive {
    /// The data folder only.
    pub fn local() -> Archive {
        Archive::default()
    }

    /// The bucket `url` names, with credentials, region and endpoint from
    /// the usual `AWS_*` variables (`AWS_ENDPOINT_URL` for stores other
    /// than AWS). No request is made yet.
    pub fn open(url: &str) -> Result<Archive, ArchiveError> {
        let (bucket, prefix) = parse_storage_url(url).map_err(ArchiveError::BadUrl)?;
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        // An endpoint given as http:// is a deliberate choice (a store on
        // a private network); object_store refuses it unless told.
        let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
            .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
            .or_else(|_| std::env::var("AWS_ENDPOINT"))
            .unwrap_or_default();
        if endpoint.starts_with("http://") && std::env::var_os("AWS_ALLOW_HTTP").is_none() {
            builder = builder.with_allow_http(true);
        }
        // Few retries, soon given up: the sweep tries again in 10 s anyway,
        // and an upload stuck retrying holds up deletions behind it.
        builder = builder.with_retry(object_store::RetryConfig {
            max_retries: 3,
            retry_timeout: std::time::Duration::from_secs(30),
            ..Default::default()
        });
        let store = builder.build()?;
        Ok(Archive::on(Arc::new(store), &prefix))
    }

    /// Any object store under `prefix` (tests use the in-memory one).
    pub fn on(store: Arc<dyn ObjectStore>, prefix: &str) -> Archive {
        Archive {
            bucket: Some(Arc::new(Bucket {
                store,
                prefix: prefix.trim_matches('/').to_string(),
                busy: tokio::sync::Mutex::new(()),
            })),
        }
    }

    pub fn is_bucket(&self) -> bool {
        self.bucket.is_some()
    }

    /// Uploads the settled recording in `dir`: every file its manifest
    /// lists, each checked by size in the bucket, the manifest last; then
    /// removes `dir`. Returns the bytes uploaded. A failure leaves `dir`
    /// as it was, to be tried again.
    pub async fn upload(&self, id: &str, dir: &Path) -> Result<u64, ArchiveError> {
        let Some(b) = &self.bucket else {
            return Ok(0);
        };
        let _one = b.busy.lock().await;
        // Read under the lock: a deletion that ran while this waited has
        // removed the folder, and nothing may go up after it.
        let m = match read_manifest(dir).await {
            Ok(m) => m,
            Err(ArchiveError::Manifest(manifest::ManifestError::Io(e)))
                if e.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(0);
            }
            Err(e) => return Err(e),
        };
        let mut bytes = 0;
        for name in m.files().filter(|f| *f != manifest::FILE_NAME) {
            let path = dir.join(name);
            // A listed file may never have been written (a track with no
            // packet); there is nothing to keep of it.
            if !tokio::fs::try_exists(&path).await? {
                continue;
            }
            bytes += b.put_file(id, name, &path).await?;
        }
        // Last, so a manifest in the bucket always names files that are
        // already there.
        bytes += b
            .put_file(id, manifest::FILE_NAME, &dir.join(manifest::FILE_NAME))
            .await?;
        tokio::fs::remove_dir_all(dir).await?;
        // The whole recording is up: its chunks say nothing more. One left
        // behind costs storage only (a deletion lists them too).
        if let Err(e) = b.delete_under(&b.folder(id).join(CHUNKS)).await {
            tracing::debug!(recording = id, error = %e, "could not delete a recording's chunks");
        }
        Ok(bytes)
    }

    /// Sends what the recording's files gained since `shipped` (file name
    /// → bytes already in the bucket, updated), and its manifest as it is
    /// now. Returns the bytes sent.
    pub async fn ship(
        &self,
        id: &str,
        dir: &Path,
        shipped: &mut BTreeMap<String, u64>,
    ) -> Result<u64, ArchiveError> {
        let Some(b) = &self.bucket else {
            return Ok(0);
        };
        let m = read_manifest(dir).await?;
        let mut bytes = 0;
        for track in &m.tracks {
            let path = dir.join(&track.file);
            let Ok(meta) = tokio::fs::metadata(&path).await else {
                continue; // not written yet
            };
            let from = shipped.get(&track.file).copied().unwrap_or(0);
            let len = meta.len();
            if len <= from {
                continue;
            }
            let gained = read_range(&path, from, len).await?;
            let key = b
                .folder(id)
                .join(CHUNKS)
                .join(track.file.as_str())
                .join(format!("{from:020}"));
            b.store.put(&key, gained.into()).await?;
            bytes += len - from;
            shipped.insert(track.file.clone(), len);
        }
        let now = tokio::fs::read(dir.join(manifest::FILE_NAME)).await?;
        b.store
            .put(
                &b.folder(id).join(CHUNKS).join(manifest::FILE_NAME),
                now.into(),
            )
            .await?;
        Ok(bytes)
    }

    /// Puts a recording another node was writing back together in `dir`
    /// from its chunks: the manifest as last sent, and each file as far as
    /// its chunks lie end to end. False when there is nothing to go on
    /// (no chunk manifest: it died within its first seconds).
    pub async fn reassemble(&self, id: &str, dir: &Path) -> Result<bool, ArchiveError> {
        let Some(b) = &self.bucket else {
            return Ok(false);
        };
        let chunks = b.folder(id).join(CHUNKS);
        let mut listed = b.store.list(Some(&chunks));
        // file name → (offset, size, key)
        let mut files: BTreeMap<String, Vec<(u64, u64, ObjectPath)>> = BTreeMap::new();
        let mut has_manifest = false;
        while let Some(meta) = listed.next().await {
            let meta = meta?;
            let Some(rest) = meta.location.prefix_match(&chunks) else {
                continue;
            };
            let parts: Vec<String> = rest.map(|p| p.as_ref().to_string()).collect();
            match parts.as_slice() {
                [name] if name.as_str() == manifest::FILE_NAME => has_manifest = true,
                [file, offset] if super::files::is_plain_name(file) => {
                    if let Ok(offset) = offset.parse::<u64>() {
                        files.entry(file.clone()).or_default().push((
                            offset,
                            meta.size,
                            meta.location.clone(),
                        ));
                    }
                }
                _ => {}
            }
        }
        if !has_manifest {
            return Ok(false);
        }
        tokio::fs::create_dir_all(dir).await?;
        let got = b.store.get(&chunks.join(manifest::FILE_NAME)).await?;
        tokio::fs::write(dir.join(manifest::FILE_NAME), got.bytes().await?).await?;
        for (file, mut parts) in files {
            parts.sort_by_key(|p| p.0);
            let spans: Vec<(u64, u64)> = parts.iter().map(|p| (p.0, p.1)).collect();
            let take = contiguous(&spans);
            if take < parts.len() {
                tracing::warn!(
                    recording = id,
                    file,
                    "a chunk is missing: the file ends before it"
                );
            }
            let mut out = tokio::fs::File::create(dir.join(&file)).await?;
            for (_, _, key) in &parts[..take] {
                let got = b.store.get(key).await?;
                out.write_all(&got.bytes().await?).await?;
            }
            out.sync_all().await?;
        }
        Ok(true)
    }

    /// Makes `dir` hold the recording's manifest and transcript files,
    /// fetched from the bucket when the folder does not have them (the
    /// recording was uploaded). Without a bucket, or for a recording the
    /// bucket does not hold, does nothing.
    pub async fn fetch_manifest(&self, id: &str, dir: &Path) -> Result<(), ArchiveError> {
        let Some(b) = &self.bucket else {
            return Ok(());
        };
        if tokio::fs::try_exists(dir.join(manifest::FILE_NAME)).await? {
            return Ok(());
        }
        let sizes = b.sizes(id).await?;
        if !sizes.contains_key(manifest::FILE_NAME) {
            return Ok(());
        }
        tokio::fs::create_dir_all(dir).await?;
        tokio::fs::write(
            dir.join(COPY_MARK),
            serde_json::to_vec(&sizes).unwrap_or_default(),
        )
        .await?;
        b.get_file(id, manifest::FILE_NAME, dir).await?;
        let m = read_manifest(dir).await?;
        for name in m.transcript.iter().flat_map(|t| t.files.iter()) {
            b.get_file(id, name, dir).await?;
        }
        Ok(())
    }

    /// Makes `dir/name` exist, fetched from the bucket if `dir` is a copy
    /// that lacks it. `name` must be one the manifest lists.
    pub async fn fetch_file(&self, id: &str, dir: &Path, name: &str) -> Result<(), ArchiveError> {
        let Some(b) = &self.bucket else {
            return Ok(());
        };
        if !is_copy(dir) || tokio::fs::try_exists(dir.join(name)).await? {
            return Ok(());
        }
        b.get_file(id, name, dir).await
    }

    /// Puts a copy's changed manifest back and deletes `gone` from the
    /// bucket (a media deletion that keeps the transcript).
    pub async fn rewrite(&self, id: &str, dir: &Path, gone: &[String]) -> Result<(), ArchiveError> {
        let Some(b) = &self.bucket else {
            return Ok(());
        };
        if !is_copy(dir) {
            return Ok(());
        }
        let _one = b.busy.lock().await;
        b.put_file(id, manifest::FILE_NAME, &dir.join(manifest::FILE_NAME))
            .await?;
        for name in gone {
            match b.store.delete(&b.key(id, name)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Deletes every object of the recording.
    pub async fn delete(&self, id: &str) -> Result<(), ArchiveError> {
        let Some(b) = &self.bucket else {
            return Ok(());
        };
        let _one = b.busy.lock().await;
        b.delete_under(&b.folder(id)).await
    }
}

/// Bytes `from..to` of the file at `path`.
async fn read_range(path: &Path, from: u64, to: u64) -> Result<Vec<u8>, ArchiveError> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut file = tokio::fs::File::open(path).await?;
    file.seek(std::io::SeekFrom::Start(from)).await?;
    let mut out = vec![0; usize::try_from(to - from).unwrap_or(0)];
    file.read_exact(&mut out).await?;
    Ok(out)
}

/// Whether `dir` is a copy fetched from the bucket.
pub fn is_copy(dir: &Path) -> bool {
    dir.join(COPY_MARK).is_file()
}

/// The sizes of the recording's files in the bucket, from a copy's mark.
pub fn stored_sizes(dir: &Path) -> Option<BTreeMap<String, u64>> {
    let bytes = std::fs::read(dir.join(COPY_MARK)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

async fn read_manifest(dir: &Path) -> Result<Manifest, ArchiveError> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || manifest::read(&dir))
        .await
        .map_err(|e| ArchiveError::Io(std::io::Error::other(e.to_string())))?
        .map_err(ArchiveError::Manifest)
}

impl Bucket {
    fn folder(&self, id: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(format!("recordings/{id}"))
        } else {
            ObjectPath::from(format!("{}/recordings/{id}", self.prefix))
        }
    }

    fn key(&self, id: &str, name: &str) -> ObjectPath {
        self.folder(id).join(name)
    }

    /// Streams one file up (in parts when it is large) and checks that
    /// the bucket holds as many bytes as the file has.
    async fn put_file(&self, id: &str, name: &str, path: &Path) -> Result<u64, ArchiveError> {
        let key = self.key(id, name);
        let mut file = tokio::fs::File::open(path).await?;
        let local = file.metadata().await?.len();
        let mut up = object_store::buffered::BufWriter::new(self.store.clone(), key.clone());
        if let Err(e) = tokio::io::copy(&mut file, &mut up).await {
            // Unfinished parts cost storage until aborted.
            if let Err(abort) = up.abort().await {
                tracing::debug!(error = %abort, "could not abort a failed upload");
            }
            return Err(e.into());
        }
        up.shutdown().await?;
        let stored = self.store.head(&key).await?.size;
        if stored != local {
            return Err(ArchiveError::SizeMismatch {
                file: name.to_string(),
                local,
                stored,
            });
        }
        Ok(local)
    }

    /// Streams one object down into `dir/name`, whole or not at all.
    async fn get_file(&self, id: &str, name: &str, dir: &Path) -> Result<(), ArchiveError> {
        let key = self.key(id, name);
        let got = match self.store.get(&key).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(ArchiveError::Missing(key.to_string()));
            }
            Err(e) => return Err(e.into()),
        };
        let part = dir.join(format!(".{name}.part"));
        let mut out = tokio::fs::File::create(&part).await?;
        let mut body = got.into_stream();
        while let Some(chunk) = body.next().await {
            out.write_all(&chunk?).await?;
        }
        out.sync_all().await?;
        drop(out);
        tokio::fs::rename(&part, dir.join(name)).await?;
        Ok(())
    }

    /// Every file of the recording (not its chunks), by name, with its
    /// size.
    async fn sizes(&self, id: &str) -> Result<BTreeMap<String, u64>, ArchiveError> {
        let folder = self.folder(id);
        let listed = self.store.list_with_delimiter(Some(&folder)).await?;
        Ok(listed
            .objects
            .into_iter()
            .filter_map(|meta| Some((meta.location.filename()?.to_string(), meta.size)))
            .collect())
    }

    /// Deletes every object under `folder`.
    async fn delete_under(&self, folder: &ObjectPath) -> Result<(), ArchiveError> {
        let mut listed = self.store.list(Some(folder));
        let mut keys = Vec::new();
        while let Some(meta) = listed.next().await {
            keys.push(meta?.location);
        }
        for key in keys {
            match self.store.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
