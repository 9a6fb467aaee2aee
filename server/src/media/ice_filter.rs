//! Where the server may send ICE connectivity checks. Every remote
//! candidate (trickled, or a line of an offer) names an address the server
//! will send STUN to; without a filter, anyone who can open a `/check`
//! probe points the server at hosts of their choosing. Candidates for
//! denied addresses are dropped before `rtc` sees them.
//!
//! The deny list is `media.ice_deny` (CIDRs). Entries that contain the
//! address Duet itself advertises are left out: denying the network Duet
//! is reached on would only break calls, and this is what lets a
//! development or test setup on 127.0.0.1 work with loopback denied by
//! default.

use std::net::IpAddr;

#[cfg(test)]
mod tests;

/// The deny list that ships: loopback, link-local, "this network",
/// multicast and broadcast. Private ranges are allowed: company networks
/// use them.
pub const DEFAULT_DENY: &[&str] = &[
    "0.0.0.0/8",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "224.0.0.0/4",
    "255.255.255.255/32",
    "::/128",
    "::1/128",
    "fe80::/10",
    "ff00::/8",
];

/// One CIDR block, e.g. `169.254.0.0/16` or `fe80::/10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    len: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a CIDR block like 169.254.0.0/16 or fe80::/10")]
pub struct CidrError(pub String);

impl std::str::FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let bad = || CidrError(s.to_owned());
        let (ip, len) = match s.split_once('/') {
            Some((ip, len)) => (ip, Some(len)),
            None => (s, None),
        };
        let net: IpAddr = ip.trim().parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let len = match len {
            Some(l) => l.trim().parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if len > max {
            return Err(bad());
        }
        Ok(Cidr { net, len })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4-mapped IPv6 address is its IPv4 address.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(
                u128::from(n.to_bits()),
                u128::from(a.to_bits()),
                32,
                self.len,
            ),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(n.to_bits(), a.to_bits(), 128, self.len),
            _ => false,
        }
    }
}

/// Whether the first `len` of `bits` bits of `a` and `b` agree.
fn prefix_eq(a: u128, b: u128, bits: u32, len: u8) -> bool {
    let shift = bits - u32::from(len);
    if shift >= 128 {
        return true;
    }
    (a >> shift) == (b >> shift)
}

/// The deny list in force.
#[derive(Debug, Clone, Default)]
pub struct IceFilter {
    deny: Vec<Cidr>,
}

impl IceFilter {
    /// From `media.ice_deny` (entries already validated; any that do not
    /// parse are skipped) and the address Duet advertises.
    pub fn new(deny: &[String], advertised: IpAddr) -> IceFilter {
        let deny = deny
            .iter()
            .filter_map(|d| d.parse::<Cidr>().ok())
            .filter(|c| !c.contains(advertised))
            .collect();
        IceFilter { deny }
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        !self.deny.iter().any(|c| c.contains(ip))
    }

    /// Whether a candidate line may be used: its address is an IP (not an
    /// mDNS name, which Duet does not resolve) outside the deny list.
    pub fn allows_candidate(&self, line: &str) -> bool {
        candidate_ip(line).is_some_and(|ip| self.allows(ip))
    }

    /// The offer without its denied `a=candidate` lines, and how many went.
    pub fn filter_sdp(&self, sdp: &str) -> (String, usize) {
        let mut out = String::with_capacity(sdp.len());
        let mut dropped = 0;
        for line in sdp.split_inclusive('\n') {
            if line.starts_with("a=candidate:") && !self.allows_candidate(line) {
                dropped += 1;
                continue;
            }
            out.push_str(line);
        }
        (out, dropped)
    }
}

/// The connection address of a candidate line (`candidate:<foundation>
/// <component> <transport> <priority> <address> ...`, with or without `a=`).
pub fn candidate_ip(line: &str) -> Option<IpAddr> {
    let line = line.strip_prefix("a=").unwrap_or(line);
    let rest = line.strip_prefix("candidate:")?;
    let address = rest.split_ascii_whitespace().nth(4)?;
    address.parse().ok()
}

/// Checks `media.ice_deny` entries, for config validation.
pub fn validate(deny: &[String]) -> Result<(), CidrError> {
    deny.iter().try_for_each(|d| d.parse::<Cidr>().map(|_| ()))
}
