//! What Duet sends each simulated peer, read off the wire: SRTP leaves an
//! RTP header in the clear, SRTCP an RTCP packet's first eight bytes, so
//! keyframe requests, bitrate caps and the rewritten video headers can be
//! seen without the peers' keys.

use std::cell::RefCell;
use std::rc::Rc;

use super::is_video;
use super::sim::{Meter, Sim};

/// The clear header of one video packet as it reached a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoHeader {
    pub ssrc: u32,
    pub seq: u16,
    pub timestamp: u32,
}

/// What reached one peer from Duet.
#[derive(Debug, Default, Clone)]
pub struct Arrived {
    /// Keyframe requests (RTCP PLI or FIR).
    pub keyframe_requests: usize,
    /// Bitrate caps (RTCP REMB).
    pub caps: usize,
    pub video: Vec<VideoHeader>,
}

/// What reached each peer, by index.
pub type Seen = Rc<RefCell<Vec<Arrived>>>;

/// Taps the link from Duet to every peer: `lose` still decides which
/// datagrams the network drops, and what it lets through is logged.
pub fn tap<M: Meter>(
    sim: &mut Sim<M>,
    mut lose: impl FnMut(usize, &[u8]) -> bool + 'static,
) -> Seen {
    let seen = Seen::default();
    let log = seen.clone();
    sim.loss = Some(Box::new(move |peer, datagram| {
        if lose(peer, datagram) {
            return true;
        }
        let mut log = log.borrow_mut();
        if log.len() <= peer {
            log.resize_with(peer + 1, Arrived::default);
        }
        let arrived = &mut log[peer];
        match *datagram {
            // Payload-specific feedback: FMT 1 is a PLI, 4 a FIR, 15 a REMB.
            [first, 206, ..] => match first & 0x1f {
                1 | 4 => arrived.keyframe_requests += 1,
                15 => arrived.caps += 1,
                _ => {}
            },
            [_, _, s0, s1, t0, t1, t2, t3, c0, c1, c2, c3, ..] if is_video(datagram) => {
                arrived.video.push(VideoHeader {
                    ssrc: u32::from_be_bytes([c0, c1, c2, c3]),
                    seq: u16::from_be_bytes([s0, s1]),
                    timestamp: u32::from_be_bytes([t0, t1, t2, t3]),
                });
            }
            _ => {}
        }
        false
    }));
    seen
}

/// What reached peer `index` so far.
pub fn arrived(seen: &Seen, index: usize) -> Arrived {
    seen.borrow().get(index).cloned().unwrap_or_default()
}
