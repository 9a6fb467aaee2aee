//! A recording's consent trail in plain words, for the two people: who
//! asked, who agreed to which version of the notice, when it started and
//! stopped, who deleted what. Times are UTC; each line also carries its
//! instant so a page can show it in the reader's own time zone, and its
//! parts (who, which notice, why), so a page can say it in its own
//! language; the English `text` is the record for API clients.

use std::collections::HashMap;

use serde::Serialize;

use crate::store::StoredConsentEvent;

/// One line of the trail as people read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrailLine {
    pub at_ms: i64,
    pub action: String,
    pub text: String,
    /// Who acted: `mentor`, `mentee`, `admin`, `participant` or `server`;
    /// `None` for the server's own start and stop.
    pub by: Option<String>,
    /// The person's name, when a participant acted.
    pub name: Option<String>,
    /// For a consent: the version of the text agreed to, and its language
    /// when it was a translation of the notice.
    pub version: Option<i64>,
    pub language: Option<String>,
    /// Why an interruption happened, when it is a reason Duet knows:
    /// `mentor_left`, `mentee_left`, `session_ended`, `server_stopped`,
    /// `write_failed` or `policy_off`.
    pub reason: Option<&'static str>,
}

/// A stored notice text, as a consent refers to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRef {
    pub version: i64,
    /// `""` for the notice itself; a language code for a translation.
    pub language: String,
}

/// The lines for `events` (oldest first). `names` maps a role
/// (`mentor`/`mentee`) to the person's name; `notices` a notice hash to
/// its version and language.
pub fn describe(
    events: &[StoredConsentEvent],
    names: &HashMap<String, String>,
    notices: &HashMap<String, NoticeRef>,
) -> Vec<TrailLine> {
    events
        .iter()
        .map(|e| {
            let by = e.role.as_deref().or(e.actor.as_deref());
            let notice = (e.action == "consent")
                .then(|| notices.get(&e.notice_hash))
                .flatten();
            TrailLine {
                at_ms: e.at_ms,
                action: e.action.clone(),
                text: sentence(e, names, notices),
                by: by.map(str::to_string),
                name: by
                    .and_then(|r| names.get(r))
                    .filter(|n| !n.trim().is_empty())
                    .cloned(),
                version: notice.map(|n| n.version),
                language: notice
                    .filter(|n| !n.language.is_empty())
                    .map(|n| n.language.clone()),
                reason: (e.action == "interruption")
                    .then(|| e.detail.as_deref().and_then(reason))
                    .flatten(),
            }
        })
        .collect()
}

/// The known reasons an interruption gives (`consent::describe` and the
/// restart recovery write them), as codes a page can word.
fn reason(detail: &str) -> Option<&'static str> {
    match detail.trim() {
        "the mentor left the call" => Some("mentor_left"),
        "the mentee left the call" => Some("mentee_left"),
        "the session ended" => Some("session_ended"),
        RESTART_NOTE => Some("server_stopped"),
        d if d.starts_with("writing failed") => Some("write_failed"),
        d if d.starts_with("policy:") => Some("policy_off"),
        _ => None,
    }
}

fn sentence(
    e: &StoredConsentEvent,
    names: &HashMap<String, String>,
    notices: &HashMap<String, NoticeRef>,
) -> String {
    // A participant's own event names them by role; a deletion names its
    // actor (a role, `admin`, or the server).
    let who_role = e.role.as_deref().or(e.actor.as_deref());
    let who = match who_role {
        Some(r @ ("mentor" | "mentee")) => names
            .get(r)
            .filter(|n| !n.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| format!("The {r}")),
        Some("admin") => "An administrator".to_string(),
        Some("participant") => "A participant".to_string(),
        _ => "Duet".to_string(),
    };
    let at = clock(e.at_ms);
    let on = day_and_clock(e.at_ms);
    match e.action.as_str() {
        "request" => format!("{who} asked to record at {at}"),
        "consent" => match notices.get(&e.notice_hash) {
            Some(n) if n.language.is_empty() => {
                format!("{who} agreed to notice version {} at {at}", n.version)
            }
            Some(n) => format!(
                "{who} agreed to notice version {} ({}) at {at}",
                n.version, n.language
            ),
            None => format!("{who} agreed to the notice at {at}"),
        },
        "decline" => format!("{who} declined to be recorded at {at}"),
        "revoke" => format!("{who} withdrew consent at {at}"),
        "start" => format!("Recording started at {at}"),
        "stop" if e.role.is_some() => format!("{who} stopped it at {at}"),
        "stop" => format!("Recording stopped at {at}"),
        // The call's own ending (someone left, the session ended) says why;
        // the server's restart recovery writes its own note.
        "interruption" => match e.detail.as_deref().map(str::trim) {
            Some(RESTART_NOTE) => format!("Recording was interrupted at {at} (the server stopped)"),
            Some(why) if !why.is_empty() => {
                format!("Recording ended at {at}: {}", name_roles(why, names))
            }
            _ => format!("Recording ended at {at}"),
        },
        "discard" if who_role.is_some_and(|r| r != "server") => {
            format!("{who} deleted the recording on {on}")
        }
        "discard" => format!("The recording was deleted on {on}"),
        "delete_media" => {
            format!("{who} deleted the audio and video on {on}; the transcript is kept")
        }
        other => format!("{other} at {at}"),
    }
}

fn utc(ms: i64) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// `10:02 UTC`.
fn clock(ms: i64) -> String {
    utc(ms).map_or_else(String::new, |t| {
        format!("{:02}:{:02} UTC", t.hour(), t.minute())
    })
}

/// `3 May 2024 at 10:31 UTC`.
fn day_and_clock(ms: i64) -> String {
    utc(ms).map_or_else(String::new, |t| {
        format!("{} {} {} at {}", t.day(), t.month(), t.year(), clock(ms))
    })
}

/// The note the server's restart recovery writes (`recorder::recovery`).
const RESTART_NOTE: &str = "the server stopped while recording";

/// "the mentee left the call" → "Alan left the call".
fn name_roles(text: &str, names: &HashMap<String, String>) -> String {
    let mut out = text.to_string();
    for role in ["mentor", "mentee"] {
        if let Some(name) = names.get(role).filter(|n| !n.trim().is_empty()) {
            out = out.replace(&format!("the {role}"), name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-05-03 10:02:00 UTC.
    const T0: i64 = 1_714_730_520_000;

    fn event(
        action: &str,
        role: Option<&str>,
        actor: Option<&str>,
        at_ms: i64,
    ) -> StoredConsentEvent {
        StoredConsentEvent {
            seq: 0,
            session_id: "s".into(),
            recording_id: "r".into(),
            action: action.into(),
            role: role.map(Into::into),
            participant_id: None,
            actor: actor.map(Into::into),
            at_ms,
            notice_hash: "h3".into(),
            detail: None,
        }
    }

    fn notice(version: i64, language: &str) -> NoticeRef {
        NoticeRef {
            version,
            language: language.into(),
        }
    }

    fn texts(events: &[StoredConsentEvent]) -> Vec<String> {
        let names = HashMap::from([
            ("mentor".to_string(), "Grace".to_string()),
            ("mentee".to_string(), "Alan".to_string()),
        ]);
        let notices = HashMap::from([
            ("h3".to_string(), notice(3, "")),
            ("h4es".to_string(), notice(4, "es")),
        ]);
        describe(events, &names, &notices)
            .into_iter()
            .map(|l| l.text)
            .collect()
    }

    #[test]
    fn a_recorded_call_reads_as_what_happened() {
        let t = texts(&[
            event("request", Some("mentor"), None, T0),
            event("consent", Some("mentor"), None, T0),
            event("consent", Some("mentee"), None, T0 + 20_000),
            event("start", None, Some("server"), T0 + 21_000),
            event("revoke", Some("mentee"), None, T0 + 29 * 60_000),
            event("stop", Some("mentee"), None, T0 + 29 * 60_000),
        ]);
        assert_eq!(
            t,
            [
                "Grace asked to record at 10:02 UTC",
                "Grace agreed to notice version 3 at 10:02 UTC",
                "Alan agreed to notice version 3 at 10:02 UTC",
                "Recording started at 10:02 UTC",
                "Alan withdrew consent at 10:31 UTC",
                "Alan stopped it at 10:31 UTC",
            ]
        );
    }

    #[test]
    fn a_consent_to_a_translation_names_its_language_and_each_line_its_parts() {
        let names = HashMap::from([("mentee".to_string(), "Alan".to_string())]);
        let notices = HashMap::from([("h4es".to_string(), notice(4, "es"))]);
        let mut agreed = event("consent", Some("mentee"), None, T0);
        agreed.notice_hash = "h4es".into();
        let mut ended = event("interruption", None, None, T0);
        ended.detail = Some("the mentee left the call".into());
        let lines = describe(&[agreed, ended], &names, &notices);
        assert_eq!(
            lines[0].text,
            "Alan agreed to notice version 4 (es) at 10:02 UTC"
        );
        assert_eq!(
            (lines[0].by.as_deref(), lines[0].name.as_deref()),
            (Some("mentee"), Some("Alan"))
        );
        assert_eq!(
            (lines[0].version, lines[0].language.as_deref()),
            (Some(4), Some("es"))
        );
        assert_eq!(lines[1].reason, Some("mentee_left"));
        assert_eq!(lines[1].version, None);
    }

    #[test]
    fn an_ending_says_why_and_a_restart_says_so() {
        let mut left = event("interruption", None, None, T0);
        left.detail = Some("the mentee left the call".into());
        let mut restart = event("interruption", None, Some("server"), T0);
        let bare = event("interruption", None, Some("server"), T0);
        restart.detail = Some("the server stopped while recording".into());
        assert_eq!(
            texts(&[left, restart, bare]),
            [
                "Recording ended at 10:02 UTC: Alan left the call",
                "Recording was interrupted at 10:02 UTC (the server stopped)",
                "Recording ended at 10:02 UTC",
            ]
        );
    }

    #[test]
    fn deletions_say_who_and_on_which_day() {
        let t = texts(&[
            event("delete_media", None, Some("mentor"), T0),
            event("discard", None, Some("mentee"), T0),
            event("discard", None, Some("admin"), T0),
            event("discard", None, Some("server"), T0),
        ]);
        assert_eq!(
            t[0],
            "Grace deleted the audio and video on 3 May 2024 at 10:02 UTC; the transcript is kept"
        );
        assert_eq!(
            t[1],
            "Alan deleted the recording on 3 May 2024 at 10:02 UTC"
        );
        assert_eq!(
            t[2],
            "An administrator deleted the recording on 3 May 2024 at 10:02 UTC"
        );
        assert_eq!(t[3], "The recording was deleted on 3 May 2024 at 10:02 UTC");
    }

    #[test]
    fn an_unknown_notice_or_name_still_reads() {
        let mut e = event("consent", Some("mentee"), None, T0);
        e.notice_hash = "unknown".into();
        let lines = describe(&[e], &HashMap::new(), &HashMap::new());
        assert_eq!(
            lines[0].text,
            "The mentee agreed to the notice at 10:02 UTC"
        );
        assert_eq!(lines[0].at_ms, T0);
    }
}
