//! An impairment test bed: a UDP relay in front of the server that gives each person's
//! network its own loss, delay, jitter, rate limit, outages and address changes.
//!
//! The kernel here has no `netem`, so all of it happens in userspace (see
//! `/work/shared/TESTING-NOTES.md`, "Impaired networks"):
//!
//! * [`scenario`] — the conditions as data ([`Scenario`], [`Access`], [`LinkShape`], [`Loss`]),
//!   with the named scenarios.
//! * [`shaper`] — one direction of one link as a pure, clock-free model ([`Shaper`]).
//! * [`stun`] — telling datagrams apart (RFC 7983) and reading a STUN request's USERNAME, which
//!   is how the relay learns whose traffic a client address carries.
//! * [`relay`] — [`ImpairRelay`], the tokio relay that applies a shaper per person and
//!   direction.
//!
//! Everything binds loopback addresses: run it inside a loopback-only network namespace.

pub mod relay;
pub mod scenario;
pub mod shaper;
pub mod stun;

pub use relay::{AccessStats, ClientInfo, ImpairRelay, ImpairStats};
pub use scenario::{Access, Event, EventKind, LinkShape, Loss, Scenario, Who};
pub use shaper::{DropReason, Shaper, ShaperStats, Verdict};
