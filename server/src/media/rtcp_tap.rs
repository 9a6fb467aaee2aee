//! Duet's one interceptor on each connection, just wire-ward of `rtc`'s
//! receiver-report generator. Both of its jobs ride one pass through the
//! chain, since every interceptor costs each packet a trip through its
//! queue:
//!
//! - **inbound RTCP up to the engine.** `rtc`'s chain ends the inbound
//!   RTCP path unless a packet is marked for the application; an SFU must
//!   relay keyframe requests and read reports and REMB, so every inbound
//!   RTCP packet is marked. The interceptors above this one (the report
//!   generators) read RTCP and pass it on, so marking here reaches the
//!   engine as marking at the top did.
//! - **end-to-end audio loss in Duet's reports** (`media::audio_loss`):
//!   the fraction lost in Duet's receiver report about this connection's
//!   audio is raised to what the other person reported.

use std::collections::VecDeque;
use std::time::Instant;

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;
use rtc::shared::error::Error as RtcError;

use super::audio_loss::{DownstreamAudioLoss, raise_audio_loss};

pub struct RtcpTap {
    downstream: DownstreamAudioLoss,
    /// SSRCs of the audio this connection sends Duet.
    audio: Vec<u32>,
    reads: VecDeque<TaggedPacket>,
    writes: VecDeque<TaggedPacket>,
}

impl RtcpTap {
    pub fn new(downstream: DownstreamAudioLoss) -> Self {
        RtcpTap {
            downstream,
            audio: Vec::new(),
            reads: VecDeque::new(),
            writes: VecDeque::new(),
        }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for RtcpTap {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = RtcError;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if matches!(msg.message.packet, Packet::Rtcp(_)) {
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.reads.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.reads.pop_front()
    }

    fn handle_write(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &mut msg.message.packet
            && !self.audio.is_empty()
            && let Some(downstream) = self.downstream.current(msg.now)
        {
            raise_audio_loss(packets, &self.audio, downstream);
        }
        self.writes.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.writes.pop_front()
    }

    fn handle_timeout(&mut self, _now: Instant) -> Result<(), Self::Error> {
        Ok(())
    }

    fn poll_timeout(&mut self) -> Option<Self::Time> {
        None
    }
}

impl Interceptor for RtcpTap {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, info: &StreamInfo) {
        if info.mime_type.to_ascii_lowercase().starts_with("audio/")
            && !self.audio.contains(&info.ssrc)
        {
            self.audio.push(info.ssrc);
        }
    }
    fn unbind_remote_stream(&mut self, info: &StreamInfo) {
        self.audio.retain(|s| *s != info.ssrc);
    }
}

#[cfg(test)]
mod tests;
