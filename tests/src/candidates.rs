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
mod tests {
    use super::*;

    fn relay() -> SocketAddr {
        "127.0.0.1:40000".parse().expect("addr")
    }

    #[test]
    fn rewrites_a_trickled_candidate() {
        assert_eq!(
            rewrite_candidate(
                "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host generation 0",
                relay()
            ),
            "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host generation 0"
        );
        assert_eq!(
            rewrite_candidate(
                "candidate:2 1 UDP 1694498815 203.0.113.9 61000 typ srflx raddr 10.0.0.2 rport 5000",
                "[::1]:7".parse().expect("addr")
            ),
            "candidate:2 1 UDP 1694498815 ::1 7 typ srflx raddr 10.0.0.2 rport 5000"
        );
    }

    #[test]
    fn finds_only_passive_tcp_candidates() {
        let sdp = "v=0\r\n\
                   a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n\
                   a=candidate:2 1 tcp 1671430143 127.0.0.1 7882 typ host tcptype passive\r\n\
                   a=candidate:2 2 tcp 1671430143 127.0.0.1 7882 typ host tcptype passive\r\n\
                   a=candidate:3 1 tcp 1671430143 127.0.0.1 9 typ host tcptype active\r\n";
        assert_eq!(
            tcp_passive_candidates(sdp),
            vec!["candidate:2 1 tcp 1671430143 127.0.0.1 7882 typ host tcptype passive"]
        );
        assert!(tcp_passive_candidates("v=0\r\n").is_empty());
    }

    #[test]
    fn leaves_anything_else_alone() {
        for text in ["", "candidate:", "candidate:1 1 udp 1 127.0.0.1", "a=mid:0"] {
            assert_eq!(rewrite_candidate(text, relay()), text);
        }
    }

    #[test]
    fn rewrites_only_candidate_lines_of_an_sdp() {
        let sdp = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
                   a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n\
                   a=end-of-candidates\r\n\
                   a=candidate:2 1 udp 2130706431 10.1.2.3 5001 typ host\n";
        let out = rewrite_sdp_candidates(sdp, relay());
        assert_eq!(
            out,
            "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
             a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\n\
             a=end-of-candidates\r\n\
             a=candidate:2 1 udp 2130706431 127.0.0.1 40000 typ host\n"
        );
    }
}
