//! An interceptor that lets inbound keyframe requests (RTCP PLI and FIR) reach the
//! application, and counts every inbound RTCP packet by type ([`RtcpCounter`]).
//!
//! In webrtc 0.21 inbound RTCP stops at the end of the interceptor chain unless an interceptor
//! marks it with [`Attribute::DeliverToApplication`]; only then does the driver route it to
//! `TrackLocal::poll` (feedback about a track we send) or `TrackRemote::poll`. This is the
//! pattern of the `rtcp-processing` example, with one difference: every request is delivered
//! as its own packet, because the core routes a compound packet by the destination SSRC of its
//! first member only.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;
use tokio::sync::watch;

use crate::rtcp_stats::kind_of_ssrc;
use crate::stats::PeerStats;

/// Slot for [`KeyframeRequestForwarder`]: after every built-in interceptor, so they all see the
/// whole of the inbound RTCP first.
pub const FORWARDER_SLOT: usize = 14_000;

/// Records inbound RTCP in [`PeerStats::rtcp`], attributing it to our senders by SSRC.
#[derive(Clone)]
pub struct RtcpCounter {
    stats: Arc<watch::Sender<PeerStats>>,
    /// Our senders' SSRCs, in [`crate::MediaKind::ALL`] order.
    ssrcs: [u32; 3],
}

impl RtcpCounter {
    /// Counts into `stats`; `ssrcs` are our audio, camera and screen SSRCs.
    pub fn new(stats: Arc<watch::Sender<PeerStats>>, ssrcs: [u32; 3]) -> RtcpCounter {
        RtcpCounter { stats, ssrcs }
    }

    /// Records the members of one inbound RTCP (compound) packet.
    pub fn count(&self, packets: &[Box<dyn rtc::rtcp::Packet>]) {
        if packets.is_empty() {
            return; // an attribute carrier, not RTCP from the wire
        }
        let ssrcs = self.ssrcs;
        let kind_of = move |ssrc| kind_of_ssrc(&ssrcs, ssrc);
        self.stats.send_modify(|s| {
            for packet in packets {
                s.rtcp.record(packet.as_ref(), &kind_of);
            }
        });
    }
}

/// Passes PLI and FIR on to the application; drops all other inbound RTCP at this point (the
/// interceptors before it have already acted on it). Counts all of it first when built with
/// [`KeyframeRequestForwarder::counting`].
#[derive(Default)]
pub struct KeyframeRequestForwarder {
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
    counter: Option<RtcpCounter>,
}

impl KeyframeRequestForwarder {
    /// A forwarder that also records every inbound RTCP packet with `counter`.
    pub fn counting(counter: RtcpCounter) -> KeyframeRequestForwarder {
        KeyframeRequestForwarder {
            counter: Some(counter),
            ..KeyframeRequestForwarder::default()
        }
    }
}

/// Whether an RTCP packet asks for a key frame.
pub fn is_keyframe_request(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequestForwarder {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        let Packet::Rtcp(packets) = &msg.message.packet else {
            self.read_queue.push_back(msg);
            return Ok(());
        };
        if let Some(counter) = &self.counter {
            counter.count(packets);
        }
        for request in packets.iter().filter(|p| is_keyframe_request(p.as_ref())) {
            let mut message = msg.message.clone();
            message.packet = Packet::Rtcp(vec![request.clone()]);
            message.add(Attribute::DeliverToApplication);
            self.read_queue.push_back(TaggedPacket {
                now: msg.now,
                transport: msg.transport,
                message,
            });
        }
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read_queue.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write_queue.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write_queue.pop_front()
    }
}

impl Interceptor for KeyframeRequestForwarder {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

#[cfg(test)]
mod tests;
