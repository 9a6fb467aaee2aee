//! Loss on a person's uplink: what never reached Duet of what they sent.
//!
//! The receiver reports the *other* person's browser sends count loss over
//! both legs (forwarded sequence numbers keep the sender's gaps), so they
//! cannot say whose network lost a packet. Duet sees the sender's own
//! sequence numbers arrive, so it counts the gaps itself: per inbound
//! stream, the packets that arrived against the span of sequence numbers
//! they cover, over windows the room reads every couple of seconds.
//! Retransmissions that fill a gap count as arrived, so this is the loss
//! that retransmission did not repair — what the call actually suffers.

/// A window smaller than this says nothing: a few packets lost of a handful
/// is not a rate.
pub const MIN_EXPECTED: u64 = 20;

/// Arrivals on one inbound stream since the window began.
#[derive(Debug, Clone, Default)]
pub struct UplinkLoss {
    /// Highest extended sequence number seen (wraps unrolled).
    highest: Option<u64>,
    /// First extended sequence number of the current window.
    start: u64,
    received: u64,
}

impl UplinkLoss {
    /// Counts one packet. Called per packet: arithmetic only.
    pub fn on_packet(&mut self, seq: u16) {
        let ext = match self.highest {
            // Start high enough that an early reordered packet cannot
            // unroll below zero.
            None => {
                let ext = (1 << 16) + u64::from(seq);
                self.start = ext;
                ext
            }
            Some(h) => {
                // The nearest unrolled value to the highest: a delta of
                // ±32767 either way.
                let delta = i64::from(seq.wrapping_sub(h as u16) as i16);
                h.saturating_add_signed(delta)
            }
        };
        if self.highest.is_none_or(|h| ext > h) {
            self.highest = Some(ext);
        }
        self.received += 1;
    }

    /// The fraction lost (0–1) since the last window closed, closing this
    /// one — or `None`, leaving it open, while it spans fewer than
    /// [`MIN_EXPECTED`] packets.
    pub fn take(&mut self) -> Option<f64> {
        let highest = self.highest?;
        let expected = (highest + 1).saturating_sub(self.start);
        if expected < MIN_EXPECTED {
            return None;
        }
        let lost = expected.saturating_sub(self.received);
        self.start = highest + 1;
        self.received = 0;
        Some(lost as f64 / expected as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(u: &mut UplinkLoss, seqs: impl IntoIterator<Item = u16>) {
        for s in seqs {
            u.on_packet(s);
        }
    }

    #[test]
    fn counts_the_gaps_in_what_arrived() {
        let mut u = UplinkLoss::default();
        // 100 packets, every fourth missing.
        feed(&mut u, (0..100u16).filter(|s| s % 4 != 1));
        assert_eq!(u.take(), Some(0.25));
        // A clean window after it.
        feed(&mut u, 100..200);
        assert_eq!(u.take(), Some(0.0));
    }

    #[test]
    fn a_small_window_stays_open() {
        let mut u = UplinkLoss::default();
        feed(&mut u, [0, 1, 2, 5]);
        assert_eq!(u.take(), None);
        feed(&mut u, 6..30);
        let loss = u.take().expect("now a window");
        assert!((loss - 2.0 / 30.0).abs() < 1e-9, "{loss}");
    }

    #[test]
    fn survives_the_sequence_wrap_and_reordering() {
        let mut u = UplinkLoss::default();
        let seqs: Vec<u16> = (65_500u32..65_600).map(|s| (s % 65_536) as u16).collect();
        // Swap neighbours: reordered, nothing lost.
        let mut shuffled = seqs.clone();
        for pair in shuffled.chunks_mut(2) {
            pair.reverse();
        }
        feed(&mut u, shuffled);
        assert_eq!(u.take(), Some(0.0));
    }

    #[test]
    fn a_retransmission_that_fills_a_gap_counts_as_arrived() {
        let mut u = UplinkLoss::default();
        feed(&mut u, (0..50u16).filter(|s| *s != 10));
        u.on_packet(10);
        assert_eq!(u.take(), Some(0.0));
        // Duplicates never make the loss negative.
        feed(&mut u, 50..80);
        feed(&mut u, 50..80);
        assert_eq!(u.take(), Some(0.0));
    }
}
