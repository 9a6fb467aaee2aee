//! What people type into a pair, checked before anything is stored: every
//! limit in one place, each error naming its field so the API can say
//! which one was wrong.

/// A checked-field error: which field, and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn error(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_GOAL_CHARS: usize = 2_000;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_AGENDA_CHARS: usize = 500;
pub const MAX_ACTION_CHARS: usize = 500;
pub const MAX_NOTE_CHARS: usize = 20_000;
pub const MAX_MESSAGE_CHARS: usize = 5_000;
/// Most open agenda items and actions a pair holds: enough for any real
/// pair, and a bound on what one page load returns.
pub const MAX_ITEMS: usize = 200;
/// Most notes and messages a pair holds: years of weekly sessions, and a
/// bound on what one person can make the server store.
pub const MAX_NOTES: usize = 5_000;
pub const MAX_MESSAGES: usize = 20_000;

/// One line of text (a title, a name, an agenda item): trimmed, not empty,
/// at most `max` characters, no control characters.
pub fn line(field: &'static str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(error(field, format!("`{field}` must not be empty")));
    }
    if v.chars().count() > max {
        return Err(error(
            field,
            format!("`{field}` must be at most {max} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(error(
            field,
            format!("`{field}` must be one line without control characters"),
        ));
    }
    Ok(v.to_string())
}

/// Free text over several lines (a note, a message, a goal): line breaks
/// and tabs allowed, other control characters not; `\r\n` becomes `\n`.
/// `allow_empty` for fields that may be cleared (a goal).
pub fn text(
    field: &'static str,
    value: &str,
    max: usize,
    allow_empty: bool,
) -> Result<String, FieldError> {
    let v = value.replace("\r\n", "\n");
    let v = v.trim();
    if v.is_empty() && !allow_empty {
        return Err(error(field, format!("`{field}` must not be empty")));
    }
    if v.chars().count() > max {
        return Err(error(
            field,
            format!("`{field}` must be at most {max} characters"),
        ));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(error(
            field,
            format!("`{field}` must not contain control characters"),
        ));
    }
    Ok(v.to_string())
}

/// An email address as far as it matters here: something to put after
/// `mailto:` in a calendar invite. One `@` with text on both sides, no
/// spaces, no characters that would break an iCalendar line. Deliverability
/// is the mail system's business.
pub fn email(field: &'static str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let bad = || error(field, format!("`{field}` is not an email address"));
    if v.chars().count() > MAX_EMAIL_CHARS {
        return Err(bad());
    }
    let (local, domain) = v.split_once('@').ok_or_else(bad)?;
    let forbidden = |c: char| {
        c.is_whitespace() || c.is_control() || matches!(c, '@' | ',' | ';' | ':' | '"' | '<' | '>')
    };
    if local.is_empty()
        || domain.is_empty()
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || local.chars().any(forbidden)
        || domain.chars().any(forbidden)
    {
        return Err(bad());
    }
    Ok(v.to_string())
}

/// A due date, `YYYY-MM-DD`: a day in the owner's calendar, not an instant.
pub fn due_date(field: &'static str, value: &str) -> Result<String, FieldError> {
    let date = chrono::NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| error(field, format!("`{field}` must be a date like 2027-01-31")))?;
    if !(2000..=2200).contains(&chrono::Datelike::year(&date)) {
        return Err(error(field, format!("`{field}` is out of range")));
    }
    Ok(date.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests;
