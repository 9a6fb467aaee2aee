//! The transcript of one recording, and its three forms on disk:
//! `transcript.json` (this type), `transcript.vtt` (WebVTT, one voice span
//! per cue naming the speaker) and `transcript.md` (for reading).

use serde::{Deserialize, Serialize};

/// The whole transcript, as `transcript.json` holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// The language spoken (ISO 639-1), as configured or detected.
    pub language: Option<String>,
    /// The model file's name, e.g. `ggml-tiny.en.bin`.
    pub model: String,
    /// Both speakers' segments, ordered by start time.
    pub segments: Vec<Segment>,
}

/// One stretch of one person's speech.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// `mentor` or `mentee`.
    pub role: String,
    pub name: String,
    /// Seconds on the recording's clock.
    pub start_s: f64,
    pub end_s: f64,
    pub text: String,
    #[serde(default)]
    pub words: Vec<Word>,
}

/// One word, with its time on the recording's clock and the model's
/// confidence in it (0..1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub text: String,
    pub start_s: f64,
    pub end_s: f64,
    pub p: f32,
}

impl Transcript {
    /// Puts each speaker's segments together in time order (ties: the
    /// mentor first, so the order is stable).
    pub fn new(language: Option<String>, model: String, speakers: Vec<Vec<Segment>>) -> Self {
        let mut segments: Vec<Segment> = speakers.into_iter().flatten().collect();
        segments.sort_by(|a, b| {
            a.start_s
                .total_cmp(&b.start_s)
                .then_with(|| a.role.cmp(&b.role))
        });
        Self {
            language,
            model,
            segments,
        }
    }

    /// WebVTT: one cue per segment, the speaker in a voice span
    /// (`<v Name (role)>`), so players and screen readers say who speaks.
    pub fn to_vtt(&self) -> String {
        let mut out = String::from("WEBVTT\n");
        for (i, s) in self.segments.iter().enumerate() {
            out.push_str(&format!(
                "\n{}\n{} --> {}\n<v {} ({})>{}</v>\n",
                i + 1,
                vtt_time(s.start_s),
                vtt_time(s.end_s.max(s.start_s)),
                vtt_escape(&s.name),
                vtt_escape(&s.role),
                vtt_escape(&s.text)
            ));
        }
        out
    }

    /// Markdown for reading: one paragraph per turn (consecutive segments
    /// of the same person), each headed by the time and the speaker.
    pub fn to_markdown(&self, title: &str) -> String {
        let mut out = format!("# {}\n", md_line(title));
        let mut last_role: Option<&str> = None;
        for s in &self.segments {
            if last_role == Some(s.role.as_str()) {
                out.push(' ');
                out.push_str(&md_line(&s.text));
                continue;
            }
            out.push_str(&format!(
                "\n\n**[{}] {} ({}):** {}",
                clock(s.start_s),
                md_line(&s.name),
                s.role,
                md_line(&s.text)
            ));
            last_role = Some(&s.role);
        }
        if self.segments.is_empty() {
            out.push_str("\n(No speech was found in this recording.)");
        }
        out.push('\n');
        out
    }
}

/// `hh:mm:ss.mmm`, as WebVTT requires.
fn vtt_time(s: f64) -> String {
    let ms = (s.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// `m:ss`, or `h:mm:ss` past an hour.
fn clock(s: f64) -> String {
    let total = s.max(0.0) as u64;
    let (h, m, sec) = (total / 3600, total / 60 % 60, total % 60);
    match h {
        0 => format!("{m}:{sec:02}"),
        _ => format!("{h}:{m:02}:{sec:02}"),
    }
}

/// Cue text may not hold `&`, `<` or `-->`; names sit inside a tag.
fn vtt_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', " ")
}

/// One line of Markdown text: no line breaks, and characters that would
/// start markup are escaped, so what people said is shown as said.
fn md_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#' | '|' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
