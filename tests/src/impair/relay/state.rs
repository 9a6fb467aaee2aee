//! The relay's shared state and what happens to each datagram: which client it belongs to,
//! whose it is, and what that person's shaper decides.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::io::{bind, server_loop};
use super::sched::Item;
use super::{Classifier, MAX_CLIENTS};
use crate::impair::scenario::{Access, Who};
use crate::impair::shaper::{Shaper, Verdict};
use crate::impair::stun;

/// The longest time a scenario value is taken to mean; keeps `Instant` arithmetic in range.
const MAX_SECS: f64 = 86_400.0;

pub(super) struct Client {
    pub(super) who: Option<Who>,
    pub(super) upstream: Arc<UdpSocket>,
    /// The task receiving from `upstream`, stopped when the address changes.
    pub(super) receiver: AbortHandle,
    pub(super) addresses: u32,
    pub(super) up: Shaper,
    pub(super) down: Shaper,
}

#[derive(Default)]
pub(super) struct State {
    /// Clients in order of arrival.
    pub(super) clients: Vec<(SocketAddr, Client)>,
    pub(super) access: HashMap<Who, Access>,
    /// Outages still to come to clients assigned later, as times since the relay's epoch.
    pub(super) outage_until: HashMap<Who, Duration>,
    pub(super) classifier: Option<Arc<Classifier>>,
    pub(super) unassigned_up: u64,
    pub(super) unassigned_down: u64,
    /// Orders scheduled datagrams that are due at the same instant.
    pub(super) seq: u64,
}

impl State {
    /// A linear search: there are a handful of clients, at most [`MAX_CLIENTS`].
    pub(super) fn client(&mut self, addr: SocketAddr) -> Option<&mut Client> {
        self.clients
            .iter_mut()
            .find(|(a, _)| *a == addr)
            .map(|(_, c)| c)
    }

    /// Whose client sent `data`, if it is a STUN request (an ICE check to a server, or a TURN
    /// request to a TURN server) whose USERNAME the classifier recognises.
    fn classify(&self, data: &[u8]) -> Option<Who> {
        let classifier = self.classifier.as_ref()?;
        if !stun::is_request(data) {
            return None;
        }
        classifier(stun::username(data)?)
    }

    /// Makes `addr` `who`'s client: from now on it gets `who`'s link and outage.
    fn assign(&mut self, addr: SocketAddr, who: Who) {
        let access = self.access.get(&who).copied().unwrap_or_default();
        let outage = self.outage_until.get(&who).copied();
        let Some(c) = self.client(addr) else {
            return;
        };
        c.who = Some(who);
        c.up.set_shape(access.up);
        c.down.set_shape(access.down);
        if let Some(until) = outage {
            c.up.set_outage(until);
            c.down.set_outage(until);
        }
    }
}

/// Background tasks, aborted together when the relay is dropped.
#[derive(Default)]
pub(super) struct Tasks(Mutex<Vec<AbortHandle>>);

impl Tasks {
    pub(super) fn spawn<F>(&self, fut: F) -> AbortHandle
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(fut).abort_handle();
        if let Ok(mut all) = self.0.lock() {
            all.retain(|h| !h.is_finished());
            all.push(handle.clone());
        }
        handle
    }

    pub(super) fn abort_all(&self) {
        if let Ok(mut all) = self.0.lock() {
            for handle in all.drain(..) {
                handle.abort();
            }
        }
    }
}

/// What the relay handle and its tasks share.
pub(super) struct Inner {
    pub(super) front: Arc<UdpSocket>,
    /// `front`'s address.
    pub(super) addr: SocketAddr,
    pub(super) server: SocketAddr,
    /// Where upstream sockets bind.
    pub(super) upstream_ip: IpAddr,
    /// Time zero of the shapers' time line.
    pub(super) epoch: Instant,
    pub(super) seed: u64,
    pub(super) state: Mutex<State>,
    pub(super) up_tx: mpsc::UnboundedSender<Item>,
    pub(super) down_tx: mpsc::UnboundedSender<Item>,
    pub(super) tasks: Tasks,
}

impl Inner {
    /// The state; a panic elsewhere while it was held leaves counters at worst, so a poisoned
    /// lock is still used.
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// A connected upstream socket and the task relaying what the server sends to it.
    pub(super) fn open_upstream(
        self: &Arc<Self>,
        client: SocketAddr,
    ) -> anyhow::Result<(Arc<UdpSocket>, AbortHandle)> {
        let socket = Arc::new(bind(
            SocketAddr::new(self.upstream_ip, 0),
            Some(self.server),
        )?);
        let receiver = self
            .tasks
            .spawn(server_loop(Arc::clone(self), Arc::clone(&socket), client));
        Ok((socket, receiver))
    }

    pub(super) fn outage(&self, who: Who, secs: f64) {
        let until = self.now() + secs_f64(secs);
        let mut state = self.lock();
        state.outage_until.insert(who, until);
        for (_, c) in state.clients.iter_mut().filter(|(_, c)| c.who == Some(who)) {
            c.up.set_outage(until);
            c.down.set_outage(until);
        }
    }

    pub(super) fn change_address(self: &Arc<Self>, who: Who) -> anyhow::Result<usize> {
        let mut state = self.lock();
        let mut moved = 0;
        for (addr, c) in state.clients.iter_mut().filter(|(_, c)| c.who == Some(who)) {
            let (socket, receiver) = self
                .open_upstream(*addr)
                .with_context(|| format!("new upstream socket for {addr}"))?;
            // Stopping the receiver drops its handle on the old socket; ours goes with the
            // replacement, which closes it (a datagram in the scheduler may hold it briefly).
            c.receiver.abort();
            c.upstream = socket;
            c.receiver = receiver;
            c.addresses += 1;
            moved += 1;
        }
        Ok(moved)
    }

    /// Shapes or forwards a datagram from `client`; returns the socket to send it on now when
    /// it passes unshaped.
    pub(super) fn on_client_datagram(
        self: &Arc<Self>,
        client: SocketAddr,
        data: &[u8],
    ) -> Option<Arc<UdpSocket>> {
        let now = self.now();
        let mut state = self.lock();
        if state.client(client).is_none() {
            if state.clients.len() >= MAX_CLIENTS {
                return None;
            }
            let (upstream, receiver) = match self.open_upstream(client) {
                Ok(opened) => opened,
                Err(e) => {
                    tracing::warn!("impair relay: no upstream socket for {client}: {e:#}");
                    return None;
                }
            };
            // Each client and direction its own random stream, all following from the seed.
            let n = state.clients.len() as u64;
            let seed = |dir: u64| self.seed ^ (2 * n + dir).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let clean = Access::default();
            state.clients.push((
                client,
                Client {
                    who: None,
                    upstream,
                    receiver,
                    addresses: 1,
                    up: Shaper::new(clean.up, seed(0)),
                    down: Shaper::new(clean.down, seed(1)),
                },
            ));
        }
        let unassigned = state.client(client).is_some_and(|c| c.who.is_none());
        if unassigned && let Some(who) = state.classify(data) {
            state.assign(client, who);
        }
        let c = state.client(client)?;
        if c.who.is_none() {
            let upstream = Arc::clone(&c.upstream);
            state.unassigned_up += 1;
            return Some(upstream);
        }
        if let Verdict::Deliver { at } = c.up.push(now, data.len()) {
            state.seq += 1;
            let item = Item {
                at: self.epoch + at,
                seq: state.seq,
                client,
                data: data.to_vec(),
            };
            // Fails only once the scheduler is gone, i.e. the relay is being dropped.
            let _ = self.up_tx.send(item);
        }
        None
    }

    /// Shapes a datagram the server sent to `upstream` for `client`; returns whether to send
    /// it to the client now, unshaped.
    pub(super) fn on_server_datagram(
        &self,
        client: SocketAddr,
        upstream: &Arc<UdpSocket>,
        data: &[u8],
    ) -> bool {
        let now = self.now();
        let mut state = self.lock();
        let Some(c) = state.client(client) else {
            return false;
        };
        // A socket replaced by an address change is deaf even before its task stops.
        if !Arc::ptr_eq(&c.upstream, upstream) {
            return false;
        }
        if c.who.is_none() {
            state.unassigned_down += 1;
            return true;
        }
        if let Verdict::Deliver { at } = c.down.push(now, data.len()) {
            state.seq += 1;
            let item = Item {
                at: self.epoch + at,
                seq: state.seq,
                client,
                data: data.to_vec(),
            };
            let _ = self.down_tx.send(item);
        }
        false
    }
}

/// `secs` as a duration, with negative, NaN and absurd values made harmless.
pub(super) fn secs_f64(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs.clamp(0.0, MAX_SECS)).unwrap_or_default()
}
