//! SQLite's DDL, migrations 1 to 7 exactly as every earlier version of Duet
//! applied them (databases made by those open without loss); later ones
//! follow. Times and counts are INTEGER (64-bit in SQLite), the trail's and
//! the audit log's append-only rules are triggers raising an abort.

/// 1: sessions and API keys.
pub(super) const V1: &str = "CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        mentor_name TEXT NOT NULL,
        mentee_name TEXT NOT NULL,
        mentor_link TEXT NOT NULL,
        mentee_link TEXT NOT NULL,
        recording TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        ended_at INTEGER
    );
    CREATE INDEX sessions_created ON sessions (created_at);
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
    );";

/// 2: consent trail (append-only, enforced here, not by convention) and
/// recordings.
pub(super) const V2: &str = "CREATE TABLE consent_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        recording_id TEXT NOT NULL,
        action TEXT NOT NULL,
        role TEXT,
        participant_id TEXT,
        actor TEXT,
        at_ms INTEGER NOT NULL,
        notice_hash TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX consent_events_session ON consent_events (session_id, seq);
    CREATE INDEX consent_events_recording ON consent_events (recording_id, seq);
    CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
        BEGIN SELECT RAISE(ABORT, 'the consent trail is append-only'); END;
    CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
        BEGIN SELECT RAISE(ABORT, 'the consent trail is append-only'); END;
    CREATE TABLE recordings (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at_ms INTEGER NOT NULL,
        stopped_at_ms INTEGER,
        deleted_at_ms INTEGER,
        deleted_by TEXT
    );
    CREATE INDEX recordings_session ON recordings (session_id);";

/// 3: admin accounts and their console sessions, the admin audit log
/// (append-only like the trail), the stored policy and the consent
/// notice's versions.
pub(super) const V3: &str = "CREATE TABLE admins (
        username TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
    );
    CREATE TABLE admin_sessions (
        token_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        expires_at_ms INTEGER NOT NULL
    );
    CREATE TABLE admin_audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        detail TEXT
    );
    CREATE TRIGGER admin_audit_no_update BEFORE UPDATE ON admin_audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER admin_audit_no_delete BEFORE DELETE ON admin_audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TABLE policy (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE notices (
        version INTEGER PRIMARY KEY AUTOINCREMENT,
        hash TEXT NOT NULL UNIQUE,
        text TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        created_by TEXT NOT NULL
    );
    CREATE TRIGGER notices_no_update BEFORE UPDATE ON notices
        BEGIN SELECT RAISE(ABORT, 'notice versions are never rewritten'); END;";

/// 4: transcription jobs, one per recording, so queued and running jobs
/// survive a restart.
pub(super) const V4: &str = "CREATE TABLE transcription_jobs (
        recording_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        progress REAL NOT NULL DEFAULT 0,
        language TEXT,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        queued_at_ms INTEGER NOT NULL,
        started_at_ms INTEGER,
        finished_at_ms INTEGER
    );
    CREATE INDEX transcription_jobs_status ON transcription_jobs (status, queued_at_ms);";

/// 5: mentoring pairs and what they keep between calls. A pair's calls
/// are rows of `sessions` that name it, one per scheduled occurrence
/// (the unique index makes the two people's joins meet in one row).
/// Everything a pair owns goes with it (ON DELETE CASCADE); the consent
/// trail and audit log stay, as for any deletion.
pub(super) const V5: &str = "CREATE TABLE pairs (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        goal TEXT NOT NULL DEFAULT '',
        recording TEXT NOT NULL,
        mentor_name TEXT NOT NULL,
        mentor_email TEXT,
        mentor_time_zone TEXT,
        mentee_name TEXT NOT NULL,
        mentee_email TEXT,
        mentee_time_zone TEXT,
        agreement_text TEXT NOT NULL,
        agreement_version INTEGER NOT NULL DEFAULT 1,
        mentor_confirmed INTEGER NOT NULL DEFAULT 0,
        mentee_confirmed INTEGER NOT NULL DEFAULT 0,
        mentor_read_seq INTEGER NOT NULL DEFAULT 0,
        mentee_read_seq INTEGER NOT NULL DEFAULT 0,
        created_at_ms INTEGER NOT NULL,
        ended_at_ms INTEGER
    );
    CREATE TABLE pair_links (
        id TEXT PRIMARY KEY,
        pair_id TEXT NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        issued_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        revoked_at_ms INTEGER
    );
    CREATE INDEX pair_links_pair ON pair_links (pair_id, role);
    CREATE TABLE pair_schedules (
        id TEXT PRIMARY KEY,
        pair_id TEXT NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        starts_at_ms INTEGER NOT NULL,
        duration_min INTEGER NOT NULL,
        time_zone TEXT NOT NULL,
        recurrence TEXT,
        skipped TEXT NOT NULL DEFAULT '[]',
        recording TEXT NOT NULL,
        sequence INTEGER NOT NULL DEFAULT 0,
        created_by TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        cancelled_at_ms INTEGER
    );
    CREATE INDEX pair_schedules_pair ON pair_schedules (pair_id);
    ALTER TABLE sessions ADD COLUMN pair_id TEXT;
    ALTER TABLE sessions ADD COLUMN schedule_id TEXT;
    ALTER TABLE sessions ADD COLUMN occurrence_ms INTEGER;
    CREATE INDEX sessions_pair ON sessions (pair_id, created_at);
    CREATE UNIQUE INDEX sessions_occurrence ON sessions (schedule_id, occurrence_ms)
        WHERE schedule_id IS NOT NULL;
    CREATE TABLE pair_agenda (
        id TEXT PRIMARY KEY,
        pair_id TEXT NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        position INTEGER NOT NULL,
        added_by TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        done_at_ms INTEGER,
        done_by TEXT
    );
    CREATE INDEX pair_agenda_pair ON pair_agenda (pair_id, position);
    CREATE TABLE pair_actions (
        id TEXT PRIMARY KEY,
        pair_id TEXT NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        owner TEXT NOT NULL,
        due TEXT,
        created_by TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        done_at_ms INTEGER
    );
    CREATE INDEX pair_actions_pair ON pair_actions (pair_id, created_at_ms);
    CREATE TABLE pair_notes (
        id TEXT PRIMARY KEY,
        pair_id TEXT NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        session_id TEXT,
        author TEXT NOT NULL,
        visibility TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
    );
    CREATE INDEX pair_notes_pair ON pair_notes (pair_id, created_at_ms);
    CREATE TABLE pair_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        pair_id TEXT NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        author TEXT NOT NULL,
        text TEXT NOT NULL,
        at_ms INTEGER NOT NULL
    );
    CREATE INDEX pair_messages_pair ON pair_messages (pair_id, seq);";

/// 6: each session's call, recorded or not: when the first person
/// joined, when both were first in it together, when the last one left,
/// how long both were in it (summed over stretches) and how long each
/// talked. One row per session anyone joined, rewritten whole by the
/// room (`store/call_stats.rs`). Keyed by session id without a foreign
/// key, like `recordings.session_id`.
pub(super) const V6: &str = "CREATE TABLE call_stats (
        session_id TEXT PRIMARY KEY,
        first_joined_at_ms INTEGER NOT NULL,
        together_since_ms INTEGER,
        last_left_at_ms INTEGER,
        together_ms INTEGER NOT NULL DEFAULT 0,
        mentor_talk_ms INTEGER NOT NULL DEFAULT 0,
        mentee_talk_ms INTEGER NOT NULL DEFAULT 0,
        updated_at_ms INTEGER NOT NULL
    );";

/// 7: moments, bookmarks and notes at a time (`reflection/moments.rs`):
/// on a recording's clock (`recording_id` set) or on the session's.
/// Keyed by session id without a foreign key, like `call_stats`; a
/// deleted pair takes its sessions' moments with it (`store/pairs.rs`).
pub(super) const V7: &str = "CREATE TABLE moments (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        recording_id TEXT,
        clock TEXT NOT NULL,
        at_s REAL NOT NULL,
        kind TEXT NOT NULL,
        author TEXT NOT NULL,
        visibility TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
    );
    CREATE INDEX moments_session ON moments (session_id, created_at_ms);
    CREATE INDEX moments_recording ON moments (recording_id, at_s);";

/// 8: nodes and where each session lives (`store/placement.rs`). Plain
/// rows on one machine too: the single node places every session on
/// itself through the same code.
pub(super) const V8: &str = "CREATE TABLE duet_nodes (
        id TEXT PRIMARY KEY,
        media_addr TEXT NOT NULL,
        internal_url TEXT NOT NULL,
        heartbeat_at_ms BIGINT NOT NULL,
        started_at_ms BIGINT NOT NULL,
        draining BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE duet_placements (
        session_id TEXT PRIMARY KEY,
        node_id TEXT NOT NULL,
        epoch BIGINT NOT NULL,
        placed_at_ms BIGINT NOT NULL
    );
    CREATE INDEX duet_placements_node ON duet_placements (node_id);";

/// 9: who wrote each consent event: the node and its placement's epoch
/// (`store/consent.rs`, `append_consent_fenced`). Empty for older rows
/// and for events not written by a room.
pub(super) const V9: &str = "ALTER TABLE consent_events ADD COLUMN writer_node TEXT;
    ALTER TABLE consent_events ADD COLUMN writer_epoch BIGINT;";

/// 10: secrets several nodes share (`store/secrets.rs`). SQLite serves one
/// node, which keeps its secret in its data folder; the table stays empty.
pub(super) const V10: &str = "CREATE TABLE duet_secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL
    );";

pub(super) const V11: &str = "CREATE TABLE duet_chores (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        until_ms BIGINT NOT NULL
    );";

/// The node writing each recording: only it recovers the recording
/// locally after a restart; another node recovers it from the bucket's
/// chunks once that node is gone. `''`: written before nodes existed.
pub(super) const V12: &str = "ALTER TABLE recordings ADD COLUMN node TEXT NOT NULL DEFAULT '';";

/// The language of a notice text: `''` for the notice itself, a BCP 47
/// tag (`es`) for the operator's translation of it.
pub(super) const V13: &str = "ALTER TABLE notices ADD COLUMN language TEXT NOT NULL DEFAULT '';";
