//! Filling timestamp gaps in an Ogg Opus stream (see the `ogg` module
//! docs): concealment first, then silence.

use std::io::Write;

use super::{OggOpusWriter, Result, frame_samples};

/// Longest stretch of a gap filled with concealment; the rest is silence.
const MAX_CONCEAL: u64 = 5760;
/// A 20 ms CELT frame whose first decoded symbol is the silence flag.
const SILENT_FRAME: [u8; 2] = [0xFF, 0xFE];
/// Silence packets: TOC (CELT FB 20 ms, code 3), count, 6 silent frames.
const SILENCE_PACKET: usize = 2 + 6 * SILENT_FRAME.len();

impl<W: Write> OggOpusWriter<W> {
    /// Fills `samples` (a multiple of 120): up to [`MAX_CONCEAL`] with
    /// zero-length frames keeping the last packet's mode, bandwidth and
    /// channels, switching to CELT only for a remainder shorter than its
    /// frames (RFC 7845 §4.1); then silence, 20 ms frames.
    pub(super) fn fill_gap(&mut self, toc: u8, samples: u64) -> Result<()> {
        let silence = samples.saturating_sub(MAX_CONCEAL) / 960 * 960;
        let mut page = FillPage::new(self.granule);
        let mut remaining = samples - silence;
        let config = toc >> 3;
        let celt_base = match config {
            0..=3 => 16,   // SILK NB -> CELT NB
            4..=11 => 20,  // SILK MB, WB -> CELT WB
            12 | 13 => 24, // Hybrid SWB -> CELT SWB
            14 | 15 => 28, // Hybrid FB -> CELT FB
            _ => 16 + (config - 16) / 4 * 4,
        };
        for config in [
            config,
            celt_base + 3,
            celt_base + 2,
            celt_base + 1,
            celt_base,
        ] {
            let frame = u64::from(frame_samples(config));
            while remaining >= frame {
                let frames = (remaining / frame).min(5760 / frame);
                remaining -= frames * frame;
                // code 3, CBR, no padding: all frames zero bytes
                let packet = [config << 3 | (toc & 0x04) | 3, frames as u8];
                self.fill_packet(&mut page, &packet, frames * frame)?;
            }
        }
        let mut packet = [0u8; SILENCE_PACKET];
        remaining = silence;
        while remaining > 0 {
            let frames = (remaining / 960).min(6);
            remaining -= frames * 960;
            packet[0] = 31 << 3 | (toc & 0x04) | 3;
            packet[1] = frames as u8;
            for frame in packet[2..].chunks_mut(2).take(frames as usize) {
                frame.copy_from_slice(&SILENT_FRAME);
            }
            let len = 2 + 2 * frames as usize;
            self.fill_packet(&mut page, &packet[..len], frames * 960)?;
        }
        if page.count > 0 {
            self.write_fill_page(&mut page)?;
        }
        Ok(())
    }

    fn fill_packet(&mut self, page: &mut FillPage, packet: &[u8], samples: u64) -> Result<()> {
        if page.count == 255 || page.len + packet.len() > page.body.len() {
            self.write_fill_page(page)?;
        }
        page.lacing[page.count] = packet.len() as u8;
        page.body[page.len..page.len + packet.len()].copy_from_slice(packet);
        page.count += 1;
        page.len += packet.len();
        page.end += samples;
        Ok(())
    }

    fn write_fill_page(&mut self, page: &mut FillPage) -> Result<()> {
        let (lacing, body) = (&page.lacing[..page.count], &page.body[..page.len]);
        self.write_page(0, page.end, lacing, body)?;
        self.filled += page.end - self.granule;
        self.granule = page.end;
        page.count = 0;
        page.len = 0;
        Ok(())
    }
}

/// Gap-filling packets collected for one page.
struct FillPage {
    lacing: [u8; 255],
    body: [u8; 255 * SILENCE_PACKET],
    count: usize,
    len: usize,
    /// Granule position after the packets so far.
    end: u64,
}

impl FillPage {
    fn new(start: u64) -> Self {
        FillPage {
            lacing: [0; 255],
            body: [0; 255 * SILENCE_PACKET],
            count: 0,
            len: 0,
            end: start,
        }
    }
}

/// Whether a packet is one the writer fills gaps with: concealment, or
/// silence frames packed as it packs them (an encoder's own silence may
/// look the same, and decodes the same).
pub fn is_gap_fill(packet: &[u8]) -> bool {
    is_concealment(packet)
        || match packet {
            [toc, count, frames @ ..] => {
                toc >> 3 == 31
                    && toc & 3 == 3
                    && usize::from(*count) * 2 == frames.len()
                    && frames.chunks(2).all(|f| f == SILENT_FRAME)
            }
            _ => false,
        }
}

/// Whether a packet only asks for concealment: all its frames are zero
/// bytes long (what the writer fills gaps with, RFC 7845 §4.1). A player
/// may decode it (PLC fades to silence) or write silence for it.
pub fn is_concealment(packet: &[u8]) -> bool {
    match packet {
        [toc] => toc & 3 == 0 || toc & 3 == 1, // one frame, or two of 0 bytes
        [toc, count] => toc & 3 == 3 && count & 0xC0 == 0, // CBR, no padding
        _ => false,
    }
}
