//! Per-slot bookkeeping: what the recorder is handed for each packet, and
//! the payload-type and codec maps between the two participants.

use std::time::Instant;

use duet_signaling::Role;

use super::Peer;
use crate::media::forward::{PayloadMap, Slot};
use crate::media::peer;
use crate::recorder::tap::{RecordedPacket, TrackCodec, TrackKind};

/// Rebuilds `src`'s payload maps toward `dst`'s outbound streams.
/// The recorder's view of a packet: header fields and a refcounted payload.
pub(super) fn recorded(
    role: Role,
    slot: Slot,
    codecs: &[Vec<(u8, TrackCodec)>; 3],
    packet: &rtc::rtp::Packet,
    now: Instant,
) -> RecordedPacket {
    let pt = packet.header.payload_type;
    let codec = codecs[slot.index()]
        .iter()
        .find(|(p, _)| *p == pt)
        .map_or(TrackCodec::Other, |(_, c)| *c);
    RecordedPacket {
        role,
        kind: match slot {
            Slot::Audio => TrackKind::Audio,
            Slot::Camera => TrackKind::Camera,
            Slot::Screen => TrackKind::Screen,
        },
        codec,
        seq: packet.header.sequence_number,
        timestamp: packet.header.timestamp,
        marker: packet.header.marker,
        payload: packet.payload.clone(),
        arrival: now,
    }
}

pub(super) fn map_slots(src: &mut Peer, dst: &mut Peer) {
    for slot in Slot::ALL {
        let i = slot.index();
        let Some(inb) = &src.inbound[i] else {
            continue;
        };
        let inbound = peer::receiver_codecs(&mut src.pc, inb.receiver);
        src.inbound_codecs[i] = inbound
            .iter()
            .map(|(pt, key)| {
                (
                    *pt,
                    TrackCodec::from_mime(key.split(';').next().unwrap_or("")),
                )
            })
            .collect();
        let outbound = peer::sender_codecs(&mut dst.pc, dst.outbound[i].sender);
        src.pt_maps[i] = PayloadMap::build(&inbound, &outbound);
    }
}
