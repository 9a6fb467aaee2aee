//! A person's export of their view of the pair, as JSON and as Markdown.
//!
//! The API fills an [`Export`] with only what the person may read (their
//! own notes and the shared ones); this module only lays it out, so what
//! goes in is decided in one place (the store's queries and `access`).

use duet_signaling::Role;
use serde::Serialize;

use super::schedule::local_view;

#[derive(Debug, Clone, Serialize)]
pub struct Export {
    pub exported_at_ms: i64,
    pub you: Role,
    /// The zone the Markdown shows times in (the person's, else UTC).
    pub time_zone: String,
    pub title: String,
    pub goal: String,
    pub mentor: String,
    pub mentee: String,
    pub agreement: ExportAgreement,
    pub sessions: Vec<ExportSession>,
    pub calls: Vec<ExportCall>,
    pub agenda: Vec<ExportItem>,
    pub actions: Vec<ExportAction>,
    pub notes: Vec<ExportNote>,
    /// Bookmarks and notes at a time, in the calls (`reflection/moments.rs`).
    pub moments: Vec<ExportMoment>,
    pub messages: Vec<ExportMessage>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportAgreement {
    pub text: String,
    pub version: u32,
    pub confirmed_by_mentor: bool,
    pub confirmed_by_mentee: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportSession {
    pub starts_at_ms: i64,
    pub duration_min: u32,
    pub time_zone: String,
    pub recurrence: Option<String>,
    pub cancelled: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportCall {
    pub session_id: String,
    pub at_ms: i64,
    pub duration_s: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportItem {
    pub text: String,
    pub done: bool,
    pub added_by: Role,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportAction {
    pub text: String,
    pub owner: Role,
    pub due: Option<String>,
    pub done: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportNote {
    pub session_id: Option<String>,
    pub author: Role,
    pub visibility: super::access::Visibility,
    pub at_ms: i64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportMoment {
    pub session_id: String,
    /// The recording whose clock `at_s` is on; none: the call's own clock.
    pub recording_id: Option<String>,
    pub at_s: f64,
    pub kind: crate::reflection::moments::MomentKind,
    pub author: Role,
    pub visibility: super::access::Visibility,
    pub made_at_ms: i64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportMessage {
    pub author: Role,
    pub at_ms: i64,
    pub text: String,
}

impl Export {
    fn name(&self, role: Role) -> &str {
        match role {
            Role::Mentor => &self.mentor,
            Role::Mentee => &self.mentee,
        }
    }

    fn when(&self, at_ms: i64) -> String {
        let tz = super::schedule::parse_zone(&self.time_zone).unwrap_or(chrono_tz::UTC);
        let v = local_view(at_ms, tz);
        format!("{} {} {}", v.weekday, v.date, v.time)
    }

    /// The export as Markdown, times in [`Export::time_zone`].
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let mut line = |s: &str| {
            out.push_str(s);
            out.push('\n');
        };
        line(&format!("# {}", one_line(&self.title)));
        line("");
        line(&format!(
            "Mentor: {} · Mentee: {} · Exported by the {} on {} ({})",
            one_line(&self.mentor),
            one_line(&self.mentee),
            self.you.as_str(),
            self.when(self.exported_at_ms),
            self.time_zone
        ));
        if !self.goal.is_empty() {
            line("");
            line(&format!("Goal: {}", self.goal));
        }
        line("");
        line(&format!(
            "## Agreement (version {}; confirmed by the mentor: {}, by the mentee: {})",
            self.agreement.version,
            yes_no(self.agreement.confirmed_by_mentor),
            yes_no(self.agreement.confirmed_by_mentee)
        ));
        line("");
        line(self.agreement.text.trim_end());
        line("");
        line("## Scheduled sessions");
        line("");
        for s in &self.sessions {
            line(&format!(
                "- {} ({} min{}, {}){}",
                self.when(s.starts_at_ms),
                s.duration_min,
                s.recurrence
                    .as_deref()
                    .map(|r| format!(", {r}"))
                    .unwrap_or_default(),
                s.time_zone,
                if s.cancelled { " — cancelled" } else { "" }
            ));
        }
        line("");
        line("## Calls");
        line("");
        for c in &self.calls {
            let minutes = c
                .duration_s
                .map(|d| format!("{} min", d.div_ceil(60)))
                .unwrap_or_else(|| "not held".into());
            line(&format!("- {} — {}", self.when(c.at_ms), minutes));
        }
        line("");
        line("## Agenda");
        line("");
        for i in &self.agenda {
            line(&format!(
                "- [{}] {}",
                if i.done { "x" } else { " " },
                one_line(&i.text)
            ));
        }
        line("");
        line("## Actions");
        line("");
        for a in &self.actions {
            line(&format!(
                "- [{}] {} ({}{})",
                if a.done { "x" } else { " " },
                one_line(&a.text),
                one_line(self.name(a.owner)),
                a.due
                    .as_deref()
                    .map(|d| format!(", due {d}"))
                    .unwrap_or_default()
            ));
        }
        line("");
        line("## Notes");
        for n in &self.notes {
            line("");
            line(&format!(
                "### {} — {} ({})",
                self.when(n.at_ms),
                one_line(self.name(n.author)),
                n.visibility.as_str()
            ));
            line("");
            line(n.text.trim_end());
        }
        line("");
        line("## Bookmarks and notes at a time");
        for m in &self.moments {
            let clock = if m.recording_id.is_some() {
                "of the recording"
            } else {
                "into the call"
            };
            let what = match m.kind {
                crate::reflection::moments::MomentKind::Bookmark => "Bookmark",
                crate::reflection::moments::MomentKind::Note => "Note",
            };
            line("");
            line(&format!(
                "- {what} at {} {clock} (call of {}) — {} ({}){}",
                clock_time(m.at_s),
                self.when(m.made_at_ms),
                one_line(self.name(m.author)),
                m.visibility.as_str(),
                if m.text.is_empty() {
                    String::new()
                } else {
                    format!(": {}", one_line(&m.text))
                }
            ));
        }
        line("");
        line("## Messages");
        for m in &self.messages {
            line("");
            line(&format!(
                "**{}**, {}:",
                one_line(self.name(m.author)),
                self.when(m.at_ms)
            ));
            line("");
            line(m.text.trim_end());
        }
        out
    }
}

/// `m:ss` or `h:mm:ss`, as the players show it.
fn clock_time(at_s: f64) -> String {
    let t = if at_s.is_finite() {
        at_s.max(0.0) as u64
    } else {
        0
    };
    let (h, m, s) = (t / 3600, (t % 3600) / 60, t % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Keeps a one-line field on one line in the Markdown.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests;
