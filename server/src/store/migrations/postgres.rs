//! PostgreSQL's DDL: the same tables, columns and indexes as `sqlite.rs`,
//! migration by migration, so one number means one schema on both. Where
//! SQLite says INTEGER this says BIGINT (the queries read every integer as
//! `i64`), REAL is DOUBLE PRECISION, AUTOINCREMENT keys are identity
//! columns, and the append-only rules are statement triggers calling
//! `duet_refuse_change`, which raises its argument as an error: UPDATE and
//! DELETE as in SQLite, and TRUNCATE, which SQLite does not have.

/// 1: sessions and API keys.
pub(super) const V1: &str = "CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        mentor_name TEXT NOT NULL,
        mentee_name TEXT NOT NULL,
        mentor_link TEXT NOT NULL,
        mentee_link TEXT NOT NULL,
        recording TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        ended_at BIGINT
    );
    CREATE INDEX sessions_created ON sessions (created_at);
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL
    );";

/// 2: consent trail (append-only, enforced here, not by convention) and
/// recordings. The function that refuses is owned by whoever migrates;
/// see docs/operating.md for keeping the app's role from dropping it.
pub(super) const V2: &str = "CREATE FUNCTION duet_refuse_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '%', TG_ARGV[0];
        END
        $$;
    CREATE TABLE consent_events (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session_id TEXT NOT NULL,
        recording_id TEXT NOT NULL,
        action TEXT NOT NULL,
        role TEXT,
        participant_id TEXT,
        actor TEXT,
        at_ms BIGINT NOT NULL,
        notice_hash TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX consent_events_session ON consent_events (session_id, seq);
    CREATE INDEX consent_events_recording ON consent_events (recording_id, seq);
    CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
        FOR EACH STATEMENT EXECUTE FUNCTION duet_refuse_change('the consent trail is append-only');
    CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
        FOR EACH STATEMENT EXECUTE FUNCTION duet_refuse_change('the consent trail is append-only');
    CREATE TRIGGER consent_events_no_truncate BEFORE TRUNCATE ON consent_events
        FOR EACH STATEMENT EXECUTE FUNCTION duet_refuse_change('the consent trail is append-only');
    CREATE TABLE recordings (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at_ms BIGINT NOT NULL,
        stopped_at_ms BIGINT,
        deleted_at_ms BIGINT,
        deleted_by TEXT
    );
    CREATE INDEX recordings_session ON recordings (session_id);";

/// 3: admin accounts and their console sessions, the admin audit log
/// (append-only like the trail), the stored policy and the consent
/// notice's versions.
pub(super) const V3: &str = "CREATE TABLE admins (
        username TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL
    );
    CREATE TABLE admin_sessions (
        token_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        expires_at_ms BIGINT NOT NULL
    );
    CREATE TABLE admin_audit (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at_ms BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        detail TEXT
    );
    CREATE TRIGGER admin_audit_no_update BEFORE UPDATE ON admin_audit
        FOR EACH STATEMENT EXECUTE FUNCTION duet_refuse_change('the audit log is append-only');
    CREATE TRIGGER admin_audit_no_delete BEFORE DELETE ON admin_audit
        FOR EACH STATEMENT EXECUTE FUNCTION duet_refuse_change('the audit log is append-only');
    CREATE TRIGGER admin_audit_no_truncate BEFORE TRUNCATE ON admin_audit
        FOR EACH STATEMENT EXECUTE FUNCTION duet_refuse_change('the audit log is append-only');
    CREATE TABLE policy (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE notices (
        version BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        text TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        created_by TEXT NOT NULL
    );
    CREATE TRIGGER notices_no_update BEFORE UPDATE ON notices
        FOR EACH STATEMENT EXECUTE FUNCTION duet_refuse_change('notice versions are never rewritten');";

/// 4: transcription jobs, one per recording, so queued and running jobs
/// survive a restart.
pub(super) const V4: &str = "CREATE TABLE transcription_jobs (
        recording_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        progress DOUBLE PRECISION NOT NULL DEFAULT 0,
        language TEXT,
        error TEXT,
        attempts BIGINT NOT NULL DEFAULT 0,
        queued_at_ms BIGINT NOT NULL,
        started_at_ms BIGINT,
        finished_at_ms BIGINT
    );
    CREATE INDEX transcription_jobs_status ON transcription_jobs (status, queued_at_ms);";

/// 5: mentoring pairs and what they keep between calls (see `sqlite.rs`).
/// The agreement's confirmations are versions, 0 for never.
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
        agreement_version BIGINT NOT NULL DEFAULT 1,
        mentor_confirmed BIGINT NOT NULL DEFAULT 0,
        mentee_confirmed BIGINT NOT NULL DEFAULT 0,
        mentor_read_seq BIGINT NOT NULL DEFAULT 0,
        mentee_read_seq BIGINT NOT NULL DEFAULT 0,
        created_at_ms BIGINT NOT NULL,
        ended_at_ms BIGINT
    );
    CREATE TABLE pair_links (
        id TEXT PRIMARY KEY,
        pair_id TEXT NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        issued_at_ms BIGINT NOT NULL,
        expires_at_ms BIGINT NOT NULL,
        revoked_at_ms BIGINT
    );
    CREATE INDEX pair_links_pair ON pair_links (pair_id, role);
    CREATE TABLE pair_schedules (
        id TEXT PRIMARY KEY,
        pair_id TEXT NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        starts_at_ms BIGINT NOT NULL,
        duration_min BIGINT NOT NULL,
        time_zone TEXT NOT NULL,
        recurrence TEXT,
        skipped TEXT NOT NULL DEFAULT '[]',
        recording TEXT NOT NULL,
        sequence BIGINT NOT NULL DEFAULT 0,
        created_by TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL,
        cancelled_at_ms BIGINT
    );
    CREATE INDEX pair_schedules_pair ON pair_schedules (pair_id);
    ALTER TABLE sessions ADD COLUMN pair_id TEXT;
    ALTER TABLE sessions ADD COLUMN schedule_id TEXT;
    ALTER TABLE sessions ADD COLUMN occurrence_ms BIGINT;
    CREATE INDEX sessions_pair ON sessions (pair_id, created_at);
    CREATE UNIQUE INDEX sessions_occurrence ON sessions (schedule_id, occurrence_ms)
        WHERE schedule_id IS NOT NULL;
    CREATE TABLE pair_agenda (
        id TEXT PRIMARY KEY,
        pair_id TEXT NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        position BIGINT NOT NULL,
        added_by TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        done_at_ms BIGINT,
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
        created_at_ms BIGINT NOT NULL,
        done_at_ms BIGINT
    );
    CREATE INDEX pair_actions_pair ON pair_actions (pair_id, created_at_ms);
    CREATE TABLE pair_notes (
        id TEXT PRIMARY KEY,
        pair_id TEXT NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        session_id TEXT,
        author TEXT NOT NULL,
        visibility TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
    );
    CREATE INDEX pair_notes_pair ON pair_notes (pair_id, created_at_ms);
    CREATE TABLE pair_messages (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        pair_id TEXT NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        author TEXT NOT NULL,
        text TEXT NOT NULL,
        at_ms BIGINT NOT NULL
    );
    CREATE INDEX pair_messages_pair ON pair_messages (pair_id, seq);";

/// 6: each session's call (see `sqlite.rs`).
pub(super) const V6: &str = "CREATE TABLE call_stats (
        session_id TEXT PRIMARY KEY,
        first_joined_at_ms BIGINT NOT NULL,
        together_since_ms BIGINT,
        last_left_at_ms BIGINT,
        together_ms BIGINT NOT NULL DEFAULT 0,
        mentor_talk_ms BIGINT NOT NULL DEFAULT 0,
        mentee_talk_ms BIGINT NOT NULL DEFAULT 0,
        updated_at_ms BIGINT NOT NULL
    );";

/// 7: moments, bookmarks and notes at a time (see `sqlite.rs`).
pub(super) const V7: &str = "CREATE TABLE moments (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        recording_id TEXT,
        clock TEXT NOT NULL,
        at_s DOUBLE PRECISION NOT NULL,
        kind TEXT NOT NULL,
        author TEXT NOT NULL,
        visibility TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
    );
    CREATE INDEX moments_session ON moments (session_id, created_at_ms);
    CREATE INDEX moments_recording ON moments (recording_id, at_s);";

/// 8: nodes and placements (see `sqlite.rs`).
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

/// 9: who wrote each consent event (see `sqlite.rs`).
pub(super) const V9: &str = "ALTER TABLE consent_events ADD COLUMN writer_node TEXT;
    ALTER TABLE consent_events ADD COLUMN writer_epoch BIGINT;";

/// 10: secrets the nodes share (see `sqlite.rs`).
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

pub(super) const V13: &str = "ALTER TABLE notices ADD COLUMN language TEXT NOT NULL DEFAULT '';";
