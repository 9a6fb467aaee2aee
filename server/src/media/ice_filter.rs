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

use crate::cidr::{Cidr, CidrError};

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
