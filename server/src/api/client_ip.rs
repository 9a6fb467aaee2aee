//! Who the client really is behind reverse proxies: the rightmost
//! `X-Forwarded-For` hop that is not one of the operator's trusted proxies.
//!
//! Only the TCP peer is a fact; each proxy appends the address it got the
//! request from. Reading from the right and skipping trusted hops stops at
//! the first address no trusted proxy vouches for, so a client cannot
//! choose its own address by sending the header itself (its forged hops sit
//! to the left of that point).

use std::net::IpAddr;

use crate::cidr::Cidr;

#[cfg(test)]
mod tests;

/// The client's address. `forwarded_for` holds the `X-Forwarded-For`
/// header values in the order received. Without trusted proxies, or from a
/// peer that is not one, the header is ignored. A hop that is not an
/// address ends the walk at the last trusted one, as nothing to its left
/// can be believed.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    trusted: &[Cidr],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    for value in forwarded_for.rev() {
        for hop in value.rsplit(',') {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                return client;
            };
            client = ip.to_canonical();
            if !is_trusted(client) {
                return client;
            }
        }
    }
    client
}
