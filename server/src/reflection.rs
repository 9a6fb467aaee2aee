//! Reflecting on a recorded call: the pure rules behind the reflection
//! page's API (`api/reflect.rs`). Who reaches how much of a recording
//! ([`access`]), what the consent trail says in plain words
//! ([`trail_words`]), who spoke when, how often and how long
//! ([`timeline`]), and where bookmarks and notes sit in time
//! ([`moments`]). No IO here: the API reads the store and the manifest,
//! then asks these functions.

pub mod access;
pub mod moments;
pub mod timeline;
pub mod trail_words;
