//! Mentoring pairs: a mentor and a mentee over many sessions. Everything
//! here is pure (no IO): scheduling and recurrence across time zones
//! ([`schedule`]) and the calendar files written from it ([`calendar`]).

pub mod calendar;
pub mod schedule;
