//! Kernel buffers of the shared media socket.
//!
//! One socket carries every call, so its receive queue must absorb what
//! arrives while the media loop is not reading: a scheduling hiccup on a
//! busy machine, a burst of keyframes. The Linux default (about 208 KiB,
//! some 90 full-size datagrams once the kernel's per-packet overhead is
//! counted) lasts only a few milliseconds at 20,000 packets/s; past it the
//! kernel drops datagrams, DTLS handshakes among them. Measured: at 128 calls
//! on a busy 2-core machine the socket dropped 278,000 datagrams and 25
//! handshakes gave up (docs/benchmarks.md).

use std::os::fd::AsFd;

/// Asked-for receive buffer: the kernel doubles it for bookkeeping, so
/// about 8 MiB of queue, a few thousand datagrams, over 100 ms at 128 calls.
pub const RECV_BUFFER: usize = 4 << 20;
/// Asked-for send buffer.
pub const SEND_BUFFER: usize = 1 << 20;

/// The buffer sizes the kernel reports after [`enlarge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub recv: usize,
    pub send: usize,
}

/// Raises the socket's buffers to [`RECV_BUFFER`] and [`SEND_BUFFER`]: past
/// `net.core.rmem_max`/`wmem_max` when the process may (CAP_NET_ADMIN), else
/// up to those limits. Returns what the kernel granted.
pub fn enlarge(socket: &impl AsFd) -> std::io::Result<Sizes> {
    use rustix::net::sockopt;
    let fd = socket.as_fd();
    if sockopt::set_socket_recv_buffer_size_force(fd, RECV_BUFFER).is_err() {
        sockopt::set_socket_recv_buffer_size(fd, RECV_BUFFER)?;
    }
    if sockopt::set_socket_send_buffer_size_force(fd, SEND_BUFFER).is_err() {
        sockopt::set_socket_send_buffer_size(fd, SEND_BUFFER)?;
    }
    Ok(Sizes {
        recv: sockopt::socket_recv_buffer_size(fd)?,
        send: sockopt::socket_send_buffer_size(fd)?,
    })
}

#[cfg(test)]
mod tests;
