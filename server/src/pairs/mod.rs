//! Mentoring pairs: a mentor and a mentee over many sessions, and the rules
//! of what they keep between calls. Everything here is pure (no IO): who
//! may do what ([`access`]), the working agreement ([`agreement`]), the
//! checks on what people type ([`fields`]), scheduling and recurrence
//! across time zones ([`schedule`]), calendar files ([`calendar`]), which
//! occurrence a join opens ([`joining`]), when an action is overdue
//! ([`due`]) and a person's export
//! ([`export`]). The store keeps the rows (`store::pairs*`), the API serves
//! them (`api::pairs*`).

pub mod access;
pub mod agreement;
pub mod calendar;
pub mod due;
pub mod export;
pub mod fields;
pub mod joining;
pub mod schedule;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A pair: one mentor and one mentee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PairId(pub Uuid);

impl std::fmt::Display for PairId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
