//! Rewriting remote ICE candidates, so a peer sends to another address than the one the remote
//! announced (e.g. a [`crate::LossyRelay`] in front of the server).

use std::net::SocketAddr;

/// `candidate` (`candidate:…` as trickled, or an SDP `a=candidate:…` line) with its connection
/// address and port replaced by `addr`. Anything that is not a candidate comes back unchanged.
pub fn rewrite_candidate(candidate: &str, addr: SocketAddr) -> String {
    let Some(start) = candidate.find("candidate:") else {
        return candidate.to_owned();
    };
    let (prefix, attr) = candidate.split_at(start);
    if !(prefix.is_empty() || prefix == "a=") {
        return candidate.to_owned();
    }
    // candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> …
    let mut fields: Vec<String> = attr.split_whitespace().map(str::to_owned).collect();
    if fields.len() < 6 || fields[5].parse::<u16>().is_err() {
        return candidate.to_owned();
    }
    fields[4] = addr.ip().to_string();
    fields[5] = addr.port().to_string();
    format!("{prefix}{}", fields.join(" "))
}

/// `sdp` with every `a=candidate` line rewritten by [`rewrite_candidate`]; line endings kept.
pub fn rewrite_sdp_candidates(sdp: &str, addr: SocketAddr) -> String {
    sdp.split_inclusive('\n')
        .map(|line| {
            let body = line.trim_end_matches(['\r', '\n']);
            if body.starts_with("a=candidate:") {
                format!("{}{}", rewrite_candidate(body, addr), &line[body.len()..])
            } else {
                line.to_owned()
            }
        })
        .collect()
}

/// The passive ICE-TCP candidates (`candidate:… tcp … tcptype passive`, component 1) among
/// `sdp`'s `a=candidate` lines, without the `a=`. webrtc 0.21's async peer dials only passive
/// candidates handed to `add_ice_candidate`, never those inside a remote description, so an
/// ICE-TCP peer adds these again after applying one.
pub fn tcp_passive_candidates(sdp: &str) -> Vec<String> {
    sdp.lines()
        .filter_map(|line| line.trim_end().strip_prefix("a="))
        .filter(|attr| {
            let fields: Vec<&str> = attr.split_whitespace().collect();
            // Component 1 only: rtc lists each candidate again as component 2 (RTCP), which
            // would make the peer dial the same address twice.
            attr.starts_with("candidate:")
                && fields.get(1) == Some(&"1")
                && fields.get(2).is_some_and(|t| t.eq_ignore_ascii_case("tcp"))
                && fields.windows(2).any(|w| w == ["tcptype", "passive"])
        })
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests;
