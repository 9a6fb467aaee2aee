//! The pair's working agreement: one shared text that each person confirms.
//!
//! Confirming means "I agree to *this* text": a confirmation names the
//! version it was given for, and any edit makes a new version that nobody
//! has confirmed yet. So a pair can never show "both confirmed" for words
//! one of them has not read.

use duet_signaling::Role;
use serde::Serialize;

/// Longest agreement text, in characters.
pub const MAX_AGREEMENT_CHARS: usize = 20_000;

/// The text a new pair starts with: the questions the mentoring guides ask
/// a pair to settle at the start, left for the two to answer.
pub const TEMPLATE: &str = "\
# Our working agreement

## Confidentiality
What we talk about stays between us, unless we both agree otherwise. Exceptions:

## Recording
What we will record, who may see a recording or its transcript, and how long we keep it:

## Goals
What we want to get out of these sessions, and how we will know:

## Meetings
How often we meet, for how long, and how far ahead we schedule:

## When one of us is late or unwell
How we let each other know, and how long we wait:

## Changed schedules
How we move or cancel a session:

## Between meetings
How and how often we keep in touch:
";

/// Where the confirmations stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementState {
    /// Neither has confirmed the current version.
    Unconfirmed,
    /// One of the two has.
    Partly,
    /// Both have.
    Confirmed,
}

/// The stored agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    pub text: String,
    /// Starts at 1; every edit adds one.
    pub version: u32,
    /// The version each person (by [`Role::index`]) last confirmed; 0 for
    /// never.
    pub confirmed: [u32; 2],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgreementError {
    /// The caller edited or confirmed an older version than the current
    /// one: someone changed it meanwhile.
    #[error(
        "the agreement was changed meanwhile (now version {current}); read it again before you {what}"
    )]
    Stale { current: u32, what: &'static str },
    #[error("the agreement must be at most {MAX_AGREEMENT_CHARS} characters")]
    TooLong,
    #[error("the agreement must not contain control characters other than line breaks and tabs")]
    ControlCharacters,
}

impl Agreement {
    /// A new pair's agreement: the template, confirmed by nobody.
    pub fn new() -> Agreement {
        Agreement {
            text: TEMPLATE.to_string(),
            version: 1,
            confirmed: [0, 0],
        }
    }

    pub fn state(&self) -> AgreementState {
        match (
            self.confirmed_by(Role::Mentor),
            self.confirmed_by(Role::Mentee),
        ) {
            (true, true) => AgreementState::Confirmed,
            (false, false) => AgreementState::Unconfirmed,
            _ => AgreementState::Partly,
        }
    }

    /// Whether `role` confirmed the current version.
    pub fn confirmed_by(&self, role: Role) -> bool {
        self.confirmed[role.index()] == self.version
    }

    /// Replaces the text, given the version the editor started from. An
    /// edit that changes nothing keeps the version and the confirmations.
    pub fn edit(&mut self, text: &str, base_version: u32) -> Result<bool, AgreementError> {
        if base_version != self.version {
            return Err(AgreementError::Stale {
                current: self.version,
                what: "change it",
            });
        }
        let text = check_text(text)?;
        if text == self.text {
            return Ok(false);
        }
        self.text = text;
        self.version += 1;
        Ok(true)
    }

    /// `role` agrees to `version`, which must be the current one.
    pub fn confirm(&mut self, role: Role, version: u32) -> Result<(), AgreementError> {
        if version != self.version {
            return Err(AgreementError::Stale {
                current: self.version,
                what: "confirm it",
            });
        }
        self.confirmed[role.index()] = version;
        Ok(())
    }
}

impl Default for Agreement {
    fn default() -> Self {
        Agreement::new()
    }
}

/// Normalizes line ends and checks length and characters.
fn check_text(text: &str) -> Result<String, AgreementError> {
    let text = text.replace("\r\n", "\n");
    if text.chars().count() > MAX_AGREEMENT_CHARS {
        return Err(AgreementError::TooLong);
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(AgreementError::ControlCharacters);
    }
    Ok(text)
}

#[cfg(test)]
mod tests;
