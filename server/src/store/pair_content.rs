//! What a pair writes between and during calls: agenda, actions, notes,
//! messages and the agreement.
//!
//! Every read here takes the reader's [`Role`]: there is no way to ask for
//! notes or messages without being one of the two people, and private
//! notes are filtered in the query itself by the same rule as
//! [`crate::pairs::access::note_visible_to`].
//!
//! A change that reads before it writes (a count against a cap, an edit of
//! what was read) first locks the pair's row ([`lock_pair`]), so two
//! people acting at once on PostgreSQL are taken one after the other, as
//! SQLite's single writer always took them.

use duet_signaling::{Role, SessionId};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use uuid::Uuid;

use super::pairs::load_pair;
use super::rows::{count, role_from, u32_from, uuid_from};
use super::{Store, StoreError};
use crate::pairs::PairId;
use crate::pairs::access::Visibility;
use crate::pairs::agreement::{Agreement, AgreementError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgendaItem {
    pub id: Uuid,
    pub text: String,
    pub position: i64,
    pub added_by: Role,
    pub created_at_ms: i64,
    pub done_at_ms: Option<i64>,
    pub done_by: Option<Role>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionItem {
    pub id: Uuid,
    pub text: String,
    pub owner: Role,
    /// `YYYY-MM-DD` in the owner's calendar.
    pub due: Option<String>,
    pub created_by: Role,
    pub created_at_ms: i64,
    pub done_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub id: Uuid,
    /// The call it was written for; none for notes between calls.
    pub session_id: Option<SessionId>,
    pub author: Role,
    pub visibility: Visibility,
    pub text: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub seq: i64,
    pub id: Uuid,
    pub author: Role,
    pub text: String,
    pub at_ms: i64,
}

/// Why a change to a pair's content was not made.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("no such {0} in this pair")]
    NotFound(&'static str),
    #[error("only its author may change or delete a note")]
    NotAuthor,
    #[error("this pair holds {0} of these already; delete some first")]
    TooMany(usize),
    #[error(transparent)]
    Agreement(#[from] AgreementError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ContentError {
    fn from(e: sqlx::Error) -> Self {
        ContentError::Store(StoreError::Database(e))
    }
}

fn agenda_from_row(row: AnyRow) -> Result<AgendaItem, sqlx::Error> {
    let id: String = row.try_get(0)?;
    let added_by: String = row.try_get(3)?;
    let done_by: Option<String> = row.try_get(6)?;
    Ok(AgendaItem {
        id: uuid_from(&id)?,
        text: row.try_get(1)?,
        position: row.try_get(2)?,
        added_by: role_from(&added_by)?,
        created_at_ms: row.try_get(4)?,
        done_at_ms: row.try_get(5)?,
        done_by: done_by.as_deref().map(role_from).transpose()?,
    })
}

fn action_from_row(row: AnyRow) -> Result<ActionItem, sqlx::Error> {
    let id: String = row.try_get(0)?;
    let owner: String = row.try_get(2)?;
    let created_by: String = row.try_get(4)?;
    Ok(ActionItem {
        id: uuid_from(&id)?,
        text: row.try_get(1)?,
        owner: role_from(&owner)?,
        due: row.try_get(3)?,
        created_by: role_from(&created_by)?,
        created_at_ms: row.try_get(5)?,
        done_at_ms: row.try_get(6)?,
    })
}

fn note_from_row(row: AnyRow) -> Result<Note, sqlx::Error> {
    let id: String = row.try_get(0)?;
    let session: Option<String> = row.try_get(1)?;
    let author: String = row.try_get(2)?;
    let visibility: String = row.try_get(3)?;
    Ok(Note {
        id: uuid_from(&id)?,
        session_id: session
            .as_deref()
            .map(uuid_from)
            .transpose()?
            .map(SessionId),
        author: role_from(&author)?,
        visibility: Visibility::parse(&visibility).unwrap_or(Visibility::Private),
        text: row.try_get(4)?,
        created_at_ms: row.try_get(5)?,
        updated_at_ms: row.try_get(6)?,
    })
}

fn message_from_row(row: AnyRow) -> Result<Message, sqlx::Error> {
    let id: String = row.try_get(1)?;
    let author: String = row.try_get(2)?;
    Ok(Message {
        seq: row.try_get(0)?,
        id: uuid_from(&id)?,
        author: role_from(&author)?,
        text: row.try_get(3)?,
        at_ms: row.try_get(4)?,
    })
}

const AGENDA: &str = "id, text, position, added_by, created_at_ms, done_at_ms, done_by";
const ACTIONS: &str = "id, text, owner, due, created_by, created_at_ms, done_at_ms";
const NOTES: &str = "id, session_id, author, visibility, text, created_at_ms, updated_at_ms";
const MESSAGES: &str = "seq, id, author, text, at_ms";

/// A change to an agenda item; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct AgendaChange {
    pub text: Option<String>,
    pub done: Option<bool>,
    /// Moves the item to this place in the list (0 = first).
    pub position: Option<usize>,
}

/// A change to an action; for `due`, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ActionChange {
    pub text: Option<String>,
    pub owner: Option<Role>,
    pub due: Option<Option<String>>,
    pub done: Option<bool>,
}

impl Store {
    // ---- agenda ----

    pub async fn agenda(&self, pair: PairId) -> Result<Vec<AgendaItem>, StoreError> {
        let sql = format!(
            "SELECT {AGENDA} FROM pair_agenda WHERE pair_id = $1 ORDER BY position, created_at_ms"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(pair.0.to_string())
            .try_map(agenda_from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    /// Adds an item at the end of the list.
    pub async fn add_agenda(
        &self,
        pair: PairId,
        text: String,
        by: Role,
        now_ms: i64,
        max: usize,
    ) -> Result<AgendaItem, ContentError> {
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        lock_pair(&mut tx, pair).await?;
        let open: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pair_agenda WHERE pair_id = $1 AND done_at_ms IS NULL",
        )
        .bind(pair.0.to_string())
        .fetch_one(&mut *tx)
        .await?;
        if count(open) >= max {
            return Err(ContentError::TooMany(max));
        }
        let position: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(position), -1) + 1 FROM pair_agenda WHERE pair_id = $1",
        )
        .bind(pair.0.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let item = AgendaItem {
            id: Uuid::new_v4(),
            text,
            position,
            added_by: by,
            created_at_ms: now_ms,
            done_at_ms: None,
            done_by: None,
        };
        let sql = format!(
            "INSERT INTO pair_agenda (pair_id, {AGENDA}) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(pair.0.to_string())
            .bind(item.id.to_string())
            .bind(&item.text)
            .bind(item.position)
            .bind(by.as_str())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(item)
    }

    pub async fn change_agenda(
        &self,
        pair: PairId,
        id: Uuid,
        change: AgendaChange,
        by: Role,
        now_ms: i64,
    ) -> Result<AgendaItem, ContentError> {
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        lock_pair(&mut tx, pair).await?;
        let Some(item) = load_agenda(&mut tx, pair, id).await? else {
            return Err(ContentError::NotFound("agenda item"));
        };
        if let Some(text) = &change.text {
            sqlx::query("UPDATE pair_agenda SET text = $2 WHERE id = $1")
                .bind(id.to_string())
                .bind(text)
                .execute(&mut *tx)
                .await?;
        }
        match change.done {
            Some(true) if item.done_at_ms.is_none() => {
                sqlx::query("UPDATE pair_agenda SET done_at_ms = $2, done_by = $3 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(now_ms)
                    .bind(by.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            Some(false) => {
                sqlx::query(
                    "UPDATE pair_agenda SET done_at_ms = NULL, done_by = NULL WHERE id = $1",
                )
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            }
            _ => {}
        }
        if let Some(to) = change.position {
            // Renumber the whole list with the item at its new place:
            // lists are short, and dense numbers keep moves simple.
            let mut ids: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM pair_agenda WHERE pair_id = $1 ORDER BY position, created_at_ms",
            )
            .bind(pair.0.to_string())
            .fetch_all(&mut *tx)
            .await?;
            let me = id.to_string();
            ids.retain(|x| *x != me);
            ids.insert(to.min(ids.len()), me);
            for (i, x) in ids.iter().enumerate() {
                sqlx::query("UPDATE pair_agenda SET position = $2 WHERE id = $1")
                    .bind(x)
                    .bind(i64::try_from(i).unwrap_or(i64::MAX))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let item = load_agenda(&mut tx, pair, id).await?;
        tx.commit().await?;
        item.ok_or(ContentError::NotFound("agenda item"))
    }

    pub async fn delete_agenda(&self, pair: PairId, id: Uuid) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM pair_agenda WHERE id = $1 AND pair_id = $2")
            .bind(id.to_string())
            .bind(pair.0.to_string())
            .execute(&mut *self.normal().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    // ---- actions ----

    pub async fn actions(&self, pair: PairId) -> Result<Vec<ActionItem>, StoreError> {
        let sql = format!(
            "SELECT {ACTIONS} FROM pair_actions WHERE pair_id = $1 ORDER BY created_at_ms, id"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(pair.0.to_string())
            .try_map(action_from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    pub async fn add_action(
        &self,
        pair: PairId,
        item: ActionItem,
        max: usize,
    ) -> Result<ActionItem, ContentError> {
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        lock_pair(&mut tx, pair).await?;
        let open: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pair_actions WHERE pair_id = $1 AND done_at_ms IS NULL",
        )
        .bind(pair.0.to_string())
        .fetch_one(&mut *tx)
        .await?;
        if count(open) >= max {
            return Err(ContentError::TooMany(max));
        }
        let sql = format!(
            "INSERT INTO pair_actions (pair_id, {ACTIONS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(pair.0.to_string())
            .bind(item.id.to_string())
            .bind(&item.text)
            .bind(item.owner.as_str())
            .bind(&item.due)
            .bind(item.created_by.as_str())
            .bind(item.created_at_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(item)
    }

    pub async fn change_action(
        &self,
        pair: PairId,
        id: Uuid,
        change: ActionChange,
        now_ms: i64,
    ) -> Result<ActionItem, ContentError> {
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        lock_pair(&mut tx, pair).await?;
        let Some(item) = load_action(&mut tx, pair, id).await? else {
            return Err(ContentError::NotFound("action"));
        };
        let done_at = match change.done {
            Some(true) => item.done_at_ms.or(Some(now_ms)),
            Some(false) => None,
            None => item.done_at_ms,
        };
        sqlx::query(
            "UPDATE pair_actions SET text = $2, owner = $3, due = $4, done_at_ms = $5
             WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(change.text.unwrap_or(item.text))
        .bind(change.owner.unwrap_or(item.owner).as_str())
        .bind(change.due.unwrap_or(item.due))
        .bind(done_at)
        .execute(&mut *tx)
        .await?;
        let item = load_action(&mut tx, pair, id).await?;
        tx.commit().await?;
        item.ok_or(ContentError::NotFound("action"))
    }

    pub async fn delete_action(&self, pair: PairId, id: Uuid) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM pair_actions WHERE id = $1 AND pair_id = $2")
            .bind(id.to_string())
            .bind(pair.0.to_string())
            .execute(&mut *self.normal().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    // ---- notes ----

    /// The notes `viewer` may read: their own, and the other's shared ones.
    /// `session` narrows to one call.
    pub async fn notes(
        &self,
        pair: PairId,
        viewer: Role,
        session: Option<SessionId>,
    ) -> Result<Vec<Note>, StoreError> {
        let sql = format!(
            "SELECT {NOTES} FROM pair_notes
             WHERE pair_id = $1 AND (author = $2 OR visibility = 'shared')
               AND ($3 IS NULL OR session_id = $3)
             ORDER BY created_at_ms, id"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(pair.0.to_string())
            .bind(viewer.as_str())
            .bind(session.map(|s| s.0.to_string()))
            .try_map(note_from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    /// Stores a note unless the pair holds `max` already.
    pub async fn add_note(
        &self,
        pair: PairId,
        note: Note,
        max: usize,
    ) -> Result<Note, ContentError> {
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        lock_pair(&mut tx, pair).await?;
        if rows_of(&mut tx, "pair_notes", pair).await? >= max {
            return Err(ContentError::TooMany(max));
        }
        let sql = format!(
            "INSERT INTO pair_notes (pair_id, {NOTES}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(pair.0.to_string())
            .bind(note.id.to_string())
            .bind(note.session_id.map(|s| s.0.to_string()))
            .bind(note.author.as_str())
            .bind(note.visibility.as_str())
            .bind(&note.text)
            .bind(note.created_at_ms)
            .bind(note.updated_at_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(note)
    }

    /// Changes a note's text or visibility; its author only. Someone else
    /// asking about a private note learns nothing: "not found", as if it
    /// did not exist.
    pub async fn change_note(
        &self,
        pair: PairId,
        id: Uuid,
        by: Role,
        text: Option<String>,
        visibility: Option<Visibility>,
        now_ms: i64,
    ) -> Result<Note, ContentError> {
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        lock_pair(&mut tx, pair).await?;
        let Some(note) = load_note(&mut tx, pair, id, by).await? else {
            return Err(ContentError::NotFound("note"));
        };
        if note.author != by {
            return Err(ContentError::NotAuthor);
        }
        sqlx::query(
            "UPDATE pair_notes SET text = $2, visibility = $3, updated_at_ms = $4 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(text.unwrap_or(note.text))
        .bind(visibility.unwrap_or(note.visibility).as_str())
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let note = load_note(&mut tx, pair, id, by).await?;
        tx.commit().await?;
        note.ok_or(ContentError::NotFound("note"))
    }

    pub async fn delete_note(&self, pair: PairId, id: Uuid, by: Role) -> Result<(), ContentError> {
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        lock_pair(&mut tx, pair).await?;
        let Some(note) = load_note(&mut tx, pair, id, by).await? else {
            return Err(ContentError::NotFound("note"));
        };
        if note.author != by {
            return Err(ContentError::NotAuthor);
        }
        sqlx::query("DELETE FROM pair_notes WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// How many notes of each call `viewer` may read, for the history.
    pub async fn note_counts(
        &self,
        pair: PairId,
        viewer: Role,
    ) -> Result<Vec<(SessionId, u32)>, StoreError> {
        Ok(sqlx::query(
            "SELECT session_id, COUNT(*) FROM pair_notes
             WHERE pair_id = $1 AND session_id IS NOT NULL
               AND (author = $2 OR visibility = 'shared')
             GROUP BY session_id",
        )
        .bind(pair.0.to_string())
        .bind(viewer.as_str())
        .try_map(|r: AnyRow| {
            let s: String = r.try_get(0)?;
            Ok((SessionId(uuid_from(&s)?), u32_from("count", r.try_get(1)?)?))
        })
        .fetch_all(&mut *self.normal().await?)
        .await?)
    }

    // ---- messages ----

    /// The latest `limit` messages, oldest first.
    pub async fn messages(&self, pair: PairId, limit: u32) -> Result<Vec<Message>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGES} FROM (SELECT {MESSAGES} FROM pair_messages WHERE pair_id = $1
             ORDER BY seq DESC LIMIT $2) AS latest ORDER BY seq"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(pair.0.to_string())
            .bind(i64::from(limit))
            .try_map(message_from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    /// Posts a message unless the pair holds `max` already; the author
    /// has read everything up to it.
    pub async fn add_message(
        &self,
        pair: PairId,
        author: Role,
        text: String,
        now_ms: i64,
        max: usize,
    ) -> Result<Message, ContentError> {
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        lock_pair(&mut tx, pair).await?;
        if rows_of(&mut tx, "pair_messages", pair).await? >= max {
            return Err(ContentError::TooMany(max));
        }
        let id = Uuid::new_v4();
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO pair_messages (id, pair_id, author, text, at_ms)
             VALUES ($1, $2, $3, $4, $5) RETURNING seq",
        )
        .bind(id.to_string())
        .bind(pair.0.to_string())
        .bind(author.as_str())
        .bind(&text)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?;
        // `author` is one of two role names of ours, never input.
        let sql = format!(
            "UPDATE pairs SET {}_read_seq = $2 WHERE id = $1",
            author.as_str()
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(pair.0.to_string())
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Message {
            seq,
            id,
            author,
            text,
            at_ms: now_ms,
        })
    }

    /// Messages by the other person after what `reader` has read.
    pub async fn unread_messages(&self, pair: PairId, reader: Role) -> Result<u32, StoreError> {
        let sql = format!(
            "SELECT COUNT(*) FROM pair_messages m JOIN pairs p ON p.id = m.pair_id
             WHERE m.pair_id = $1 AND m.author != $2 AND m.seq > p.{}_read_seq",
            reader.as_str()
        );
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(pair.0.to_string())
            .bind(reader.as_str())
            .fetch_one(&mut *self.normal().await?)
            .await?;
        Ok(u32_from("count", n)?)
    }

    /// Marks messages up to `seq` read by `reader` (never moves back).
    pub async fn mark_messages_read(
        &self,
        pair: PairId,
        reader: Role,
        seq: i64,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE pairs SET {r}_read_seq = CASE WHEN {r}_read_seq < $2 THEN $2 ELSE {r}_read_seq END
             WHERE id = $1",
            r = reader.as_str()
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(pair.0.to_string())
            .bind(seq)
            .execute(&mut *self.normal().await?)
            .await?;
        Ok(())
    }

    // ---- agreement ----

    /// Applies `f` (an edit or a confirmation) to the stored agreement in
    /// one transaction, so two people acting at once cannot lose a change.
    pub async fn change_agreement<F>(&self, pair: PairId, f: F) -> Result<Agreement, ContentError>
    where
        F: FnOnce(&mut Agreement) -> Result<(), AgreementError> + Send + 'static,
    {
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        lock_pair(&mut tx, pair).await?;
        let Some(p) = load_pair(&mut tx, pair).await? else {
            return Err(ContentError::NotFound("pair"));
        };
        let mut agreement = p.agreement;
        f(&mut agreement)?;
        sqlx::query(
            "UPDATE pairs SET agreement_text = $2, agreement_version = $3,
                mentor_confirmed = $4, mentee_confirmed = $5 WHERE id = $1",
        )
        .bind(pair.0.to_string())
        .bind(&agreement.text)
        .bind(i64::from(agreement.version))
        .bind(i64::from(agreement.confirmed[0]))
        .bind(i64::from(agreement.confirmed[1]))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(agreement)
    }

    /// Deletes notes, moments and messages older than `before_ms` everywhere
    /// (retention); returns how many rows went.
    pub async fn expire_pair_content(&self, before_ms: i64) -> Result<usize, StoreError> {
        let mut c = self.normal().await?;
        let mut gone = 0;
        // Bookmarks and notes at a time are notes too.
        for sql in [
            "DELETE FROM pair_notes WHERE updated_at_ms < $1",
            "DELETE FROM pair_messages WHERE at_ms < $1",
            "DELETE FROM moments WHERE updated_at_ms < $1",
        ] {
            gone += sqlx::query(sql)
                .bind(before_ms)
                .execute(&mut *c)
                .await?
                .rows_affected();
        }
        Ok(usize::try_from(gone).unwrap_or(usize::MAX))
    }
}

/// Locks the pair's row until the transaction ends: on PostgreSQL a second
/// change of the same pair waits here, so its count or read comes after
/// the first one's write. (On SQLite the transaction holds the write lock
/// already; this is a harmless write.) It sets a column to itself, one
/// that is no key, so no foreign key is checked.
async fn lock_pair(conn: &mut AnyConnection, pair: PairId) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE pairs SET agreement_version = agreement_version WHERE id = $1")
        .bind(pair.0.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// How many rows of `table` (a pair content table) the pair has.
async fn rows_of(
    conn: &mut AnyConnection,
    table: &'static str,
    pair: PairId,
) -> Result<usize, sqlx::Error> {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE pair_id = $1");
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(pair.0.to_string())
        .fetch_one(conn)
        .await?;
    Ok(count(n))
}

async fn load_agenda(
    conn: &mut AnyConnection,
    pair: PairId,
    id: Uuid,
) -> Result<Option<AgendaItem>, sqlx::Error> {
    let sql = format!("SELECT {AGENDA} FROM pair_agenda WHERE id = $1 AND pair_id = $2");
    sqlx::query(AssertSqlSafe(sql))
        .bind(id.to_string())
        .bind(pair.0.to_string())
        .try_map(agenda_from_row)
        .fetch_optional(conn)
        .await
}

async fn load_action(
    conn: &mut AnyConnection,
    pair: PairId,
    id: Uuid,
) -> Result<Option<ActionItem>, sqlx::Error> {
    let sql = format!("SELECT {ACTIONS} FROM pair_actions WHERE id = $1 AND pair_id = $2");
    sqlx::query(AssertSqlSafe(sql))
        .bind(id.to_string())
        .bind(pair.0.to_string())
        .try_map(action_from_row)
        .fetch_optional(conn)
        .await
}

/// A note as `viewer` may see it: another person's private note is `None`.
async fn load_note(
    conn: &mut AnyConnection,
    pair: PairId,
    id: Uuid,
    viewer: Role,
) -> Result<Option<Note>, sqlx::Error> {
    let sql = format!(
        "SELECT {NOTES} FROM pair_notes WHERE id = $1 AND pair_id = $2
           AND (author = $3 OR visibility = 'shared')"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(id.to_string())
        .bind(pair.0.to_string())
        .bind(viewer.as_str())
        .try_map(note_from_row)
        .fetch_optional(conn)
        .await
}

#[cfg(test)]
mod tests;
