//! [`LossyRelay`]: a UDP relay between WebRTC peers and the server that drops chosen RTP
//! packets and lets their retransmissions through, for NACK tests.
//!
//! Datagrams are told apart as RFC 7983 says (first byte 0–3 STUN, 20–63 DTLS, 128–191
//! RTP/RTCP) and RTP from RTCP as RFC 5761 section 4 says (RTCP packet types 192–223 put 64–95
//! in the low seven bits of the second byte, where RTP has its payload type). SRTP leaves the
//! RTP header in the clear, so the sequence number and SSRC are readable. Only RTP is ever
//! dropped; STUN, DTLS and (S)RTCP always pass.
//!
//! Retransmissions are recognised by (SSRC, sequence number), which is what they keep when RTX
//! is not negotiated (the test peers and Duet do not negotiate it).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use anyhow::Context;
use tokio::net::UdpSocket;

use crate::tasks::TaskSet;

/// Dropped packets remembered per direction (the oldest are forgotten first).
pub const REMEMBERED_DROPS: usize = 10_000;
/// Clients relayed at most; datagrams from further source addresses are discarded.
pub const MAX_CLIENTS: usize = 64;
/// SSRCs broken down per direction in [`RelayStats`] at most (the totals count all).
pub const MAX_SSRCS: usize = 256;

/// Which RTP packets to drop, per direction: with `Some(n)`, the first copy of every packet
/// whose sequence number is a multiple of `n` (`Some(0)` drops nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropPolicy {
    /// Client → server.
    pub upstream_every: Option<u16>,
    /// Server → client.
    pub downstream_every: Option<u16>,
    /// Drop retransmissions of a dropped packet too (a congested link
    /// rather than a one-off loss); nothing is then recovered.
    pub persistent: bool,
}

/// RTP counters of one SSRC in one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LossCounts {
    /// RTP packets that reached the relay, dropped ones and retransmissions included.
    pub rtp: u64,
    /// Distinct packets dropped.
    pub dropped: u64,
    /// Dropped packets that came again (retransmitted) and were let through; each counts once.
    pub recovered: u64,
}

/// What the relay has seen and done. Upstream is client → server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// RTP packets from clients (dropped ones included).
    pub upstream_rtp: u64,
    /// Distinct RTP packets from clients dropped.
    pub upstream_dropped: u64,
    /// Of those, how many came again and passed.
    pub upstream_recovered: u64,
    /// RTP packets from the server (dropped ones included).
    pub downstream_rtp: u64,
    /// Distinct RTP packets from the server dropped.
    pub downstream_dropped: u64,
    /// Of those, how many came again and passed.
    pub downstream_recovered: u64,
    /// Other datagrams (STUN, DTLS, RTCP, anything else) relayed client → server.
    pub upstream_other: u64,
    /// Other datagrams relayed server → client.
    pub downstream_other: u64,
    /// Client → server RTP, per SSRC.
    pub upstream_by_ssrc: BTreeMap<u32, LossCounts>,
    /// Server → client RTP, per SSRC.
    pub downstream_by_ssrc: BTreeMap<u32, LossCounts>,
}

/// `(ssrc, sequence number)` of a datagram that is RTP, `None` for anything else.
pub fn rtp_id(datagram: &[u8]) -> Option<(u32, u16)> {
    if datagram.len() < 12 || !(128..=191).contains(&datagram[0]) {
        return None;
    }
    if (64..=95).contains(&(datagram[1] & 0x7f)) {
        return None; // RTCP
    }
    let seq = u16::from_be_bytes([datagram[2], datagram[3]]);
    let ssrc = u32::from_be_bytes([datagram[8], datagram[9], datagram[10], datagram[11]]);
    Some((ssrc, seq))
}

/// Drop decisions and counters for one direction.
#[derive(Default)]
struct Direction {
    every: Option<u16>,
    persistent: bool,
    /// Dropped packets and whether a later copy passed.
    remembered: HashMap<(u32, u16), bool>,
    order: VecDeque<(u32, u16)>,
    total: LossCounts,
    other: u64,
    by_ssrc: BTreeMap<u32, LossCounts>,
}

impl Direction {
    /// Whether to forward `datagram`.
    fn pass(&mut self, datagram: &[u8]) -> bool {
        let Some(key @ (ssrc, seq)) = rtp_id(datagram) else {
            self.other += 1;
            return true;
        };
        let (pass, dropped, recovered) = match self.remembered.get_mut(&key) {
            Some(_) if self.persistent => (false, false, false),
            Some(recovered) => {
                let first = !std::mem::replace(recovered, true);
                (true, false, first)
            }
            None if self.every.is_some_and(|n| n != 0 && seq % n == 0) => {
                if self.order.len() >= REMEMBERED_DROPS
                    && let Some(old) = self.order.pop_front()
                {
                    self.remembered.remove(&old);
                }
                self.remembered.insert(key, false);
                self.order.push_back(key);
                (false, true, false)
            }
            None => (true, false, false),
        };
        let tracked = self.by_ssrc.contains_key(&ssrc) || self.by_ssrc.len() < MAX_SSRCS;
        for counts in std::iter::once(&mut self.total).chain(if tracked {
            Some(self.by_ssrc.entry(ssrc).or_default())
        } else {
            None
        }) {
            counts.rtp += 1;
            counts.dropped += u64::from(dropped);
            counts.recovered += u64::from(recovered);
        }
        pass
    }
}

#[derive(Default)]
struct State {
    up: Direction,
    down: Direction,
    /// (client address, address of its upstream socket), in order of arrival.
    clients: Vec<(SocketAddr, SocketAddr)>,
}

type Shared = Arc<Mutex<State>>;

/// A UDP relay on 127.0.0.1 in front of one server address. Each client source address gets
/// its own upstream socket, so the server sees one address per client. Its tasks stop when it
/// is dropped.
pub struct LossyRelay {
    addr: SocketAddr,
    state: Shared,
    tasks: Arc<TaskSet>,
}

impl LossyRelay {
    /// Binds 127.0.0.1:0 and starts relaying to `server`. Must be called inside a tokio
    /// runtime.
    pub fn start(server: SocketAddr, policy: DropPolicy) -> anyhow::Result<LossyRelay> {
        tokio::runtime::Handle::try_current().context("LossyRelay needs a tokio runtime")?;
        let socket = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .context("binding the relay socket")?;
        socket.set_nonblocking(true)?;
        let front = Arc::new(UdpSocket::from_std(socket)?);
        let addr = front.local_addr()?;
        let state: Shared = Arc::default();
        let relay = LossyRelay {
            addr,
            state: Arc::clone(&state),
            tasks: Arc::new(TaskSet::default()),
        };
        relay.set_policy(policy);
        relay.tasks.spawn(client_loop(
            front,
            server,
            state,
            Arc::downgrade(&relay.tasks),
        ));
        Ok(relay)
    }

    /// Where clients send: give it to the peer as the server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the drop policy; packets already dropped still count as recovered when they
    /// come again.
    pub fn set_policy(&self, policy: DropPolicy) {
        if let Ok(mut state) = self.state.lock() {
            state.up.every = policy.upstream_every;
            state.down.every = policy.downstream_every;
            state.up.persistent = policy.persistent;
            state.down.persistent = policy.persistent;
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> RelayStats {
        let Ok(state) = self.state.lock() else {
            return RelayStats::default();
        };
        RelayStats {
            upstream_rtp: state.up.total.rtp,
            upstream_dropped: state.up.total.dropped,
            upstream_recovered: state.up.total.recovered,
            downstream_rtp: state.down.total.rtp,
            downstream_dropped: state.down.total.dropped,
            downstream_recovered: state.down.total.recovered,
            upstream_other: state.up.other,
            downstream_other: state.down.other,
            upstream_by_ssrc: state.up.by_ssrc.clone(),
            downstream_by_ssrc: state.down.by_ssrc.clone(),
        }
    }

    /// Every client seen, as (its address, the address its traffic reaches the server from).
    pub fn clients(&self) -> Vec<(SocketAddr, SocketAddr)> {
        self.state
            .lock()
            .map(|s| s.clients.clone())
            .unwrap_or_default()
    }
}

impl Drop for LossyRelay {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

/// Whether `state`'s direction (upstream when `up`) forwards `datagram`.
fn passes(state: &Shared, up: bool, datagram: &[u8]) -> bool {
    match state.lock() {
        Ok(mut s) if up => s.up.pass(datagram),
        Ok(mut s) => s.down.pass(datagram),
        Err(_) => true,
    }
}

/// Receives from clients, opens an upstream socket per client and forwards to the server.
async fn client_loop(
    front: Arc<UdpSocket>,
    server: SocketAddr,
    state: Shared,
    tasks: Weak<TaskSet>,
) {
    let mut upstreams: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, client) = match front.recv_from(&mut buf).await {
            Ok(got) => got,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        let upstream = match upstreams.get(&client) {
            Some(up) => Arc::clone(up),
            None if upstreams.len() >= MAX_CLIENTS => continue,
            None => {
                let Ok(up) = open_upstream(server).await else {
                    continue;
                };
                let up = Arc::new(up);
                if let (Ok(mut s), Ok(local)) = (state.lock(), up.local_addr()) {
                    s.clients.push((client, local));
                }
                let Some(tasks) = tasks.upgrade() else {
                    return;
                };
                tasks.spawn(server_loop(
                    Arc::clone(&up),
                    Arc::clone(&front),
                    client,
                    Arc::clone(&state),
                ));
                upstreams.insert(client, Arc::clone(&up));
                up
            }
        };
        if passes(&state, true, &buf[..n]) {
            let _ = upstream.send(&buf[..n]).await;
        }
    }
}

/// A socket on loopback (of the server's family) connected to `server`.
async fn open_upstream(server: SocketAddr) -> anyhow::Result<UdpSocket> {
    let ip: IpAddr = match server {
        SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
        SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
    };
    let socket = UdpSocket::bind((ip, 0)).await?;
    socket.connect(server).await?;
    Ok(socket)
}

/// Receives what the server sends to one client's upstream socket and forwards it.
async fn server_loop(up: Arc<UdpSocket>, front: Arc<UdpSocket>, client: SocketAddr, state: Shared) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let n = match up.recv(&mut buf).await {
            Ok(n) => n,
            // e.g. ECONNREFUSED after an ICMP error: the socket stays usable.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        if passes(&state, false, &buf[..n]) {
            let _ = front.send_to(&buf[..n], client).await;
        }
    }
}

#[cfg(test)]
mod tests;
