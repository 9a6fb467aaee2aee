//! The loop of one shard: the one place that owns sockets. It waits for
//! the next thing to do — a command, a timer, datagrams (`engine::input`,
//! read in batches), an ICE-TCP event — hands it to the engine, and at the
//! start of each turn sends what the last one produced, in batches
//! (`udp_batch::send_all`).

use std::net::UdpSocket;
use std::time::Instant;

use tokio::sync::mpsc;

use super::Engine;
use super::input::DatagramSource;
use super::tcp_path::next_tcp_event;
use super::udp_batch::send_all;
use crate::media::Command;
use crate::media::tcp::TcpEvent;

/// The loop's two inboxes (see `MediaPlane`).
pub(in crate::media) struct Inbox {
    pub control: mpsc::UnboundedReceiver<Command>,
    pub requests: mpsc::Receiver<Command>,
}

/// Client requests handled after each turn at most, so neither packets nor
/// requests can starve the other.
const REQUESTS_PER_TURN: usize = 4;

impl Engine {
    /// Serves datagrams from `input` (sending on `output`, this shard's own
    /// handle of the media socket), commands from `inbox` and ICE-TCP
    /// connections' events.
    pub(in crate::media) async fn run(
        mut self,
        mut input: DatagramSource,
        output: UdpSocket,
        mut inbox: Inbox,
        mut tcp_events: Option<mpsc::Receiver<TcpEvent>>,
    ) {
        let sleep = tokio::time::sleep_until(self.next_wake().into());
        tokio::pin!(sleep);
        loop {
            self.stats.metrics.heartbeat.beat(Instant::now());
            // What the last turn produced leaves now, in batches.
            self.stats.counters.udp_send_failed += send_all(&output, self.outbox.queued());
            self.flush_timeouts();
            let next = tokio::time::Instant::from_std(self.next_wake());
            if sleep.deadline() != next {
                sleep.as_mut().reset(next);
            }
            let stop = tokio::select! {
                biased;
                // The server's own orders: few, and a recording's stop must
                // land at once.
                cmd = inbox.control.recv() => match cmd {
                    Some(Command::Shutdown) | None => true,
                    Some(cmd) => self.handle_command(Instant::now(), cmd),
                },
                // Before the socket: under a flood the socket is always
                // ready and would otherwise win every select. Deadlines are
                // kept at the timer's millisecond resolution: handling an
                // "at once" deadline at once sent the first ICE checks before
                // the client had the answer, and the retry comes 200 ms later.
                _ = &mut sleep => { self.handle_timeouts(Instant::now()); false }
                ready = input.ready() => {
                    match ready {
                        Ok(ready) => self.take_input(&mut input, ready),
                        Err(e) => tracing::debug!(error = %e, "media socket receive error"),
                    }
                    false
                }
                event = next_tcp_event(&mut tcp_events) => {
                    match event {
                        Some(event) => self.handle_tcp(Instant::now(), event),
                        // The acceptor and every connection task are gone.
                        None => tcp_events = None,
                    }
                    false
                }
                // Client requests last: a burst of offers or candidates
                // waits behind the packets of every call.
                Some(cmd) = inbox.requests.recv() => self.handle_command(Instant::now(), cmd),
            };
            // ...and still gets a few turns' worth under a packet flood.
            if stop || self.take_requests(&mut inbox.requests) {
                break;
            }
        }
        self.close_all();
        send_all(&output, self.outbox.queued());
        tracing::info!(counters = ?self.stats.counters, "media plane stopped");
    }

    /// Handles up to [`REQUESTS_PER_TURN`] waiting client requests; true
    /// when one of them was the last (shutdown).
    fn take_requests(&mut self, requests: &mut mpsc::Receiver<Command>) -> bool {
        for _ in 0..REQUESTS_PER_TURN {
            match requests.try_recv() {
                Ok(cmd) => {
                    if self.handle_command(Instant::now(), cmd) {
                        return true;
                    }
                }
                Err(_) => break,
            }
        }
        false
    }
}
