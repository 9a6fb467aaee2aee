//! Who the client really is behind reverse proxies: the rightmost
//! `X-Forwarded-For` hop that is not one of the operator's trusted proxies.
//!
//! Only the TCP peer is a fact; each proxy appends the address it got the
//! request from. Reading from the right and skipping trusted hops stops at
//! the first address no trusted proxy vouches for, so a client cannot
//! choose its own address by sending the header itself (its forged hops sit
//! to the left of that point).

use std::net::IpAddr;
use std::str::FromStr;

#[cfg(test)]
mod tests;

/// An address range: `10.0.0.0/8`, `fd00::/8`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has a prefix length that is not 0..={max}"))?,
        };
        Ok(Cidr {
            net: net.to_canonical(),
            prefix,
        })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Parses every entry; the first bad one is the error.
pub fn parse_all(entries: &[String]) -> Result<Vec<Cidr>, String> {
    entries.iter().map(|e| e.parse()).collect()
}

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
