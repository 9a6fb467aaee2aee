//! Answering NACKs from a history bounded in time, not in packets.
//!
//! `rtc`'s responder keeps a fixed number of packets per stream, so its
//! memory is the same for an idle 150 kbit/s stream as for a 2.5 Mbit/s
//! screen share, and a count small enough to keep calls cheap (128) holds
//! half a second of a screen share's keyframe burst. This one keeps each
//! outbound video stream's last [`HISTORY`] of packets, whatever their
//! number (up to [`MAX_PACKETS`]): memory follows the bitrate, and every
//! stream can repair a second of loss. A retransmission later than that
//! comes after the receiver has asked for a keyframe anyway.
//!
//! Duet negotiates no RTX, so a retransmission is the original packet
//! again (same SSRC and sequence number), marked for the interceptors
//! nearer the wire as `rtc`'s own are.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use rtc::interceptor::{
    Attribute, AttributedPacket, Interceptor, Packet, StreamInfo, TaggedPacket,
};
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::sansio::Protocol;
use rtc::shared::TransportContext;
use rtc::shared::error::Error as RtcError;

/// How far back a NACK can be answered.
pub const HISTORY: Duration = Duration::from_secs(1);
/// Packets kept per stream at most, whatever the rate: a second at about
/// 8 Mbit/s of 1,200-byte packets.
pub const MAX_PACKETS: usize = 1024;

/// One stream's sent packets, oldest first.
#[derive(Default)]
pub struct History {
    packets: VecDeque<(Instant, rtc::rtp::Packet)>,
}

impl History {
    /// Keeps `packet`, sent at `now`, and lets go of what is now too old.
    pub fn add(&mut self, now: Instant, packet: rtc::rtp::Packet) {
        while self
            .packets
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > HISTORY)
            || self.packets.len() >= MAX_PACKETS
        {
            self.packets.pop_front();
        }
        self.packets.push_back((now, packet));
    }

    /// The packet sent with sequence number `seq`, if still kept. The
    /// newest is looked at first: NACKs ask for recent packets.
    pub fn get(&self, seq: u16) -> Option<&rtc::rtp::Packet> {
        self.packets
            .iter()
            .rev()
            .map(|(_, p)| p)
            .find(|p| p.header.sequence_number == seq)
    }

    pub fn len(&self) -> usize {
        self.packets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }
}

/// The sequence numbers a NACK asks for (RFC 4585: each pair names one,
/// and a bitmask the 16 after it), as `rtc`'s pairs iterate them.
pub fn requested(nack: &TransportLayerNack) -> impl Iterator<Item = u16> + '_ {
    nack.nacks.iter().flat_map(|pair| *pair)
}

/// The interceptor: keeps outbound video, answers NACKs from it.
#[derive(Default)]
pub struct TimedNackResponder {
    streams: HashMap<u32, History>,
    reads: VecDeque<TaggedPacket>,
    writes: VecDeque<TaggedPacket>,
}

impl TimedNackResponder {
    fn answer(&mut self, now: Instant, nack: &TransportLayerNack) {
        let Some(history) = self.streams.get(&nack.media_ssrc) else {
            return;
        };
        for seq in requested(nack) {
            if let Some(packet) = history.get(seq) {
                self.writes.push_back(TaggedPacket {
                    now,
                    transport: TransportContext::default(),
                    message: AttributedPacket::new(Packet::Rtp(packet.clone()))
                        .with(Attribute::Retransmission),
                });
            }
        }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for TimedNackResponder {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = RtcError;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            for p in packets {
                if let Some(nack) = p.as_any().downcast_ref::<TransportLayerNack>() {
                    self.answer(msg.now, nack);
                }
            }
        }
        self.reads.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.reads.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtp(packet) = &msg.message.packet
            && let Some(history) = self.streams.get_mut(&packet.header.ssrc)
        {
            history.add(msg.now, packet.clone());
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

impl Interceptor for TimedNackResponder {
    /// Only streams whose receiver negotiated generic NACK are kept.
    fn bind_local_stream(&mut self, info: &StreamInfo) {
        let nack = info
            .rtcp_feedback
            .iter()
            .any(|fb| fb.typ == "nack" && fb.parameter.is_empty());
        if nack {
            self.streams.insert(info.ssrc, History::default());
        }
    }

    fn unbind_local_stream(&mut self, info: &StreamInfo) {
        self.streams.remove(&info.ssrc);
    }

    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

#[cfg(test)]
mod tests;
