//! Batched system calls on the shared UDP socket: one `recvmmsg` reads up
//! to [`RECV_BATCH`] datagrams (quinn-udp, which also undoes UDP GRO's
//! coalescing), and what a turn of the loop produced leaves in
//! `sendmmsg` calls of up to [`SEND_BATCH`] datagrams (rustix). At a few
//! hundred packets a second per call, one system call per datagram each
//! way was most of the media loop's cost (docs/benchmarks.md).

use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::AsFd;

use bytes::BytesMut;
use quinn_udp::{RecvMeta, UdpSocketState};
use rustix::net::{MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny, sendmmsg};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Datagrams read per system call, and per wake-up of the loop at most, so
/// commands and timers still get their turn under a flood.
pub(super) const RECV_BATCH: usize = 32;
/// Datagrams per `sendmmsg`.
const SEND_BATCH: usize = 16;
/// Room for one receive slot without GRO: larger than any datagram on a
/// 1500-byte MTU path, with room to spare.
const MAX_DATAGRAM: usize = 4096;
/// UDP's largest payload: the most GRO can coalesce into one slot.
const MAX_COALESCED: usize = 65_535;

/// The receive side: socket state and a scratch area with one slot per
/// datagram of a batch.
pub(in crate::media) struct BatchReceiver {
    state: UdpSocketState,
    scratch: Vec<u8>,
    slot: usize,
    metas: Box<[RecvMeta; RECV_BATCH]>,
}

impl BatchReceiver {
    pub(in crate::media) fn new(socket: &UdpSocket) -> io::Result<BatchReceiver> {
        let state = UdpSocketState::new(socket.into())?;
        // With GRO on, one slot may hold many datagrams of one flow.
        let slot = (MAX_DATAGRAM * state.gro_segments()).min(MAX_COALESCED);
        Ok(BatchReceiver {
            state,
            scratch: vec![0; slot * RECV_BATCH],
            slot,
            metas: Box::new([RecvMeta::default(); RECV_BATCH]),
        })
    }

    /// Reads one batch, if the socket has any, and hands each datagram to
    /// `each` (its sender and its bytes). Returns how many datagrams were
    /// read; `WouldBlock` when none were waiting.
    pub(in crate::media) fn recv(
        &mut self,
        socket: &UdpSocket,
        mut each: impl FnMut(SocketAddr, &[u8]),
    ) -> io::Result<usize> {
        let BatchReceiver {
            state,
            scratch,
            slot,
            metas,
        } = self;
        let mut slices: [IoSliceMut<'_>; RECV_BATCH] = {
            let mut chunks = scratch.chunks_mut(*slot);
            std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or_default()))
        };
        let filled = socket.try_io(Interest::READABLE, || {
            state.recv(socket.into(), &mut slices, &mut metas[..])
        })?;
        let mut datagrams = 0;
        for (meta, buf) in metas.iter().zip(slices.iter()).take(filled) {
            let data = &buf[..meta.len.min(buf.len())];
            // GRO's coalesced datagrams sit `stride` bytes apart.
            for datagram in data.chunks(meta.stride.max(1)) {
                datagrams += 1;
                each(meta.addr, datagram);
            }
        }
        Ok(datagrams)
    }
}

/// Sends `pending` in batches, emptying it; returns how many datagrams the
/// socket refused (a full send buffer, or an error for one destination).
/// Never waits: a send buffer too full to take a datagram drops it, as
/// the network would. Straight system calls, outside tokio's readiness
/// tracking, so every shard can send on its own handle of the one socket.
pub(super) fn send_all(socket: &impl AsFd, pending: &mut Vec<(SocketAddr, BytesMut)>) -> u64 {
    let mut refused = 0;
    let mut rest = &pending[..];
    while !rest.is_empty() {
        let batch = &rest[..rest.len().min(SEND_BATCH)];
        match send_batch(socket, batch) {
            // sendmmsg stops at the first datagram that fails: that one is
            // dropped (as a lone send would have been), the rest retried.
            Ok(0) | Err(_) => {
                refused += 1;
                rest = &rest[1..];
            }
            Ok(sent) => rest = &rest[sent.min(rest.len())..],
        }
    }
    pending.clear();
    refused
}

/// One `sendmmsg` of up to [`SEND_BATCH`] datagrams: how many left.
fn send_batch(socket: &impl AsFd, batch: &[(SocketAddr, BytesMut)]) -> io::Result<usize> {
    let unused = SocketAddr::from(([0, 0, 0, 0], 0));
    let addrs: [SocketAddrAny; SEND_BATCH] =
        std::array::from_fn(|i| SocketAddrAny::from(batch.get(i).map_or(unused, |(to, _)| *to)));
    let iovs: [[IoSlice<'_>; 1]; SEND_BATCH] =
        std::array::from_fn(|i| [IoSlice::new(batch.get(i).map_or(&[], |(_, d)| &d[..]))]);
    let mut controls: [SendAncillaryBuffer<'_, '_, '_>; SEND_BATCH] =
        std::array::from_fn(|_| SendAncillaryBuffer::default());
    let mut i = 0;
    let mut msgs = controls.each_mut().map(|control| {
        let msg = MMsgHdr::new_with_addr(&addrs[i], &iovs[i], control);
        i += 1;
        msg
    });
    let n = batch.len().min(SEND_BATCH);
    sendmmsg(socket, &mut msgs[..n], SendFlags::DONTWAIT).map_err(io::Error::from)
}
