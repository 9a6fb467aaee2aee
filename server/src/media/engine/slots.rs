//! Per-slot bookkeeping: what the recorder is handed for each packet, and
//! the payload-type and codec maps between the two participants.

use std::time::Instant;

use duet_signaling::Role;

use super::Peer;
use crate::media::forward::{PayloadMap, Slot};
use crate::media::{peer, red};
use crate::recorder::tap::{RecordedPacket, TrackCodec, TrackKind};

/// Rebuilds `src`'s payload maps toward `dst`'s outbound streams.
/// The recorder's view of a packet: header fields and a refcounted payload.
/// Redundant audio (RED) is recorded as its primary Opus frame, a slice of
/// the same payload; a RED payload that does not parse is not recorded.
pub(super) fn recorded(
    role: Role,
    slot: Slot,
    codecs: &[Vec<(u8, TrackCodec)>; 3],
    inbound_red: Option<u8>,
    packet: &rtc::rtp::Packet,
    now: Instant,
) -> RecordedPacket {
    let mut pt = packet.header.payload_type;
    let mut payload = packet.payload.clone();
    if slot == Slot::Audio && inbound_red == Some(pt) {
        match red::unwrap(&packet.payload) {
            Some((inner, primary)) => {
                pt = inner;
                payload = primary;
            }
            // No codec of this slot has payload type 128.
            None => pt = 128,
        }
    }
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
        payload,
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
        if slot == Slot::Audio {
            src.inbound_red = inbound
                .iter()
                .find(|(_, key)| red::is_red(key))
                .map(|(pt, _)| *pt);
        }
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

#[cfg(test)]
mod tests;
