//! `rtc`'s NACK generator, woken only while something may be missing.
//!
//! Once a stream has flowed, `rtc`'s generator asks for a wake-up every
//! NACK interval (20 ms, `peer::NACK_INTERVAL`) for as long as the
//! connection lives, media or not, loss or not: 50 wake-ups a second per
//! connection, most of what an idle call cost the server. This wrapper
//! lets every packet through to it (so its receive log stays whole) but
//! passes its timer on only from the first sign of a gap (a sequence
//! number that skips, or one that comes back late) until [`AWAKE_FOR`]
//! after the last one, which covers every round of NACKs the generator
//! may send for a packet (`peer::NACKS_PER_PACKET`, 10 at 20 ms).

use std::time::{Duration, Instant};

use rtc::interceptor::{Interceptor, NackGeneratorInterceptor, Packet, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;
use rtc::shared::error::Error as RtcError;

/// How long the generator stays awake after the last gap seen.
pub const AWAKE_FOR: Duration = Duration::from_secs(1);

/// The highest sequence number seen per stream, and whether a packet
/// shows a gap.
#[derive(Default)]
pub struct GapWatch {
    highest: Vec<(u32, u16)>,
}

impl GapWatch {
    /// Notes `seq` of stream `ssrc`; true when it skipped numbers or came
    /// after later ones (a gap, a repair, reordering).
    pub fn gap(&mut self, ssrc: u32, seq: u16) -> bool {
        let Some(entry) = self.highest.iter_mut().find(|(s, _)| *s == ssrc) else {
            self.highest.push((ssrc, seq));
            return false;
        };
        let ahead = seq.wrapping_sub(entry.1);
        if ahead == 1 {
            entry.1 = seq;
            return false;
        }
        if ahead != 0 && ahead < u16::MAX / 2 {
            entry.1 = seq;
        }
        ahead != 0
    }

    pub fn forget(&mut self, ssrc: u32) {
        self.highest.retain(|(s, _)| *s != ssrc);
    }
}

pub struct QuietNackGenerator {
    inner: NackGeneratorInterceptor,
    watch: GapWatch,
    /// While set, the generator's timer is passed on.
    awake_until: Option<Instant>,
}

impl QuietNackGenerator {
    pub fn new(inner: NackGeneratorInterceptor) -> QuietNackGenerator {
        QuietNackGenerator {
            inner,
            watch: GapWatch::default(),
            awake_until: None,
        }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for QuietNackGenerator {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = RtcError;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtp(packet) = &msg.message.packet
            && self
                .watch
                .gap(packet.header.ssrc, packet.header.sequence_number)
        {
            self.awake_until = Some(msg.now + AWAKE_FOR);
        }
        // What the generator passes up stays on its own queue until the
        // chain polls this one: a queue here too would move every packet
        // twice more.
        self.inner.handle_read(msg)
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.inner.poll_read()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.inner.handle_write(msg)
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.inner.poll_write()
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), Self::Error> {
        let Some(until) = self.awake_until else {
            return Ok(());
        };
        self.inner.handle_timeout(now)?;
        if now >= until {
            self.awake_until = None;
        }
        Ok(())
    }

    fn poll_timeout(&mut self) -> Option<Self::Time> {
        let until = self.awake_until?;
        // Never later than the end of the awake spell, so it can end.
        self.inner.poll_timeout().map(|at| at.min(until))
    }
}

impl Interceptor for QuietNackGenerator {
    fn bind_local_stream(&mut self, info: &StreamInfo) {
        self.inner.bind_local_stream(info);
    }
    fn unbind_local_stream(&mut self, info: &StreamInfo) {
        self.inner.unbind_local_stream(info);
    }
    fn bind_remote_stream(&mut self, info: &StreamInfo) {
        self.inner.bind_remote_stream(info);
    }
    fn unbind_remote_stream(&mut self, info: &StreamInfo) {
        self.watch.forget(info.ssrc);
        self.inner.unbind_remote_stream(info);
    }
}

#[cfg(test)]
mod tests;
