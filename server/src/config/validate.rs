//! What serde cannot check: ranges and combinations of settings. Every
//! error names the field, as `duet config check` shows it.

use super::{Config, ConfigError};

impl Config {
    /// Settings that are valid but probably not what the operator means,
    /// one sentence each (`duet config check` and start-up print them).
    pub fn warnings(&self) -> Vec<String> {
        use super::{AdminAccess, DEFAULT_NOTICE, DEFAULT_NOTICE_METADATA};
        let r = &self.recording;
        let builtin = r.notice == DEFAULT_NOTICE || r.notice == DEFAULT_NOTICE_METADATA;
        let mut out = Vec::new();
        if r.admin_access == AdminAccess::Metadata && !builtin {
            out.push(
                "recording.admin_access is \"metadata\" and recording.notice is your own text: \
                 make sure it does not tell people that administrators can open their recordings"
                    .to_string(),
            );
        }
        out
    }

    /// Checks what serde cannot: ranges and combinations.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_http_limits()?;
        for (language, text) in &self.recording.notices {
            if let Some(message) = crate::policy::translation_problem(language, text) {
                return Err(ConfigError::Invalid {
                    field: "recording.notices",
                    message,
                });
            }
        }
        if let Some(url) = self.database.url.as_deref().map(str::trim)
            && !url.is_empty()
        {
            crate::store::location::check_url(url).map_err(|message| ConfigError::Invalid {
                field: "database.url",
                message,
            })?;
        }
        if let Some(url) = &self.storage.url {
            crate::recorder::archive::parse_storage_url(url).map_err(|message| {
                ConfigError::Invalid {
                    field: "storage.url",
                    message,
                }
            })?;
        }
        if let Some(problem) = self.node.id.as_deref().and_then(super::node_id_problem) {
            return Err(ConfigError::Invalid {
                field: "node.id",
                message: problem,
            });
        }
        // Plain HTTP inside the deployment: the pipe between nodes does
        // not speak TLS (yet); keep it on a private network.
        if let Some(url) = &self.internal_url
            && !url.starts_with("http://")
        {
            return Err(ConfigError::Invalid {
                field: "internal_url",
                message: format!("{url:?} must start with http:// (the nodes' private network)"),
            });
        }
        if let Some(url) = &self.http.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                field: "http.public_url",
                message: format!("{url:?} must start with http:// or https://"),
            });
        }
        if self.sessions.default_expiry_s == 0 {
            return Err(ConfigError::Invalid {
                field: "sessions.default_expiry_s",
                message: "must be at least 1 second".into(),
            });
        }
        if self.sessions.default_expiry_s > self.sessions.max_expiry_s {
            return Err(ConfigError::Invalid {
                field: "sessions.default_expiry_s",
                message: "must not exceed sessions.max_expiry_s".into(),
            });
        }
        if let Some(shards) = self.media.shards
            && !(1..=crate::media::shard::MAX_SHARDS).contains(&shards)
        {
            return Err(ConfigError::Invalid {
                field: "media.shards",
                message: format!(
                    "{shards} must be between 1 and {} (or unset: one per core)",
                    crate::media::shard::MAX_SHARDS
                ),
            });
        }
        if self.pairs.link_days == 0 || self.pairs.link_days > 3650 {
            return Err(ConfigError::Invalid {
                field: "pairs.link_days",
                message: "must be between 1 and 3650 days".into(),
            });
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(ConfigError::Invalid {
                field: "log.level",
                message: format!("{:?} is not a log filter: {e}", self.log.level),
            });
        }
        if self.recording.notice.trim().is_empty() {
            return Err(ConfigError::Invalid {
                field: "recording.notice",
                message: "the consent notice must say what is recorded; it cannot be empty".into(),
            });
        }
        self.validate_transcription()?;
        if self.signaling.join_timeout_s == 0 {
            return Err(ConfigError::Invalid {
                field: "signaling.join_timeout_s",
                message: "must be at least 1 second".into(),
            });
        }
        if let Err(e) = crate::media::ice_filter::validate(&self.media.ice_deny) {
            return Err(ConfigError::Invalid {
                field: "media.ice_deny",
                message: e.to_string(),
            });
        }
        for server in &self.media.ice_servers {
            if server.urls.is_empty() {
                return Err(ConfigError::Invalid {
                    field: "media.ice_servers.urls",
                    message: "each ICE server needs at least one URL".into(),
                });
            }
            if let Some(bad) = server.urls.iter().find(|u| {
                !(u.starts_with("stun:") || u.starts_with("turn:") || u.starts_with("turns:"))
            }) {
                return Err(ConfigError::Invalid {
                    field: "media.ice_servers.urls",
                    message: format!("{bad:?} must start with stun:, turn: or turns:"),
                });
            }
        }
        for key in &self.auth.api_keys {
            if key.len() < 16 {
                return Err(ConfigError::Invalid {
                    field: "auth.api_keys",
                    message: "API keys must be at least 16 characters".into(),
                });
            }
        }
        if self.http.tls_cert_file.is_some() != self.http.tls_key_file.is_some() {
            return Err(ConfigError::Invalid {
                field: if self.http.tls_cert_file.is_some() {
                    "http.tls_key_file"
                } else {
                    "http.tls_cert_file"
                },
                message: "HTTPS needs both http.tls_cert_file and http.tls_key_file".into(),
            });
        }
        if self.turn.shared_secret.is_some() && self.turn.urls.is_empty() {
            return Err(ConfigError::Invalid {
                field: "turn.urls",
                message: "turn.shared_secret is set but there is no TURN URL to use it with".into(),
            });
        }
        if !self.turn.urls.is_empty() && self.turn.shared_secret.is_none() {
            return Err(ConfigError::Invalid {
                field: "turn.shared_secret",
                message: "turn.urls need the shared secret of the TURN server (coturn's \
                          static-auth-secret); for fixed credentials use media.ice_servers"
                    .into(),
            });
        }
        if let Some(secret) = &self.turn.shared_secret
            && secret.len() < 16
        {
            return Err(ConfigError::Invalid {
                field: "turn.shared_secret",
                message: "must be at least 16 characters".into(),
            });
        }
        if let Some(bad) = self
            .turn
            .urls
            .iter()
            .find(|u| !(u.starts_with("turn:") || u.starts_with("turns:")))
        {
            return Err(ConfigError::Invalid {
                field: "turn.urls",
                message: format!("{bad:?} must start with turn: or turns:"),
            });
        }
        if self.turn.credential_ttl_s < 60 {
            return Err(ConfigError::Invalid {
                field: "turn.credential_ttl_s",
                message: "must be at least 60 seconds (credentials must outlast the call setup)"
                    .into(),
            });
        }
        if self.media.ice_tcp
            && self.media.tcp_port != 0
            && self.media.tcp_port == self.http.listen.port()
        {
            return Err(ConfigError::Invalid {
                field: "media.tcp_port",
                message: "is the HTTP listen port; ICE-TCP needs a port of its own".into(),
            });
        }
        Ok(())
    }

    fn validate_transcription(&self) -> Result<(), ConfigError> {
        let t = &self.transcription;
        if !(1..=64).contains(&t.threads) {
            return Err(ConfigError::Invalid {
                field: "transcription.threads",
                message: "must be between 1 and 64".into(),
            });
        }
        if !(1..=16).contains(&t.jobs) {
            return Err(ConfigError::Invalid {
                field: "transcription.jobs",
                message: "must be between 1 and 16".into(),
            });
        }
        let lang = t.language.as_str();
        let code = (2..=3).contains(&lang.len()) && lang.chars().all(|c| c.is_ascii_lowercase());
        if lang != "auto" && !code {
            return Err(ConfigError::Invalid {
                field: "transcription.language",
                message: format!("{lang:?} must be `auto` or a language code such as `en`"),
            });
        }
        if !(t.models_url.starts_with("http://") || t.models_url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                field: "transcription.models_url",
                message: "must start with http:// or https://".into(),
            });
        }
        if self.captions.max_speakers.is_some_and(|n| n > 256) {
            return Err(ConfigError::Invalid {
                field: "captions.max_speakers",
                message: "must be between 0 and 256".into(),
            });
        }
        Ok(())
    }

    fn validate_http_limits(&self) -> Result<(), ConfigError> {
        let http = &self.http;
        let at_least_one = [
            ("http.header_timeout_s", http.header_timeout_s as usize),
            ("http.idle_timeout_s", http.idle_timeout_s as usize),
            ("http.max_connections", http.max_connections),
            (
                "http.max_websockets_per_address",
                http.max_websockets_per_address,
            ),
            (
                "http.max_downloads_per_credential",
                http.max_downloads_per_credential,
            ),
        ];
        if let Some((field, _)) = at_least_one.iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError::Invalid {
                field,
                message: "must be at least 1".into(),
            });
        }
        crate::cidr::parse_all(&http.trusted_proxies).map_err(|e| ConfigError::Invalid {
            field: "http.trusted_proxies",
            message: e.to_string(),
        })?;
        Ok(())
    }

    /// The base of join links, without a trailing slash.
    pub fn public_base_url(&self) -> String {
        match &self.http.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None if self.http.tls_cert_file.is_some() => format!("https://{}", self.http.listen),
            None => format!("http://{}", self.http.listen),
        }
    }
}
