//! Mentoring pairs: a mentor and a mentee over many sessions. Everything
//! here is pure (no IO): scheduling and recurrence across time zones
//! ([`schedule`]).

pub mod schedule;
