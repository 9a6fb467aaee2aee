//! VP8 RTP payload format (RFC 7741): a small payloader with a settable picture ID, and key
//! frame detection on received payloads.

use std::sync::atomic::{AtomicU16, Ordering};

use bytes::{BufMut, Bytes, BytesMut};

/// Payload descriptor size: X byte, extension byte, 15-bit picture ID.
const DESCRIPTOR_LEN: usize = 4;

/// Splits VP8 frames into RTP payloads, each with a 15-bit picture ID that advances per frame.
///
/// Every payloader in the process starts its picture IDs 2048 apart, so two tracks sending the
/// same clip produce different payloads (for the first 2048 frames each, over two minutes at
/// 15 fps; 16 payloaders before the starts repeat).
#[derive(Debug)]
pub struct Vp8Packetizer {
    picture_id: u16,
}

impl Default for Vp8Packetizer {
    fn default() -> Self {
        static NEXT_START: AtomicU16 = AtomicU16::new(0);
        let start = NEXT_START.fetch_add(2048, Ordering::Relaxed) & 0x7fff;
        Vp8Packetizer { picture_id: start }
    }
}

impl Vp8Packetizer {
    /// The picture ID the next frame will carry.
    pub fn next_picture_id(&self) -> u16 {
        self.picture_id
    }

    /// Payloads for one frame, none larger than `max_payload` bytes.
    pub fn payload(&mut self, frame: &[u8], max_payload: usize) -> Vec<Bytes> {
        let chunk = max_payload.saturating_sub(DESCRIPTOR_LEN).max(1);
        let pid = 0x8000 | self.picture_id;
        self.picture_id = (self.picture_id + 1) & 0x7fff;
        frame
            .chunks(chunk)
            .enumerate()
            .map(|(i, part)| {
                let mut b = BytesMut::with_capacity(DESCRIPTOR_LEN + part.len());
                // X=1, S=1 on the first packet of the frame, partition 0.
                b.put_u8(if i == 0 { 0x90 } else { 0x80 });
                b.put_u8(0x80); // I=1: picture ID present
                b.put_u16(pid); // M=1: 15 bits
                b.put_slice(part);
                b.freeze()
            })
            .collect()
    }
}

/// Whether a VP8 RTP payload is the first packet of a key frame.
pub fn starts_keyframe(payload: &[u8]) -> bool {
    let Some(&b0) = payload.first() else {
        return false;
    };
    let start_of_partition = b0 & 0x10 != 0;
    let partition_id = b0 & 0x0f;
    if !start_of_partition || partition_id != 0 {
        return false;
    }
    let mut i = 1;
    if b0 & 0x80 != 0 {
        // Extension byte: I, L, T, K flags.
        let Some(&x) = payload.get(i) else {
            return false;
        };
        i += 1;
        if x & 0x80 != 0 {
            // PictureID, one or two bytes.
            let Some(&p) = payload.get(i) else {
                return false;
            };
            i += if p & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            i += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            i += 1; // TID/Y/KEYIDX
        }
    }
    payload.get(i).is_some_and(|b| b & 0x01 == 0)
}

#[cfg(test)]
mod tests;
