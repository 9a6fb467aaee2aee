//! What a pair writes between and during calls: agenda, actions, notes,
//! messages and the agreement.
//!
//! Every read here takes the reader's [`Role`]: there is no way to ask for
//! notes or messages without being one of the two people, and private
//! notes are filtered in the query itself by the same rule as
//! [`crate::pairs::access::note_visible_to`].

use duet_signaling::{Role, SessionId};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;
use uuid::Uuid;

use super::pairs::{load_pair, role_from, uuid_from};
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

impl From<rusqlite::Error> for ContentError {
    fn from(e: rusqlite::Error) -> Self {
        ContentError::Store(StoreError::Sqlite(e))
    }
}

fn agenda_from_row(row: &Row<'_>) -> rusqlite::Result<AgendaItem> {
    let id: String = row.get(0)?;
    let added_by: String = row.get(3)?;
    let done_by: Option<String> = row.get(6)?;
    Ok(AgendaItem {
        id: uuid_from(&id)?,
        text: row.get(1)?,
        position: row.get(2)?,
        added_by: role_from(&added_by)?,
        created_at_ms: row.get(4)?,
        done_at_ms: row.get(5)?,
        done_by: done_by.as_deref().map(role_from).transpose()?,
    })
}

fn action_from_row(row: &Row<'_>) -> rusqlite::Result<ActionItem> {
    let id: String = row.get(0)?;
    let owner: String = row.get(2)?;
    let created_by: String = row.get(4)?;
    Ok(ActionItem {
        id: uuid_from(&id)?,
        text: row.get(1)?,
        owner: role_from(&owner)?,
        due: row.get(3)?,
        created_by: role_from(&created_by)?,
        created_at_ms: row.get(5)?,
        done_at_ms: row.get(6)?,
    })
}

fn note_from_row(row: &Row<'_>) -> rusqlite::Result<Note> {
    let id: String = row.get(0)?;
    let session: Option<String> = row.get(1)?;
    let author: String = row.get(2)?;
    let visibility: String = row.get(3)?;
    Ok(Note {
        id: uuid_from(&id)?,
        session_id: session
            .as_deref()
            .map(uuid_from)
            .transpose()?
            .map(SessionId),
        author: role_from(&author)?,
        visibility: Visibility::parse(&visibility).unwrap_or(Visibility::Private),
        text: row.get(4)?,
        created_at_ms: row.get(5)?,
        updated_at_ms: row.get(6)?,
    })
}

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    let id: String = row.get(1)?;
    let author: String = row.get(2)?;
    Ok(Message {
        seq: row.get(0)?,
        id: uuid_from(&id)?,
        author: role_from(&author)?,
        text: row.get(3)?,
        at_ms: row.get(4)?,
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
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {AGENDA} FROM pair_agenda WHERE pair_id = ?1 ORDER BY position, created_at_ms"
            ))?;
            let rows = stmt.query_map([pair.0.to_string()], agenda_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
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
        self.call(move |conn| {
            let open: i64 = conn.query_row(
                "SELECT COUNT(*) FROM pair_agenda WHERE pair_id = ?1 AND done_at_ms IS NULL",
                [pair.0.to_string()],
                |r| r.get(0),
            )?;
            if open as usize >= max {
                return Ok(Err(ContentError::TooMany(max)));
            }
            let position: i64 = conn.query_row(
                "SELECT COALESCE(MAX(position), -1) + 1 FROM pair_agenda WHERE pair_id = ?1",
                [pair.0.to_string()],
                |r| r.get(0),
            )?;
            let item = AgendaItem {
                id: Uuid::new_v4(),
                text,
                position,
                added_by: by,
                created_at_ms: now_ms,
                done_at_ms: None,
                done_by: None,
            };
            conn.execute(
                &format!("INSERT INTO pair_agenda (pair_id, {AGENDA}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL)"),
                params![
                    pair.0.to_string(),
                    item.id.to_string(),
                    item.text,
                    item.position,
                    by.as_str(),
                    now_ms
                ],
            )?;
            Ok(Ok(item))
        })
        .await?
    }

    pub async fn change_agenda(
        &self,
        pair: PairId,
        id: Uuid,
        change: AgendaChange,
        by: Role,
        now_ms: i64,
    ) -> Result<AgendaItem, ContentError> {
        self.call(move |conn| {
            let tx = conn.unchecked_transaction()?;
            let load = |tx: &rusqlite::Connection| {
                tx.query_row(
                    &format!("SELECT {AGENDA} FROM pair_agenda WHERE id = ?1 AND pair_id = ?2"),
                    params![id.to_string(), pair.0.to_string()],
                    agenda_from_row,
                )
                .optional()
            };
            let Some(item) = load(&tx)? else {
                return Ok(Err(ContentError::NotFound("agenda item")));
            };
            if let Some(text) = &change.text {
                tx.execute(
                    "UPDATE pair_agenda SET text = ?2 WHERE id = ?1",
                    params![id.to_string(), text],
                )?;
            }
            match change.done {
                Some(true) if item.done_at_ms.is_none() => {
                    tx.execute(
                        "UPDATE pair_agenda SET done_at_ms = ?2, done_by = ?3 WHERE id = ?1",
                        params![id.to_string(), now_ms, by.as_str()],
                    )?;
                }
                Some(false) => {
                    tx.execute(
                        "UPDATE pair_agenda SET done_at_ms = NULL, done_by = NULL WHERE id = ?1",
                        [id.to_string()],
                    )?;
                }
                _ => {}
            }
            if let Some(to) = change.position {
                // Renumber the whole list with the item at its new place:
                // lists are short, and dense numbers keep moves simple.
                let mut ids: Vec<String> = {
                    let mut stmt = tx.prepare(
                        "SELECT id FROM pair_agenda WHERE pair_id = ?1 ORDER BY position, created_at_ms",
                    )?;
                    let rows = stmt.query_map([pair.0.to_string()], |r| r.get(0))?;
                    rows.collect::<Result<Vec<String>, _>>()?
                };
                let me = id.to_string();
                ids.retain(|x| *x != me);
                ids.insert(to.min(ids.len()), me);
                for (i, x) in ids.iter().enumerate() {
                    tx.execute(
                        "UPDATE pair_agenda SET position = ?2 WHERE id = ?1",
                        params![x, i as i64],
                    )?;
                }
            }
            let item = load(&tx)?.ok_or(ContentError::NotFound("agenda item"));
            tx.commit()?;
            Ok(item)
        })
        .await?
    }

    pub async fn delete_agenda(&self, pair: PairId, id: Uuid) -> Result<bool, StoreError> {
        self.call(move |conn| {
            Ok(conn.execute(
                "DELETE FROM pair_agenda WHERE id = ?1 AND pair_id = ?2",
                params![id.to_string(), pair.0.to_string()],
            )? == 1)
        })
        .await
    }

    // ---- actions ----

    pub async fn actions(&self, pair: PairId) -> Result<Vec<ActionItem>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {ACTIONS} FROM pair_actions WHERE pair_id = ?1 ORDER BY created_at_ms, id"
            ))?;
            let rows = stmt.query_map([pair.0.to_string()], action_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn add_action(
        &self,
        pair: PairId,
        item: ActionItem,
        max: usize,
    ) -> Result<ActionItem, ContentError> {
        self.call(move |conn| {
            let open: i64 = conn.query_row(
                "SELECT COUNT(*) FROM pair_actions WHERE pair_id = ?1 AND done_at_ms IS NULL",
                [pair.0.to_string()],
                |r| r.get(0),
            )?;
            if open as usize >= max {
                return Ok(Err(ContentError::TooMany(max)));
            }
            conn.execute(
                &format!(
                    "INSERT INTO pair_actions (pair_id, {ACTIONS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)"
                ),
                params![
                    pair.0.to_string(),
                    item.id.to_string(),
                    item.text,
                    item.owner.as_str(),
                    item.due,
                    item.created_by.as_str(),
                    item.created_at_ms
                ],
            )?;
            Ok(Ok(item))
        })
        .await?
    }

    pub async fn change_action(
        &self,
        pair: PairId,
        id: Uuid,
        change: ActionChange,
        now_ms: i64,
    ) -> Result<ActionItem, ContentError> {
        self.call(move |conn| {
            let tx = conn.unchecked_transaction()?;
            let load = |tx: &rusqlite::Connection| {
                tx.query_row(
                    &format!("SELECT {ACTIONS} FROM pair_actions WHERE id = ?1 AND pair_id = ?2"),
                    params![id.to_string(), pair.0.to_string()],
                    action_from_row,
                )
                .optional()
            };
            let Some(item) = load(&tx)? else {
                return Ok(Err(ContentError::NotFound("action")));
            };
            let done_at = match change.done {
                Some(true) => item.done_at_ms.or(Some(now_ms)),
                Some(false) => None,
                None => item.done_at_ms,
            };
            tx.execute(
                "UPDATE pair_actions SET text = ?2, owner = ?3, due = ?4, done_at_ms = ?5
                 WHERE id = ?1",
                params![
                    id.to_string(),
                    change.text.unwrap_or(item.text),
                    change.owner.unwrap_or(item.owner).as_str(),
                    change.due.unwrap_or(item.due),
                    done_at
                ],
            )?;
            let item = load(&tx)?.ok_or(ContentError::NotFound("action"));
            tx.commit()?;
            Ok(item)
        })
        .await?
    }

    pub async fn delete_action(&self, pair: PairId, id: Uuid) -> Result<bool, StoreError> {
        self.call(move |conn| {
            Ok(conn.execute(
                "DELETE FROM pair_actions WHERE id = ?1 AND pair_id = ?2",
                params![id.to_string(), pair.0.to_string()],
            )? == 1)
        })
        .await
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
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {NOTES} FROM pair_notes
                 WHERE pair_id = ?1 AND (author = ?2 OR visibility = 'shared')
                   AND (?3 IS NULL OR session_id = ?3)
                 ORDER BY created_at_ms, id"
            ))?;
            let rows = stmt.query_map(
                params![
                    pair.0.to_string(),
                    viewer.as_str(),
                    session.map(|s| s.0.to_string())
                ],
                note_from_row,
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Stores a note unless the pair holds `max` already.
    pub async fn add_note(
        &self,
        pair: PairId,
        note: Note,
        max: usize,
    ) -> Result<Note, ContentError> {
        self.call(move |conn| {
            if count(conn, "pair_notes", pair)? >= max {
                return Ok(Err(ContentError::TooMany(max)));
            }
            conn.execute(
                &format!(
                    "INSERT INTO pair_notes (pair_id, {NOTES}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ),
                params![
                    pair.0.to_string(),
                    note.id.to_string(),
                    note.session_id.map(|s| s.0.to_string()),
                    note.author.as_str(),
                    note.visibility.as_str(),
                    note.text,
                    note.created_at_ms,
                    note.updated_at_ms
                ],
            )?;
            Ok(Ok(note))
        })
        .await?
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
        self.call(move |conn| {
            let Some(note) = load_note(conn, pair, id, by)? else {
                return Ok(Err(ContentError::NotFound("note")));
            };
            if note.author != by {
                return Ok(Err(ContentError::NotAuthor));
            }
            conn.execute(
                "UPDATE pair_notes SET text = ?2, visibility = ?3, updated_at_ms = ?4 WHERE id = ?1",
                params![
                    id.to_string(),
                    text.unwrap_or(note.text),
                    visibility.unwrap_or(note.visibility).as_str(),
                    now_ms
                ],
            )?;
            Ok(load_note(conn, pair, id, by)?.ok_or(ContentError::NotFound("note")))
        })
        .await?
    }

    pub async fn delete_note(&self, pair: PairId, id: Uuid, by: Role) -> Result<(), ContentError> {
        self.call(move |conn| {
            let Some(note) = load_note(conn, pair, id, by)? else {
                return Ok(Err(ContentError::NotFound("note")));
            };
            if note.author != by {
                return Ok(Err(ContentError::NotAuthor));
            }
            conn.execute("DELETE FROM pair_notes WHERE id = ?1", [id.to_string()])?;
            Ok(Ok(()))
        })
        .await?
    }

    /// How many notes of each call `viewer` may read, for the history.
    pub async fn note_counts(
        &self,
        pair: PairId,
        viewer: Role,
    ) -> Result<Vec<(SessionId, u32)>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT session_id, COUNT(*) FROM pair_notes
                 WHERE pair_id = ?1 AND session_id IS NOT NULL
                   AND (author = ?2 OR visibility = 'shared')
                 GROUP BY session_id",
            )?;
            let rows = stmt.query_map(params![pair.0.to_string(), viewer.as_str()], |r| {
                let s: String = r.get(0)?;
                Ok((SessionId(uuid_from(&s)?), r.get(1)?))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    // ---- messages ----

    /// The latest `limit` messages, oldest first.
    pub async fn messages(&self, pair: PairId, limit: u32) -> Result<Vec<Message>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {MESSAGES} FROM (SELECT {MESSAGES} FROM pair_messages WHERE pair_id = ?1
                 ORDER BY seq DESC LIMIT ?2) ORDER BY seq"
            ))?;
            let rows = stmt.query_map(params![pair.0.to_string(), limit], message_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
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
        self.call(move |conn| {
            if count(conn, "pair_messages", pair)? >= max {
                return Ok(Err(ContentError::TooMany(max)));
            }
            let tx = conn.unchecked_transaction()?;
            let id = Uuid::new_v4();
            tx.execute(
                "INSERT INTO pair_messages (id, pair_id, author, text, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id.to_string(), pair.0.to_string(), author.as_str(), text, now_ms],
            )?;
            let seq = tx.last_insert_rowid();
            tx.execute(
                &format!("UPDATE pairs SET {}_read_seq = ?2 WHERE id = ?1", author.as_str()),
                params![pair.0.to_string(), seq],
            )?;
            tx.commit()?;
            Ok(Ok(Message {
                seq,
                id,
                author,
                text,
                at_ms: now_ms,
            }))
        })
        .await?
    }

    /// Messages by the other person after what `reader` has read.
    pub async fn unread_messages(&self, pair: PairId, reader: Role) -> Result<u32, StoreError> {
        self.call(move |conn| {
            Ok(conn.query_row(
                &format!(
                    "SELECT COUNT(*) FROM pair_messages m JOIN pairs p ON p.id = m.pair_id
                     WHERE m.pair_id = ?1 AND m.author != ?2 AND m.seq > p.{}_read_seq",
                    reader.as_str()
                ),
                params![pair.0.to_string(), reader.as_str()],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// Marks messages up to `seq` read by `reader` (never moves back).
    pub async fn mark_messages_read(
        &self,
        pair: PairId,
        reader: Role,
        seq: i64,
    ) -> Result<(), StoreError> {
        self.call(move |conn| {
            conn.execute(
                &format!(
                    "UPDATE pairs SET {r}_read_seq = MAX({r}_read_seq, ?2) WHERE id = ?1",
                    r = reader.as_str()
                ),
                params![pair.0.to_string(), seq],
            )?;
            Ok(())
        })
        .await
    }

    // ---- agreement ----

    /// Applies `f` (an edit or a confirmation) to the stored agreement in
    /// one transaction, so two people acting at once cannot lose a change.
    pub async fn change_agreement<F>(&self, pair: PairId, f: F) -> Result<Agreement, ContentError>
    where
        F: FnOnce(&mut Agreement) -> Result<(), AgreementError> + Send + 'static,
    {
        self.call(move |conn| {
            let tx = conn.unchecked_transaction()?;
            let Some(p) = load_pair(&tx, pair)? else {
                return Ok(Err(ContentError::NotFound("pair")));
            };
            let mut agreement = p.agreement;
            if let Err(e) = f(&mut agreement) {
                return Ok(Err(e.into()));
            }
            tx.execute(
                "UPDATE pairs SET agreement_text = ?2, agreement_version = ?3,
                    mentor_confirmed = ?4, mentee_confirmed = ?5 WHERE id = ?1",
                params![
                    pair.0.to_string(),
                    agreement.text,
                    agreement.version,
                    agreement.confirmed[0],
                    agreement.confirmed[1]
                ],
            )?;
            tx.commit()?;
            Ok(Ok(agreement))
        })
        .await?
    }

    /// Deletes notes, moments and messages older than `before_ms` everywhere
    /// (retention); returns how many rows went.
    pub async fn expire_pair_content(&self, before_ms: i64) -> Result<usize, StoreError> {
        self.call(move |conn| {
            let notes = conn.execute(
                "DELETE FROM pair_notes WHERE updated_at_ms < ?1",
                [before_ms],
            )?;
            let messages =
                conn.execute("DELETE FROM pair_messages WHERE at_ms < ?1", [before_ms])?;
            // Bookmarks and notes at a time are notes too.
            let moments =
                conn.execute("DELETE FROM moments WHERE updated_at_ms < ?1", [before_ms])?;
            Ok(notes + messages + moments)
        })
        .await
    }
}

/// How many rows of `table` (a pair content table) the pair has.
fn count(conn: &rusqlite::Connection, table: &str, pair: PairId) -> rusqlite::Result<usize> {
    let n: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM {table} WHERE pair_id = ?1"),
        [pair.0.to_string()],
        |r| r.get(0),
    )?;
    Ok(n.max(0) as usize)
}

/// A note as `viewer` may see it: another person's private note is `None`.
fn load_note(
    conn: &rusqlite::Connection,
    pair: PairId,
    id: Uuid,
    viewer: Role,
) -> rusqlite::Result<Option<Note>> {
    conn.query_row(
        &format!(
            "SELECT {NOTES} FROM pair_notes WHERE id = ?1 AND pair_id = ?2
               AND (author = ?3 OR visibility = 'shared')"
        ),
        params![id.to_string(), pair.0.to_string(), viewer.as_str()],
        note_from_row,
    )
    .optional()
}

#[cfg(test)]
mod tests;
