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
