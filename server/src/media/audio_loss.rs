//! Telling each sender how much of its audio is lost end to end.
//!
//! A browser tunes its Opus in-band FEC to the `fraction lost` that the
//! receiver reports about its audio stream state. In a direct call the
//! receiver is the other browser, so that fraction is the loss of the
//! whole path. Through Duet the sender hears from Duet, whose reports
//! (`rtc`'s receiver-report interceptor) count only the loss on the
//! sender's own uplink: with 5 % loss on each person's link the sender
//! protected its audio for 5 % while 10 % was lost, and the other person
//! concealed more audio than in a direct call.
//!
//! So each connection carries a [`DownstreamAudioLoss`]: the engine puts
//! into it what the other participant reports about the audio Duet
//! forwards (Duet keeps upstream gaps in the forwarded sequence numbers,
//! so that report counts both legs), and Duet's interceptor
//! (`media::rtcp_tap::RtcpTap`), just wire-ward of the report generator,
//! raises the fraction lost in Duet's receiver report about this
//! connection's audio to it ([`raise_audio_loss`]). Only the fraction changes: the cumulative count and highest
//! sequence number, from which a browser's congestion controller reckons
//! the loss *its* rate should answer, stay the uplink's own — loss further
//! on is Duet's to handle (retransmissions, the downlink's cap).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rtc::rtcp::receiver_report::ReceiverReport;

/// How long a downstream report stands. Browsers report on audio every
/// 5 s or so (randomised by half either way), so a report older than
/// this means the other person stopped reporting: they left, or their
/// path is down, and the uplink's own loss is all that is known.
pub const DOWNSTREAM_REPORT_TTL: Duration = Duration::from_secs(10);

/// The loss the other participant last reported on the audio forwarded
/// from this connection, shared between the engine (writer) and this
/// connection's interceptor (reader, `media::rtcp_tap`). Both live on the media
/// thread; the atomic only makes the handle `Send + Sync` as `rtc`'s
/// interceptors must be. One per connection, never shared between calls.
#[derive(Clone, Debug)]
pub struct DownstreamAudioLoss {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Times are kept as milliseconds since this instant.
    epoch: Instant,
    /// `(ms since epoch + 1) << 8 | fraction`; 0 before any report.
    packed: AtomicU64,
}

impl DownstreamAudioLoss {
    pub fn new(epoch: Instant) -> Self {
        DownstreamAudioLoss {
            inner: Arc::new(Shared {
                epoch,
                packed: AtomicU64::new(0),
            }),
        }
    }

    /// The other participant reported `fraction` (RFC 3550's 8-bit fixed
    /// point: 256 would be all) lost on this connection's audio at `now`.
    pub fn report(&self, now: Instant, fraction: u8) {
        let ms = now.saturating_duration_since(self.inner.epoch).as_millis() as u64;
        let packed = (ms.saturating_add(1) << 8) | u64::from(fraction);
        self.inner.packed.store(packed, Ordering::Relaxed);
    }

    /// The last reported fraction, unless it is older than
    /// [`DOWNSTREAM_REPORT_TTL`] at `now`.
    pub fn current(&self, now: Instant) -> Option<u8> {
        let packed = self.inner.packed.load(Ordering::Relaxed);
        let stamp = packed >> 8;
        if stamp == 0 {
            return None;
        }
        let at = self.inner.epoch + Duration::from_millis(stamp - 1);
        let fresh = now.saturating_duration_since(at) <= DOWNSTREAM_REPORT_TTL;
        fresh.then_some((packed & 0xff) as u8)
    }
}

/// Raises the fraction lost of every report block about one of `audio`'s
/// SSRCs in `packets` to `downstream` where it is lower. Returns whether
/// anything changed. A report is replaced by an edited copy (`rtc` hands
/// out RTCP as shared trait objects); that is once a second per stream.
pub fn raise_audio_loss(
    packets: &mut [Box<dyn rtc::rtcp::Packet>],
    audio: &[u32],
    downstream: u8,
) -> bool {
    let mut changed = false;
    for packet in packets.iter_mut() {
        let Some(rr) = packet.as_any().downcast_ref::<ReceiverReport>() else {
            continue;
        };
        let lower = |r: &rtc::rtcp::reception_report::ReceptionReport| {
            audio.contains(&r.ssrc) && r.fraction_lost < downstream
        };
        if !rr.reports.iter().any(lower) {
            continue;
        }
        let mut edited = rr.clone();
        for report in edited.reports.iter_mut().filter(|r| lower(r)) {
            report.fraction_lost = downstream;
        }
        *packet = Box::new(edited);
        changed = true;
    }
    changed
}

#[cfg(test)]
pub(super) mod tests;
