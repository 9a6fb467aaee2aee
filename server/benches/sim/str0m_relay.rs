//! A minimal 1:1 SFU on str0m, for the in-process benchmark's comparison
//! of engines (`benches/engine.rs`, `ENGINE=str0m`): the same peers, the
//! same packets, through str0m instead of Duet's `rtc` engine.
//!
//! One `str0m::Rtc` per peer: ICE-lite, a host candidate at the advertised
//! address, RTP mode (packets are forwarded as they come, never assembled
//! into frames). Each RTP packet one person sends goes to the other person
//! of the call on the m-line with the same mid and kind (both offer audio,
//! camera, screen in that order), with the sender's sequence number,
//! timestamp, marker, payload type and header extension values; video is
//! kept for retransmission a second (`RTX_CACHE`), as Duet's NACK history
//! is. A keyframe request from a receiver goes to the sender. str0m's own
//! feedback stays on: receiver reports, NACK generation, TWCC feedback.
//!
//! str0m answers NACKs only over RTX. The sim's `rtc` peers offer RTX (as
//! browsers do) and str0m accepts it, so here it could answer them (Duet
//! answers with the original packet and negotiates no RTX); at the
//! benchmark's 0 % loss there are none to answer.
//!
//! Every call into a connection's `Rtc` runs in `catch_unwind`: a panic
//! ends that connection, not the relay (free while nothing panics).
//!
//! Not done, unlike Duet's engine: no REMB caps, no RED, no audio-loss
//! report edits, no stream continuity across a reconnect (a rejoining peer
//! gets a new `Rtc`; the other side's outbound stream goes on from its own
//! state), no consent or idle timeouts of our own, no metrics, no timer
//! grid (each `Rtc` is woken at its own deadline).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use duet_signaling::{ConnId, Role, SessionId};
use str0m::change::SdpOffer;
use str0m::crypto::CryptoProvider;
use str0m::media::{KeyframeRequestKind, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpPacket, RtpWrite};
use str0m::{Candidate, Event, Input, Output, Rtc};

use super::Relay;

/// How long sent video is kept for retransmission: Duet's NACK history.
const RTX_CACHE: Duration = Duration::from_secs(1);
/// Packets kept per video stream at most (Duet's `MAX_PACKETS`).
const RTX_CACHE_PACKETS: usize = 1024;
/// str0m's own cap on retransmissions as a share of the bitrate.
const RTX_RATIO_CAP: Option<f32> = Some(0.15);

/// One peer's connection.
struct Conn {
    rtc: Rtc,
    session: SessionId,
    role: Role,
    /// When its `Rtc` wants `Input::Timeout` (none while being woken).
    next: Option<Instant>,
    /// A panic or a dead `Rtc` ended it.
    dead: bool,
}

/// Work one connection's output makes for another.
// Kept in a reused Vec: boxing the packet would allocate for each one.
#[allow(clippy::large_enum_variant)]
enum Action {
    /// Forward this packet on `mid`.
    Rtp(Mid, MediaKind, RtpPacket),
    /// Ask the sender on `mid` for a keyframe.
    Keyframe(Mid, KeyframeRequestKind),
}

pub struct Str0mRelay {
    addr: SocketAddr,
    crypto: Arc<CryptoProvider>,
    conns: Vec<Conn>,
    /// Connection by the peer's address, once its ICE check was accepted.
    by_addr: HashMap<SocketAddr, usize>,
    /// Each call's current connections (mentor, mentee).
    calls: HashMap<SessionId, [Option<usize>; 2]>,
    /// Deadlines, earliest first; stale ones (not a connection's `next`)
    /// are skipped.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    sent: Vec<(SocketAddr, Vec<u8>)>,
    /// Cross-connection work, and connections with output to drain.
    actions: Vec<(usize, Action)>,
    dirty: Vec<usize>,
    /// Connections whose deadline came (reused).
    due: Vec<usize>,
    /// The latest time it was handed.
    now: Instant,
    forwarded: u64,
    /// Connections ended by a panic.
    pub panics: u64,
}

fn slot(role: Role) -> usize {
    match role {
        Role::Mentor => 0,
        Role::Mentee => 1,
    }
}

impl Str0mRelay {
    /// A relay whose answers name `addr` as its one host candidate.
    pub fn new(addr: SocketAddr) -> anyhow::Result<Str0mRelay> {
        Ok(Str0mRelay {
            addr,
            crypto: Arc::new(str0m::crypto::from_feature_flags()),
            conns: Vec::new(),
            by_addr: HashMap::new(),
            calls: HashMap::new(),
            timers: BinaryHeap::new(),
            sent: Vec::new(),
            actions: Vec::new(),
            dirty: Vec::new(),
            due: Vec::new(),
            now: Instant::now(),
            forwarded: 0,
            panics: 0,
        })
    }

    /// The other person's live connection in `index`'s call.
    fn other(&self, index: usize) -> Option<usize> {
        let c = &self.conns[index];
        let other = self.calls.get(&c.session)?[1 - slot(c.role)]?;
        (!self.conns[other].dead).then_some(other)
    }

    /// Feeds `input` (if any) to connection `index` and drains its output:
    /// datagrams to send, packets and keyframe requests for the other
    /// person, its next deadline.
    fn drive(&mut self, index: usize, input: Option<Input<'_>>) {
        let other = self.other(index);
        let Str0mRelay {
            conns,
            sent,
            actions,
            timers,
            panics,
            ..
        } = self;
        let conn = &mut conns[index];
        if conn.dead {
            return;
        }
        let ran = catch_unwind(AssertUnwindSafe(|| -> bool {
            if let Some(input) = input
                && conn.rtc.handle_input(input).is_err()
            {
                return false;
            }
            loop {
                match conn.rtc.poll_output() {
                    Err(_) => return false,
                    Ok(Output::Timeout(at)) => {
                        if conn.next != Some(at) {
                            conn.next = Some(at);
                            timers.push(Reverse((at, index)));
                        }
                        return conn.rtc.is_alive();
                    }
                    Ok(Output::Transmit(t)) => sent.push((t.destination, t.contents.into())),
                    Ok(Output::Event(Event::RtpPacket(packet))) => {
                        let Some(other) = other else { continue };
                        let mut api = conn.rtc.direct_api();
                        let Some(mid) = api.stream_rx(&packet.header.ssrc).map(|s| s.mid()) else {
                            continue;
                        };
                        let Some(kind) = conn.rtc.media(mid).map(|m| m.kind()) else {
                            continue;
                        };
                        actions.push((other, Action::Rtp(mid, kind, packet)));
                    }
                    Ok(Output::Event(Event::KeyframeRequest(req))) => {
                        if let Some(other) = other {
                            actions.push((other, Action::Keyframe(req.mid, req.kind)));
                        }
                    }
                    Ok(Output::Event(_)) => {}
                }
            }
        }));
        match ran {
            Ok(true) => {}
            Ok(false) => conn.dead = true,
            Err(_) => {
                conn.dead = true;
                *panics += 1;
            }
        }
    }

    /// Carries out the work connections made for each other, until none
    /// is left.
    fn settle(&mut self) {
        while !self.actions.is_empty() {
            let mut actions = std::mem::take(&mut self.actions);
            for (to, action) in actions.drain(..) {
                let conn = &mut self.conns[to];
                if conn.dead {
                    continue;
                }
                let forwarded = &mut self.forwarded;
                let ok = catch_unwind(AssertUnwindSafe(|| {
                    match action {
                        Action::Rtp(mid, kind, p) => {
                            // The same mid on the other side, if it is of
                            // the same kind (both offered the same lines).
                            if conn.rtc.media(mid).map(|m| m.kind()) != Some(kind) {
                                return;
                            }
                            let mut api = conn.rtc.direct_api();
                            let Some(tx) = api.stream_tx_by_mid(mid, None) else {
                                return;
                            };
                            let h = p.header;
                            tx.write_rtp(
                                RtpWrite::new(
                                    h.payload_type,
                                    p.seq_no,
                                    h.timestamp,
                                    p.timestamp,
                                    p.payload,
                                )
                                .marker(h.marker)
                                .ext_vals(h.ext_vals)
                                .nackable(kind == MediaKind::Video),
                            );
                            *forwarded += 1;
                        }
                        Action::Keyframe(mid, kind) => {
                            if let Some(rx) = conn.rtc.direct_api().stream_rx_by_mid(mid, None) {
                                rx.request_keyframe(kind);
                            }
                        }
                    }
                }));
                if ok.is_err() {
                    conn.dead = true;
                    self.panics += 1;
                } else if !self.dirty.contains(&to) {
                    self.dirty.push(to);
                }
            }
            self.actions = actions;
            while let Some(index) = self.dirty.pop() {
                self.drive(index, None);
            }
        }
    }

    /// Keeps a second of sent video for retransmission, as Duet does
    /// (str0m's default is 3 s), on the offer's m-lines (`a=mid:`).
    fn set_rtx_cache(rtc: &mut Rtc, offer: &str) {
        for line in offer.lines() {
            let Some(mid) = line.trim().strip_prefix("a=mid:") else {
                continue;
            };
            let mid = Mid::from(mid);
            if rtc.media(mid).map(|m| m.kind()) != Some(MediaKind::Video) {
                continue;
            }
            if let Some(tx) = rtc.direct_api().stream_tx_by_mid(mid, None)
                && tx.rtx().is_some()
            {
                tx.set_rtx_cache(RTX_CACHE_PACKETS, RTX_CACHE, RTX_RATIO_CAP);
            }
        }
    }
}

impl Relay for Str0mRelay {
    type Datagram = Vec<u8>;

    fn offer(
        &mut self,
        now: Instant,
        session: SessionId,
        role: Role,
        _conn: ConnId,
        sdp: String,
    ) -> anyhow::Result<String> {
        self.now = now;
        let mut rtc = Rtc::builder()
            .set_crypto_provider(self.crypto.clone())
            .set_ice_lite(true)
            .set_rtp_mode(true)
            .build(now);
        rtc.add_local_candidate(Candidate::host(self.addr, "udp")?);
        let answer = rtc
            .sdp_api()
            .accept_offer(SdpOffer::from_sdp_string(&sdp)?)?;
        Self::set_rtx_cache(&mut rtc, &sdp);
        let index = self.conns.len();
        self.conns.push(Conn {
            rtc,
            session,
            role,
            next: None,
            dead: false,
        });
        // A new connection of the same person replaces the old one.
        let call = self.calls.entry(session).or_default();
        if let Some(old) = call[slot(role)].replace(index) {
            self.conns[old].dead = true;
            self.conns[old].rtc.disconnect();
            self.by_addr.retain(|_, &mut i| i != old);
        }
        self.drive(index, None);
        Ok(answer.to_sdp_string())
    }

    fn receive(&mut self, now: Instant, from: SocketAddr, data: BytesMut) {
        self.now = now;
        let Ok(receive) = Receive::new(Protocol::Udp, from, self.addr, &data) else {
            return;
        };
        let input = Input::Receive(now, receive);
        let index = match self.by_addr.get(&from) {
            Some(&i) => i,
            // A new address: the connection whose ICE credentials its
            // check carries (only STUN from unknown addresses is taken).
            None => {
                let Some(i) = (0..self.conns.len())
                    .find(|&i| !self.conns[i].dead && self.conns[i].rtc.accepts(&input))
                else {
                    return;
                };
                self.by_addr.insert(from, i);
                i
            }
        };
        self.drive(index, Some(input));
        self.settle();
    }

    fn next_wake(&mut self) -> Instant {
        while let Some(&Reverse((at, i))) = self.timers.peek() {
            if self.conns[i].dead || self.conns[i].next != Some(at) {
                self.timers.pop();
                continue;
            }
            return at;
        }
        // Nothing to wake for.
        self.now + Duration::from_secs(3600)
    }

    fn handle_timeouts(&mut self, now: Instant) {
        self.now = now;
        // Those due now, each once: one that wants `now` again is woken on
        // the next call.
        while let Some(&Reverse((at, i))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            if self.conns[i].dead || self.conns[i].next != Some(at) {
                continue;
            }
            self.conns[i].next = None;
            self.due.push(i);
        }
        let mut due = std::mem::take(&mut self.due);
        for &i in &due {
            self.drive(i, Some(Input::Timeout(now)));
        }
        due.clear();
        self.due = due;
        self.settle();
    }

    fn take_sent(&mut self, out: &mut Vec<(SocketAddr, Vec<u8>)>) {
        out.append(&mut self.sent);
    }

    fn forwarded(&self) -> u64 {
        self.forwarded
    }
}
