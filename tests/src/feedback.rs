//! An interceptor that lets inbound keyframe requests (RTCP PLI and FIR) reach the
//! application.
//!
//! In webrtc 0.21 inbound RTCP stops at the end of the interceptor chain unless an interceptor
//! marks it with [`Attribute::DeliverToApplication`]; only then does the driver route it to
//! `TrackLocal::poll` (feedback about a track we send) or `TrackRemote::poll`. This is the
//! pattern of the `rtcp-processing` example, with one difference: every request is delivered
//! as its own packet, because the core routes a compound packet by the destination SSRC of its
//! first member only.

use std::collections::VecDeque;
use std::time::Instant;

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;

/// Slot for [`KeyframeRequestForwarder`]: after every built-in interceptor, so they all see the
/// whole of the inbound RTCP first.
pub const FORWARDER_SLOT: usize = 14_000;

/// Passes PLI and FIR on to the application; drops all other inbound RTCP at this point (the
/// interceptors before it have already acted on it).
#[derive(Default)]
pub struct KeyframeRequestForwarder {
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
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
