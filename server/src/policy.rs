//! The deployment's recording policy as it applies now: whether recording is
//! allowed, how long recordings are kept, and the consent notice people
//! agree to. The config file gives the starting values; what an admin
//! changes (console or API) is stored and wins from then on.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use duet_signaling::protocol::RecordingPolicy;
use tokio::sync::watch;

use crate::config::Config;
use crate::store::{NewNotice, NoticeVersion, Store, StoreError};

const KEY_RECORDING_ALLOWED: &str = "recording_allowed";
const KEY_RETENTION_DAYS: &str = "retention_days";
const KEY_NOTICE_HASH: &str = "notice_hash";
/// The translations in use: a JSON object, language → notice hash.
const KEY_NOTICE_TRANSLATIONS: &str = "notice_translations";
/// Longest notice text, in bytes, in any language.
const MAX_NOTICE_BYTES: usize = 20_000;

/// The deployment's recording notice, and its hash that consents refer to.
#[derive(Debug, Clone)]
pub struct Notice {
    pub text: Arc<str>,
    pub hash: String,
}

impl Notice {
    pub fn new(text: &str) -> Notice {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(text.as_bytes());
        Notice {
            text: Arc::from(text),
            hash: digest.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

/// A session's recording policy as it applies: off on a deployment that
/// does not record, whatever the session says.
pub fn effective_policy(recording_allowed: bool, policy: RecordingPolicy) -> RecordingPolicy {
    if recording_allowed {
        policy
    } else {
        RecordingPolicy::Off
    }
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub recording_allowed: bool,
    pub retention_days: u32,
    pub notice: Notice,
    pub notice_version: i64,
    /// The notice in other languages, as the operator wrote it (by ISO 639
    /// code): people whose page is in that language read and consent to it.
    pub translations: BTreeMap<String, Notice>,
}

/// Why `text` cannot be the notice in `language`, if it cannot.
pub fn translation_problem(language: &str, text: &str) -> Option<String> {
    // The page asks for its language by the bare code (`es`), so that is
    // what a translation is filed under; regional variants would never be
    // picked.
    let code =
        (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_lowercase());
    if !code {
        return Some(format!(
            "{language:?} is not a language code: use two or three lowercase letters (es, ja, de)"
        ));
    }
    let text = text.trim();
    if text.is_empty() {
        return Some(format!("the notice in {language:?} is empty"));
    }
    if text.len() > MAX_NOTICE_BYTES {
        return Some(format!(
            "the notice in {language:?} must be at most {MAX_NOTICE_BYTES} bytes"
        ));
    }
    None
}

/// A change an admin asks for; `None` keeps the current value.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyChange {
    pub recording_allowed: Option<bool>,
    pub retention_days: Option<u32>,
    pub notice: Option<String>,
    /// The notice's translations, all of them: a language left out is
    /// removed (its texts stay stored, as every version does).
    pub notices: Option<BTreeMap<String, String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The current policy, shared by every handler and room.
#[derive(Clone)]
pub struct Policies {
    current: Arc<RwLock<Policy>>,
    /// Bumped after each change, so live rooms can follow it (the hub).
    changes: Arc<watch::Sender<u64>>,
    /// Held by an update from reading the current policy until the new one
    /// is stored and published: two admins changing different fields at
    /// once would otherwise each build on the old policy, and the later
    /// write would undo the earlier change. A tokio mutex, as it is held
    /// across the store's await; reads (`current`) never take it.
    updating: Arc<tokio::sync::Mutex<()>>,
}

impl Policies {
    /// The stored policy over the config's; the config's notice is recorded
    /// as a version the first time it is seen.
    pub async fn load(store: &Store, config: &Config, now_ms: i64) -> Result<Policies, StoreError> {
        let allowed = match store.policy_value(KEY_RECORDING_ALLOWED).await? {
            Some(v) => v == "true",
            None => config.recording.enabled,
        };
        let retention_days = match store.policy_value(KEY_RETENTION_DAYS).await? {
            Some(v) => v.parse().unwrap_or(config.retention.recordings_days),
            None => config.retention.recordings_days,
        };
        let stored_hash = store.policy_value(KEY_NOTICE_HASH).await?;
        let notices = store.notices().await?;
        let notice = match stored_hash.and_then(|h| notices.into_iter().find(|n| n.hash == h)) {
            Some(stored) => Notice::new(crate::config::matching_notice(
                &stored.text,
                config.recording.admin_access,
            )),
            None => Notice::new(config.recording.notice_text()),
        };
        let version = store
            .notice_version(&new_notice(&notice, "", now_ms, "config"))
            .await?;
        let translations =
            load_translations(store, config, &notices_by_hash(store).await?, now_ms).await?;
        Ok(Policies {
            current: Arc::new(RwLock::new(Policy {
                recording_allowed: allowed,
                retention_days,
                notice,
                notice_version: version.version,
                translations,
            })),
            changes: Arc::new(watch::Sender::new(0)),
            updating: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// Changes as they happen: the value is a count of changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    pub fn current(&self) -> Policy {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Applies and stores `change`; a new notice text becomes a new version.
    /// Every field is checked before anything is written, and everything
    /// is written in one transaction, so a refused or failed change leaves
    /// the stored and the live policy as they were.
    /// Returns the new policy and what changed, for the audit log.
    pub async fn update(
        &self,
        store: &Store,
        change: PolicyChange,
        actor: &str,
        now_ms: i64,
    ) -> Result<(Policy, Vec<String>), PolicyError> {
        change.check()?;
        let _updating = self.updating.lock().await;
        let mut next = self.current();
        let mut changed = Vec::new();
        let mut values = Vec::new();
        if let Some(allowed) = change.recording_allowed
            && allowed != next.recording_allowed
        {
            values.push((KEY_RECORDING_ALLOWED, allowed.to_string()));
            next.recording_allowed = allowed;
            changed.push(format!("recording_allowed = {allowed}"));
        }
        if let Some(days) = change.retention_days
            && days != next.retention_days
        {
            values.push((KEY_RETENTION_DAYS, days.to_string()));
            next.retention_days = days;
            changed.push(format!("retention_days = {days}"));
        }
        let notice = change
            .notice
            .map(|text| Notice::new(text.trim()))
            .filter(|n| n.hash != next.notice.hash);
        let mut new_notices = Vec::new();
        if let Some(n) = &notice {
            values.push((KEY_NOTICE_HASH, n.hash.clone()));
            new_notices.push(new_notice(n, "", now_ms, actor));
        }
        let translations: Option<BTreeMap<String, Notice>> = change
            .notices
            .map(|all| {
                all.iter()
                    .map(|(language, text)| (language.clone(), Notice::new(text.trim())))
                    .collect()
            })
            .filter(|t| hashes(t) != hashes(&next.translations));
        if let Some(t) = &translations {
            values.push((
                KEY_NOTICE_TRANSLATIONS,
                serde_json::to_string(&hashes(t)).unwrap_or_default(),
            ));
            new_notices.extend(
                t.iter()
                    .map(|(language, n)| new_notice(n, language, now_ms, actor)),
            );
        }
        let versions: Vec<NoticeVersion> = store.apply_policy(values, new_notices).await?;
        let mut versions = versions.into_iter();
        if let Some(notice) = notice {
            if let Some(version) = versions.next() {
                changed.push(format!("notice = version {}", version.version));
                next.notice_version = version.version;
            }
            next.notice = notice;
        }
        if let Some(t) = translations {
            let list: Vec<String> = versions
                .map(|v| format!("{} version {}", v.language, v.version))
                .collect();
            changed.push(if list.is_empty() {
                "notices = none".to_string()
            } else {
                format!("notices = {}", list.join(", "))
            });
            next.translations = t;
        }
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = next.clone();
        // Live rooms follow at once (recording off stops what runs).
        self.changes.send_modify(|n| *n += 1);
        Ok((next, changed))
    }
}

fn new_notice(notice: &Notice, language: &str, now_ms: i64, created_by: &str) -> NewNotice {
    NewNotice {
        hash: notice.hash.clone(),
        text: notice.text.to_string(),
        language: language.to_string(),
        now_ms,
        created_by: created_by.to_string(),
    }
}

/// Language → hash: what is stored, and what tells two sets apart.
fn hashes(translations: &BTreeMap<String, Notice>) -> BTreeMap<String, String> {
    translations
        .iter()
        .map(|(language, n)| (language.clone(), n.hash.clone()))
        .collect()
}

async fn notices_by_hash(store: &Store) -> Result<BTreeMap<String, Arc<str>>, StoreError> {
    Ok(store
        .notices()
        .await?
        .into_iter()
        .map(|n| (n.hash, Arc::from(n.text.as_str())))
        .collect())
}

/// The translations an admin set (stored as language → hash), else the
/// config's, each recorded as a version of its own the first time.
async fn load_translations(
    store: &Store,
    config: &Config,
    stored_texts: &BTreeMap<String, Arc<str>>,
    now_ms: i64,
) -> Result<BTreeMap<String, Notice>, StoreError> {
    let stored: Option<BTreeMap<String, String>> = store
        .policy_value(KEY_NOTICE_TRANSLATIONS)
        .await?
        .and_then(|json| serde_json::from_str(&json).ok());
    let translations: BTreeMap<String, Notice> = match stored {
        Some(by_hash) => by_hash
            .into_iter()
            .filter_map(|(language, hash)| {
                stored_texts
                    .get(&hash)
                    .map(|text| (language, Notice::new(text)))
            })
            .collect(),
        None => config
            .recording
            .notices
            .iter()
            .map(|(language, text)| (language.clone(), Notice::new(text.trim())))
            .collect(),
    };
    for (language, notice) in &translations {
        store
            .notice_version(&new_notice(notice, language, now_ms, "config"))
            .await?;
    }
    Ok(translations)
}

impl PolicyChange {
    /// Refuses the change if any field is out of range.
    fn check(&self) -> Result<(), PolicyError> {
        if self.retention_days.is_some_and(|d| d > 36_500) {
            return Err(PolicyError::Invalid {
                field: "retention_days",
                message: "must be at most 36500 (100 years); 0 keeps recordings until deleted"
                    .into(),
            });
        }
        if let Some(text) = &self.notice {
            let text = text.trim();
            if text.is_empty() {
                return Err(PolicyError::Invalid {
                    field: "notice",
                    message: "the consent notice must say what is recorded; it cannot be empty"
                        .into(),
                });
            }
            if text.len() > MAX_NOTICE_BYTES {
                return Err(PolicyError::Invalid {
                    field: "notice",
                    message: format!("the consent notice must be at most {MAX_NOTICE_BYTES} bytes"),
                });
            }
        }
        for (language, text) in self.notices.iter().flatten() {
            if let Some(message) = translation_problem(language, text) {
                return Err(PolicyError::Invalid {
                    field: "notices",
                    message,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
