use super::*;

#[test]
fn buffers_grow_past_the_default() {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let before = rustix::net::sockopt::socket_recv_buffer_size(&socket).expect("read");
    let sizes = enlarge(&socket).expect("enlarge");
    // Without CAP_NET_ADMIN the limit is rmem_max, which may be the default.
    assert!(sizes.recv >= before);
    assert!(sizes.send > 0);
}
