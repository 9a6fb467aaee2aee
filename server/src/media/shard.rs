//! Shards: the media plane's connections split over several engine loops,
//! one per core, all behind the one UDP port (and the one ICE-TCP port).
//!
//! A session lives on one shard (`media::placement`), so both legs of a
//! call are on one thread and nothing on the packet path is shared between
//! shards. The shard is also written into the first two characters of the
//! server's ICE ufrag, so a STUN binding request names its shard before
//! any address is known; the front (`media::front`) and the ICE-TCP
//! listener route first packets by it. Rules only; the threads are in
//! `media::mod`.

/// Shards one media plane may have: the ufrag carries the index in two
/// hexadecimal digits.
pub const MAX_SHARDS: usize = 256;

/// The ufrag prefix that names `shard`.
pub fn ufrag_prefix(shard: usize) -> String {
    format!("{:02x}", shard % MAX_SHARDS)
}

/// The shard a server ufrag names, if it names one of `shards`.
pub fn of_ufrag(ufrag: &str, shards: usize) -> Option<usize> {
    let digits = ufrag.get(..2)?;
    if !digits
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let shard = usize::from_str_radix(digits, 16).ok()?;
    (shard < shards).then_some(shard)
}

/// Shards to run when the config does not say: one per core.
pub fn default_count() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_SHARDS)
}

#[cfg(test)]
mod tests;
