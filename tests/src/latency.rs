//! Send timestamps carried in test audio, for the added latency of a forwarded stream.
//!
//! Every Opus packet a test peer sends carries, in its padding (see
//! [`crate::tone::tag_opus_packet`]), the time it was handed to the peer connection, in
//! microseconds on this process's monotonic clock. The receiving peer (in the same process,
//! e.g. the load tool) subtracts that from the time the packet came out of its own
//! connection: what the sender's stack, the server and the receiver's stack added together.

use std::sync::OnceLock;
use std::time::Instant;

/// Marks a stamped payload: these four bytes, then the send time (u64, big-endian).
pub const MAGIC: [u8; 4] = *b"DLAT";
/// Magic plus the send time.
pub const STAMP_LEN: usize = 12;

/// Microseconds since this process first asked: the clock of every stamp.
pub fn now_us() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The stamp for a packet sent at `sent_us`.
pub fn stamp(sent_us: u64) -> [u8; STAMP_LEN] {
    let mut out = [0u8; STAMP_LEN];
    out[..4].copy_from_slice(&MAGIC);
    out[4..].copy_from_slice(&sent_us.to_be_bytes());
    out
}

/// The send time in `bytes`, if they are a stamp.
pub fn read_stamp(bytes: &[u8]) -> Option<u64> {
    let (magic, time) = bytes.get(..STAMP_LEN)?.split_at(4);
    (magic == MAGIC).then(|| u64::from_be_bytes(time.try_into().unwrap_or_default()))
}

#[cfg(test)]
mod tests;
