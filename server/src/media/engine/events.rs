//! Peer connection events that change what the engine knows: inbound
//! tracks opening, and connections coming up or going down.

use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::state::RTCPeerConnectionState;

use super::drain::SlotSet;
use super::{Inbound, Peer};
use crate::media::PeerKey;
use crate::media::forward::Slot;
use crate::media::peer;

/// Updates `peer` for `event`; adds the slots whose keyframes this peer
/// now needs from the other participant (`keyframes`), and the slots of
/// this peer's own tracks that just opened with a keyframe request waiting
/// (`opened`).
pub(super) fn handle_event(
    peer: &mut Peer,
    key: PeerKey,
    event: RTCPeerConnectionEvent,
    keyframes: &mut SlotSet,
    opened: &mut SlotSet,
) {
    match event {
        RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
            let outbound = peer.outbound();
            let Some(slot) = peer::slot_of_receiver(&mut peer.pc, init.receiver_id, &outbound)
            else {
                tracing::debug!(session = %key.session, role = %key.role, "track on an unknown transceiver");
                return;
            };
            if slot == Slot::Audio {
                let id = peer::audio_level_id(&mut peer.pc, init.receiver_id);
                peer.talk.set_extension_id(id);
            }
            let track = Inbound {
                track_id: init.track_id,
                receiver: init.receiver_id,
                ssrc: init.ssrc,
            };
            if peer.slots[slot.index()].up.open(track) {
                opened.insert(slot);
            }
            tracing::debug!(session = %key.session, role = %key.role, ?slot, "inbound track open");
        }
        RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
            tracing::debug!(session = %key.session, role = %key.role, %state, "peer connection state");
            match state {
                RTCPeerConnectionState::Connected => {
                    peer.connected = true;
                    // This side now receives: ask the other side's cameras
                    // and screens for a keyframe so video shows at once.
                    keyframes.insert(Slot::Camera);
                    keyframes.insert(Slot::Screen);
                }
                RTCPeerConnectionState::Disconnected
                | RTCPeerConnectionState::Failed
                | RTCPeerConnectionState::Closed => peer.connected = false,
                _ => {}
            }
        }
        _ => {}
    }
}
