//! [`ImpairRelay`]: a UDP relay in front of the server that shapes each person's traffic.
//!
//! Like [`LossyRelay`](crate::LossyRelay), it has one front socket clients send to and one
//! upstream socket per client source address, so the server sees one address per client. Each
//! client is told to be the mentor or the mentee by a classifier the test installs
//! ([`ImpairRelay::assign`]), from the USERNAME of its first ICE check that the classifier
//! recognises. From then on its datagrams pass through that person's up and down
//! [`Shaper`](super::Shaper)s and wait in a per-direction scheduler task until their delivery
//! time. Unassigned clients pass unshaped, so early checks are never lost before the test
//! knows who is who.
//!
//! The parts: `state` (the clients and what happens to each datagram), `io` (sockets and
//! their tasks), `sched` (delivery at the shaper's times).
//!
//! Upstream sockets bind the front's IP when the server has that family: the server (and any
//! nft rule that blocks direct paths to it) then sees relayed traffic from the relay's own
//! address only.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::scenario::{Access, EventKind, Scenario, Who};
use super::shaper::ShaperStats;

mod io;
mod sched;
mod state;

use io::{ToClient, ToServer, bind, client_loop};
use state::{Inner, Tasks, secs_f64};

/// Clients relayed at most; datagrams from further source addresses are discarded.
pub const MAX_CLIENTS: usize = 64;
/// Seed of [`ImpairRelay::start`]'s shapers, so runs are repeatable unless a test asks for
/// another.
pub const DEFAULT_SEED: u64 = 0xD0E7_CA11;

/// Decides from a STUN request's USERNAME whose client this is: in an ICE check to the server
/// it is `remoteUfrag:localUfrag`, the first part the server's ufrag for that peer; in a request
/// to a TURN server it is the TURN username.
pub type Classifier = dyn Fn(&str) -> Option<Who> + Send + Sync;

/// One person's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AccessStats {
    /// Client → server.
    pub up: ShaperStats,
    /// Server → client.
    pub down: ShaperStats,
}

/// What the relay has done, per person and direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImpairStats {
    pub mentor: AccessStats,
    pub mentee: AccessStats,
    /// Datagrams of clients not (yet) assigned, relayed unshaped: client → server.
    pub unassigned_up: u64,
    /// And server → client.
    pub unassigned_down: u64,
}

impl ImpairStats {
    pub fn of(&self, who: Who) -> &AccessStats {
        match who {
            Who::Mentor => &self.mentor,
            Who::Mentee => &self.mentee,
        }
    }
}

/// One client as the relay sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ClientInfo {
    /// Where the client sends from.
    pub addr: SocketAddr,
    /// Where its traffic reaches the server from now.
    pub upstream: SocketAddr,
    pub who: Option<Who>,
    /// Upstream addresses it has had (1 + address changes).
    pub addresses: u32,
}

/// A shaping UDP relay in front of one server address. Its tasks stop when it is dropped.
pub struct ImpairRelay {
    inner: Arc<Inner>,
}

impl ImpairRelay {
    /// Binds `front_ip:0` and starts relaying to `server`, with [`DEFAULT_SEED`]. Must be
    /// called inside a tokio runtime.
    pub fn start(server: SocketAddr, front_ip: IpAddr) -> anyhow::Result<ImpairRelay> {
        ImpairRelay::start_seeded(server, front_ip, DEFAULT_SEED)
    }

    /// As [`ImpairRelay::start`], with the shapers' random choices following from `seed`.
    pub fn start_seeded(
        server: SocketAddr,
        front_ip: IpAddr,
        seed: u64,
    ) -> anyhow::Result<ImpairRelay> {
        tokio::runtime::Handle::try_current().context("ImpairRelay needs a tokio runtime")?;
        let front = Arc::new(bind(SocketAddr::new(front_ip, 0), None).context("front socket")?);
        let addr = front.local_addr().context("the front socket's address")?;
        let upstream_ip = match (front_ip, server) {
            (IpAddr::V4(ip), SocketAddr::V4(_)) => IpAddr::V4(ip),
            (IpAddr::V6(ip), SocketAddr::V6(_)) => IpAddr::V6(ip),
            (_, SocketAddr::V4(_)) => Ipv4Addr::LOCALHOST.into(),
            (_, SocketAddr::V6(_)) => Ipv6Addr::LOCALHOST.into(),
        };
        let (up_tx, up_rx) = mpsc::unbounded_channel();
        let (down_tx, down_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            front,
            addr,
            server,
            upstream_ip,
            epoch: Instant::now(),
            seed,
            state: Mutex::default(),
            up_tx,
            down_tx,
            tasks: Tasks::default(),
        });
        inner
            .tasks
            .spawn(sched::run(up_rx, ToServer(Arc::clone(&inner))));
        inner
            .tasks
            .spawn(sched::run(down_rx, ToClient(Arc::clone(&inner.front))));
        inner.tasks.spawn(client_loop(Arc::clone(&inner)));
        Ok(ImpairRelay { inner })
    }

    /// Where clients send: the address the server should advertise.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Installs the classifier that tells clients apart. Clients not yet assigned are tried
    /// again on their next STUN request; it is called with the relay's state locked, so it
    /// must not call back into the relay.
    pub fn assign<F>(&self, classifier: F)
    where
        F: Fn(&str) -> Option<Who> + Send + Sync + 'static,
    {
        self.inner.lock().classifier = Some(Arc::new(classifier));
    }

    /// Gives `who` the access link `access`, from now on.
    pub fn set_access(&self, who: Who, access: Access) {
        let mut state = self.inner.lock();
        state.access.insert(who, access);
        for (_, c) in state.clients.iter_mut().filter(|(_, c)| c.who == Some(who)) {
            c.up.set_shape(access.up);
            c.down.set_shape(access.down);
        }
    }

    /// Both people's access links from `scenario` (its events need [`ImpairRelay::run_events`]).
    pub fn set_scenario(&self, scenario: &Scenario) {
        for who in Who::BOTH {
            self.set_access(who, scenario.access(who));
        }
    }

    /// Nothing of `who`'s gets through, either way, for `secs` from now. Datagrams already
    /// scheduled still arrive, as those past the outage point would on a real path.
    pub fn outage(&self, who: Who, secs: f64) {
        self.inner.outage(who, secs);
    }

    /// Moves every client of `who` to a new upstream socket: the server sees its traffic from
    /// a new source port from now on, the old socket is closed, and the client keeps talking
    /// to the same front address. Returns how many clients moved.
    pub fn change_address(&self, who: Who) -> anyhow::Result<usize> {
        self.inner.change_address(who)
    }

    /// Applies `scenario`'s events at their times, counted from now, in a background task.
    pub fn run_events(&self, scenario: &Scenario) {
        let mut events = scenario.events.clone();
        events.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        let start = Instant::now();
        let inner = Arc::clone(&self.inner);
        self.inner.tasks.spawn(async move {
            for event in events {
                tokio::time::sleep_until(start + secs_f64(event.at_s)).await;
                match event.kind {
                    EventKind::Outage { secs } => inner.outage(event.who, secs),
                    EventKind::AddressChange => {
                        if let Err(e) = inner.change_address(event.who) {
                            tracing::warn!("address change of {:?} failed: {e:#}", event.who);
                        }
                    }
                }
            }
        });
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ImpairStats {
        let state = self.inner.lock();
        let mut stats = ImpairStats {
            unassigned_up: state.unassigned_up,
            unassigned_down: state.unassigned_down,
            ..ImpairStats::default()
        };
        for (_, c) in &state.clients {
            let access = match c.who {
                Some(Who::Mentor) => &mut stats.mentor,
                Some(Who::Mentee) => &mut stats.mentee,
                None => continue,
            };
            access.up.add(&c.up.stats());
            access.down.add(&c.down.stats());
        }
        stats
    }

    /// Every client seen, in order of arrival.
    pub fn clients(&self) -> Vec<ClientInfo> {
        self.inner
            .lock()
            .clients
            .iter()
            .map(|(addr, c)| ClientInfo {
                addr: *addr,
                upstream: c
                    .upstream
                    .local_addr()
                    .unwrap_or_else(|_| SocketAddr::new(self.inner.upstream_ip, 0)),
                who: c.who,
                addresses: c.addresses,
            })
            .collect()
    }
}

impl Drop for ImpairRelay {
    fn drop(&mut self) {
        self.inner.tasks.abort_all();
    }
}
