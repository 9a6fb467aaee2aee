//! Transcripts made on this server: every consented recording becomes a
//! speaker-labelled, time-aligned transcript, with no outside service.
//!
//! Each person's audio is already its own 16 kHz track on the recording's
//! clock, so who said what needs no guessing (no diarization).
//!
//! - [`speech`] finds the speech in a track and packs it for the model;
//!   [`segments`] turns what the model heard into segments and words on
//!   the recording's clock, dropping what is not speech; [`document`] is
//!   the transcript and its JSON, WebVTT and Markdown forms. All pure.
//! - [`engine`] is whisper.cpp (cargo feature `transcription`).
//! - [`job`] transcribes one recording; [`service`] runs jobs from the
//!   database on low-priority threads; [`models`] is the catalog behind
//!   `duet model download`, and [`download`] fetches from it.

pub mod document;
pub mod download;
pub mod engine;
pub mod job;
pub mod models;
pub mod segments;
pub mod service;
pub mod speech;
