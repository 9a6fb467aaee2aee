//! Redundant audio (RFC 2198 "RED"), as Chromium sends Opus in it.
//!
//! Each RED packet carries the current Opus frame (the *primary* block,
//! always last) and copies of one or two earlier frames. A receiver that
//! lost a packet rebuilds the frame from the next one's copy, so random
//! loss on either leg of a call through Duet costs almost no audio — far
//! less than Opus's own in-band FEC, which only carries a coarser copy and
//! only when the encoder expects loss. Duet answers with RED first when a
//! browser offers it, forwards it as it came to a receiver that took RED
//! too, and hands the primary frame alone (a slice of the same buffer, no
//! copy) to the recorder and to a receiver that did not.
//!
//! Written by hand: parsing a RED header is a dozen lines, and no crate of
//! the field offers it apart from a whole media stack.

/// A RED payload's primary block: where its data starts in the payload,
/// and its payload type (the codec inside, Opus in practice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Primary {
    pub offset: usize,
    pub payload_type: u8,
}

/// Finds the primary block of a RED payload; `None` when the headers are
/// cut short or the redundant blocks they announce do not fit.
///
/// Layout: a 4-byte header per redundant block (F=1, payload type,
/// 14-bit timestamp offset, 10-bit length), then a 1-byte header for the
/// primary (F=0, payload type), then the redundant blocks' data in order,
/// then the primary's data up to the end.
pub fn primary(payload: &[u8]) -> Option<Primary> {
    let mut at = 0usize;
    let mut redundant_len = 0usize;
    loop {
        let first = *payload.get(at)?;
        if first & 0x80 == 0 {
            let offset = at + 1 + redundant_len;
            return (offset <= payload.len()).then_some(Primary {
                offset,
                payload_type: first & 0x7f,
            });
        }
        let header = payload.get(at..at + 4)?;
        redundant_len += (usize::from(header[2] & 0x03) << 8) | usize::from(header[3]);
        at += 4;
    }
}

/// `payload`'s primary frame as a payload of its own (its payload type and
/// a slice of the same buffer: no copy, no allocation).
pub fn unwrap(payload: &bytes::Bytes) -> Option<(u8, bytes::Bytes)> {
    let p = primary(payload)?;
    Some((p.payload_type, payload.slice(p.offset..)))
}

/// Whether a negotiated codec key (`forward::codec_key`) is RED.
pub fn is_red(codec_key: &str) -> bool {
    codec_key
        .get(..9)
        .is_some_and(|k| k.eq_ignore_ascii_case("audio/red"))
}

#[cfg(test)]
mod tests;
