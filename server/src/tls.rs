//! HTTPS on the HTTP listener, with a certificate that can be replaced
//! while the server runs.
//!
//! [`CertReloader`] holds the certificate every new handshake gets.
//! [`CertReloader::reload`] reads the files again and swaps the certificate
//! in only if they parse and the key fits; otherwise the old one stays, so a
//! half-written renewal never leaves the server without TLS. The `duet`
//! process calls it on SIGHUP ([`reload_on_sighup`]); tests call it directly.

mod handshake;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

pub use handshake::handshake;

/// Each message names the file and carries its cause in full, because the
/// reload warning shows only this message; so no field is a `#[source]`
/// (the binary's error chain would print the cause twice).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} file {}: {cause}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{what} file {} is not usable PEM: {cause}", path.display())]
    Pem {
        what: &'static str,
        path: PathBuf,
        cause: pem::Error,
    },
    #[error("certificate file {} holds no certificate", path.display())]
    NoCertificate { path: PathBuf },
    #[error("key file {} holds no private key", path.display())]
    NoKey { path: PathBuf },
    #[error("key file {} does not fit certificate file {}: {cause}", key.display(), cert.display())]
    Key {
        cert: PathBuf,
        key: PathBuf,
        cause: rustls::Error,
    },
    #[error("TLS setup: {0}")]
    Setup(rustls::Error),
}

/// The certificate and key files, and the certificate currently served.
#[derive(Debug, Clone)]
pub struct CertReloader {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: Arc<CurrentCert>,
}

impl CertReloader {
    /// Loads both files; fails, naming the file, if either is unusable.
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<CertReloader, TlsError> {
        let key = load_pair(cert_file, key_file)?;
        Ok(CertReloader {
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            current: Arc::new(CurrentCert(RwLock::new(Arc::new(key)))),
        })
    }

    /// Reads both files again. New handshakes get the new certificate only
    /// if the files are usable; on error the previous one stays in use.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = load_pair(&self.cert_file, &self.key_file)?;
        *self.current.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
        Ok(())
    }

    /// The end-entity certificate (DER) new handshakes get.
    pub fn served_cert(&self) -> Option<CertificateDer<'static>> {
        self.current.get().cert.first().cloned()
    }

    /// A rustls server config that asks this reloader for the certificate
    /// on every handshake.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Setup)?
            .with_no_client_auth()
            .with_cert_resolver(self.current.clone());
        // The server speaks HTTP/1.1 only (WebSockets upgrade over it).
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

#[derive(Debug)]
struct CurrentCert(RwLock<Arc<CertifiedKey>>);

impl CurrentCert {
    fn get(&self) -> Arc<CertifiedKey> {
        // Nothing panics while holding the lock, so poisoning cannot lose a
        // half-written value.
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl ResolvesServerCert for CurrentCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

fn load_pair(cert_file: &Path, key_file: &Path) -> Result<CertifiedKey, TlsError> {
    let cert_pem = read(cert_file, "certificate")?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|cause| TlsError::Pem {
            what: "certificate",
            path: cert_file.to_path_buf(),
            cause,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert_file.to_path_buf(),
        });
    }
    let key_pem = read(key_file, "key")?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|cause| match cause {
        pem::Error::NoItemsFound => TlsError::NoKey {
            path: key_file.to_path_buf(),
        },
        cause => TlsError::Pem {
            what: "key",
            path: key_file.to_path_buf(),
            cause,
        },
    })?;
    CertifiedKey::from_der(chain, key, &rustls::crypto::ring::default_provider()).map_err(|cause| {
        TlsError::Key {
            cert: cert_file.to_path_buf(),
            key: key_file.to_path_buf(),
            cause,
        }
    })
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|cause| TlsError::Read {
        what,
        path: path.to_path_buf(),
        cause,
    })
}

/// Reloads the certificate on every SIGHUP until the task is aborted.
/// Registers the handler before returning, so a SIGHUP sent after this
/// call never falls back to the default action (ending the process).
/// Without TLS (`None`) a SIGHUP has nothing to reload and is only logged:
/// `systemctl reload` must never end a plain-HTTP server.
#[cfg(unix)]
pub fn reload_on_sighup(
    reloader: Option<CertReloader>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let Some(reloader) = reloader.clone() else {
                tracing::info!("SIGHUP: nothing to reload (Duet serves plain HTTP)");
                continue;
            };
            // File reads block; keep them off the async workers.
            match tokio::task::spawn_blocking(move || reloader.reload()).await {
                Ok(Ok(())) => tracing::info!("SIGHUP: TLS certificate reloaded"),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "SIGHUP: TLS certificate not reloaded; still serving the previous one")
                }
                Err(e) => tracing::warn!(error = %e, "SIGHUP: TLS reload task failed"),
            }
        }
    }))
}
