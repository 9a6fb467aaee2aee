//! Address ranges from the config: `media.ice_deny` (where connectivity
//! checks may not go) and `http.trusted_proxies` (whose `X-Forwarded-For`
//! is believed). One parser for both, over the `ipnet` crate, so the two
//! lists cannot disagree on what `10.0.0.0/8` or a bare address means.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

#[cfg(test)]
mod tests;

/// One range: `10.0.0.0/8`, `fe80::/10`, or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr(IpNet);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an address or a CIDR block like 10.0.0.0/8 or fe80::/10")]
pub struct CidrError(pub String);

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let t = s.trim();
        // A bare address is the block of that one address.
        let net = match t.parse::<IpNet>() {
            Ok(net) => net,
            Err(_) => t
                .parse::<IpAddr>()
                .map(IpNet::from)
                .map_err(|_| CidrError(s.to_owned()))?,
        };
        Ok(Cidr(net))
    }
}

impl Cidr {
    /// Whether `ip` is in the range; an IPv4-mapped IPv6 address counts as
    /// its IPv4 address (a dual-stack socket reports IPv4 peers that way).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

/// Parses every entry; the first bad one is the error.
pub fn parse_all(entries: &[String]) -> Result<Vec<Cidr>, CidrError> {
    entries.iter().map(|e| e.parse()).collect()
}
