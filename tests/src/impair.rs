//! An impairment test bed: the models for giving each person's network its own loss, delay,
//! jitter, rate limit, outages and address changes.
//!
//! The kernel here has no `netem`, so all of it happens in userspace (see
//! `/work/shared/TESTING-NOTES.md`, "Impaired networks"):
//!
//! * [`scenario`] — the conditions as data ([`Scenario`], [`Access`], [`LinkShape`], [`Loss`]),
//!   with the named scenarios.
//! * [`shaper`] — one direction of one link as a pure, clock-free model ([`Shaper`]).
//! * [`stun`] — telling datagrams apart (RFC 7983) and reading a STUN request's USERNAME, which
//!   is how a relay learns whose traffic a client address carries.

pub mod scenario;
pub mod shaper;
pub mod stun;

pub use scenario::{Access, Event, EventKind, LinkShape, Loss, Scenario, Who};
pub use shaper::{DropReason, Shaper, ShaperStats, Verdict};
