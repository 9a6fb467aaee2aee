//! Talk time from the audio without decoding it: each audio packet's
//! level as the sender measured it, carried in the RTP header extension
//! `urn:ietf:params:rtp-hdrext:ssrc-audio-level` (RFC 6464), which
//! Chromium puts on every audio packet once the answer negotiates it
//! (webrtc-rs, when the application gives a level).
//!
//! The extension is one byte: the V bit (the sender's voice detector says
//! "speech") and the level in −dBov, 0 the loudest and 127 silence. A
//! voiced packet counts for its RTP duration: the timestamp step from the
//! previous packet of its stream, capped (a gap is not talk). The rule is
//! plain functions here; [`TalkMeter`] applies it per packet with a few
//! integer operations on state the connection owns: no allocation, no
//! lock, no log. A muted microphone sends no packets, or silent ones, and
//! adds nothing. The engine counts only packets it delivered to the other
//! participant, so talk time is time the other person could hear.

use rtc::rtp::header::{EXTENSION_PROFILE_ONE_BYTE, EXTENSION_PROFILE_TWO_BYTE, Header};

/// The extension's URI, as negotiated in SDP (`a=extmap`).
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// Opus's RTP clock (RFC 7587): 48 kHz whatever the sampling inside, and
/// the only audio codec Duet negotiates.
const TICKS_PER_MS: u64 = 48;

/// The most one packet counts for: 120 ms, the longest an Opus packet can
/// last (RFC 6716), so no real packet is cut short. A longer step is a gap
/// (DTX silence, a loss burst, a microphone unmuted, a sender whose
/// timestamps jump) and adds at most this much, once.
pub const MAX_PACKET_TICKS: u32 = 120 * TICKS_PER_MS as u32;

/// A step this far behind the last timestamp is not a reordered packet but
/// a sender that restarted its clock on the same SSRC: counting resumes
/// from the new timestamps instead of waiting for them to catch up.
const RESTART_TICKS: u32 = 48_000;

/// For a sender that never sets the V bit, a packet at least this loud (in
/// −dBov, so a lower number is louder: −45 dBov or above) is talk. The
/// same threshold as the recorder's detector (`recorder/talk.rs`), for the
/// same reason: a voice after a browser's gain control and noise
/// suppression sits around −30 to −15 dBov, room noise after suppression
/// below −55, so −45 leaves about 15 dB of margin both ways; and calls that
/// are recorded get comparable numbers from both measures.
pub const VOICED_LEVEL: u8 = 45;

/// −127 dBov: digital silence, never talk whatever the V bit says.
const SILENT: u8 = 127;

/// One packet's audio level (RFC 6464).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioLevel {
    /// The sender's voice detector says the packet holds speech.
    pub voice: bool,
    /// Loudness in −dBov: 0 the loudest, 127 silence.
    pub level: u8,
}

/// The audio level `header` carries under the negotiated extension `id`,
/// in either RFC 8285 form (one-byte ids `0xBEDE`, two-byte `0x1000`, as
/// the rtc crate splits them into `extensions`). `None` for id 0 (not
/// negotiated), another profile, no such extension or an empty one.
pub fn audio_level(header: &Header, id: u8) -> Option<AudioLevel> {
    if id == 0 || !header.extension {
        return None;
    }
    if header.extension_profile != EXTENSION_PROFILE_ONE_BYTE
        && header.extension_profile != EXTENSION_PROFILE_TWO_BYTE
    {
        return None;
    }
    let byte = *header
        .extensions
        .iter()
        .find(|e| e.id == id)?
        .payload
        .first()?;
    Some(AudioLevel {
        voice: byte & 0x80 != 0,
        level: byte & 0x7f,
    })
}

/// Whether a packet is talk. A sender that has set the V bit at least once
/// runs a voice detector, which knows speech from a loud fan or music
/// better than a level does: its V bit decides. A sender that never sets
/// it (no detector, or one whose result it does not send) is judged by
/// level against [`VOICED_LEVEL`]; trusting a bit that is always clear
/// would count nobody as talking.
pub fn is_voiced(level: AudioLevel, sender_sets_voice: bool) -> bool {
    if level.level >= SILENT {
        return false;
    }
    if sender_sets_voice {
        level.voice
    } else {
        level.level <= VOICED_LEVEL
    }
}

/// Where a packet's timestamp stands against the stream's latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampStep {
    /// Ahead by this many ticks (capped at [`MAX_PACKET_TICKS`]): the
    /// packet's duration.
    Ahead(u32),
    /// The same or a little behind: a repeat or a reordered packet, whose
    /// time the later packet's step already covers.
    Behind,
    /// Far behind: the sender restarted its clock.
    Restart,
}

/// The step from `last` to `ts`, with RTP's 32-bit wrap.
pub fn step(last: u32, ts: u32) -> TimestampStep {
    let ahead = ts.wrapping_sub(last);
    if ahead != 0 && ahead <= u32::MAX / 2 {
        TimestampStep::Ahead(ahead.min(MAX_PACKET_TICKS))
    } else if last.wrapping_sub(ts) <= RESTART_TICKS {
        TimestampStep::Behind
    } else {
        TimestampStep::Restart
    }
}

/// One connection's talk: how long the audio it sent was voiced.
#[derive(Debug, Clone, Default)]
pub struct TalkMeter {
    /// The negotiated id of [`AUDIO_LEVEL_URI`]; 0 when not negotiated
    /// (then nothing counts: no level, no way to tell talk from silence).
    extension_id: u8,
    /// This sender has set the V bit (see [`is_voiced`]).
    sets_voice: bool,
    /// The stream's SSRC and its latest timestamp.
    last: Option<(u32, u32)>,
    /// Voiced time so far, in RTP ticks.
    ticks: u64,
}

impl TalkMeter {
    /// A meter for a new connection of the same participant: the talk so
    /// far carries over, the stream state does not.
    pub fn carried_from(previous: &TalkMeter) -> TalkMeter {
        TalkMeter {
            ticks: previous.ticks,
            ..TalkMeter::default()
        }
    }

    /// The id the audio-level extension was negotiated with (0: none).
    pub fn set_extension_id(&mut self, id: u8) {
        self.extension_id = id;
    }

    /// Judges one received audio packet and moves the stream position on;
    /// returns the ticks of talk it is worth, to pass to [`Self::count`]
    /// once the packet was delivered. Per packet: a few compares and adds.
    pub fn observe(&mut self, header: &Header) -> u32 {
        let ts = header.timestamp;
        let ticks = match self.last {
            Some((ssrc, last)) if ssrc == header.ssrc => match step(last, ts) {
                TimestampStep::Ahead(ticks) => {
                    self.last = Some((ssrc, ts));
                    ticks
                }
                TimestampStep::Behind => 0,
                TimestampStep::Restart => {
                    self.last = Some((ssrc, ts));
                    0
                }
            },
            // The first packet, or a new source: its duration is unknown.
            _ => {
                self.last = Some((header.ssrc, ts));
                0
            }
        };
        if ticks == 0 {
            return 0;
        }
        let Some(level) = audio_level(header, self.extension_id) else {
            return 0;
        };
        self.sets_voice |= level.voice;
        if is_voiced(level, self.sets_voice) {
            ticks
        } else {
            0
        }
    }

    /// Adds what [`Self::observe`] judged a delivered packet to be worth.
    pub fn count(&mut self, ticks: u32) {
        self.ticks = self.ticks.saturating_add(u64::from(ticks));
    }

    /// Voiced time so far, in milliseconds.
    pub fn talk_ms(&self) -> u64 {
        self.ticks / TICKS_PER_MS
    }
}

#[cfg(test)]
mod tests;
