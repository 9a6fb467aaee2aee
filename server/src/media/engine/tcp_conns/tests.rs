use std::sync::Arc;

use duet_signaling::{Role, SessionId};
use tokio::sync::Semaphore;

use super::*;

fn key() -> PeerKey {
    PeerKey {
        session: SessionId(uuid::Uuid::nil()),
        role: Role::Mentor,
    }
}

/// A binding request with USERNAME `ufrag:client`.
fn request(ufrag: &str) -> BytesMut {
    let username = format!("{ufrag}:client");
    let padded = username.len().div_ceil(4) * 4;
    let mut p = vec![0x00, 0x01];
    p.extend_from_slice(&((4 + padded) as u16).to_be_bytes());
    p.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
    p.extend_from_slice(&[5; 12]);
    p.extend_from_slice(&[0x00, 0x06]);
    p.extend_from_slice(&(username.len() as u16).to_be_bytes());
    p.extend_from_slice(username.as_bytes());
    p.resize(20 + 4 + padded, 0);
    BytesMut::from(&p[..])
}

struct Fixture {
    conns: TcpConns,
    ufrags: HashMap<String, PeerKey>,
    permits: Arc<Semaphore>,
}

impl Fixture {
    fn new() -> Fixture {
        let local = "127.0.0.1:7882".parse().ok();
        Fixture {
            conns: TcpConns::new(local),
            ufrags: HashMap::from([("known".to_owned(), key())]),
            permits: Arc::new(Semaphore::new(4)),
        }
    }

    fn open(
        &mut self,
        now: Instant,
        port: u16,
        id: u64,
        ufrag: &str,
        queue: usize,
    ) -> (Result<PeerKey, Refused>, mpsc::Receiver<BytesMut>) {
        let (writer, rx) = mpsc::channel(queue);
        let opened = Opened {
            peer: SocketAddr::from(([127, 0, 0, 1], port)),
            id,
            first: request(ufrag),
            writer,
            permit: Arc::clone(&self.permits)
                .try_acquire_owned()
                .expect("a permit"),
        };
        let routed = self.conns.open(now, opened, &self.ufrags);
        (routed.map(|(k, _)| k), rx)
    }
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn routes_by_ufrag_and_refuses_strangers() {
    let mut f = Fixture::new();
    let now = Instant::now();
    let (routed, _rx) = f.open(now, 5000, 1, "known", 4);
    assert_eq!(routed, Ok(key()));
    assert_eq!(f.conns.route(addr(5000), 1), Some(key()));
    assert_eq!(f.conns.route(addr(5000), 2), None, "another connection");
    let (refused, _rx) = f.open(now, 5001, 2, "stranger", 4);
    assert_eq!(refused, Err(Refused::UnknownUfrag));
    assert_eq!(
        f.permits.available_permits(),
        3,
        "the refused permit is back"
    );
    let ctx = f.conns.transport(addr(5000)).expect("ICE-TCP is on");
    assert_eq!(ctx.local_addr, addr(7882));
    assert_eq!(ctx.transport_protocol, TransportProtocol::TCP);
}

#[test]
fn a_binding_success_proves_and_the_sweep_closes_the_rest() {
    let mut f = Fixture::new();
    let now = Instant::now();
    let (_, mut proven_rx) = f.open(now, 5000, 1, "known", 4);
    let (_, mut unproven_rx) = f.open(now, 5001, 2, "known", 4);
    let success = BytesMut::from(&[0x01, 0x01, 0, 0][..]);
    assert_eq!(f.conns.send(key(), addr(5000), success), Sent::Queued);
    assert_eq!(
        f.permits.available_permits(),
        3,
        "proof releases the permit"
    );
    f.conns.sweep(now + HANDSHAKE);
    assert!(f.conns.route(addr(5000), 1).is_some(), "proven stays");
    assert!(f.conns.route(addr(5001), 2).is_none(), "unproven is closed");
    assert_eq!(f.permits.available_permits(), 4);
    assert!(proven_rx.try_recv().is_ok());
    assert!(matches!(
        unproven_rx.try_recv(),
        Err(mpsc::error::TryRecvError::Disconnected)
    ));
}

#[test]
fn a_full_queue_drops_and_closing_is_by_id() {
    let mut f = Fixture::new();
    let now = Instant::now();
    let (_, _rx) = f.open(now, 5000, 1, "known", 1);
    let packet = || BytesMut::from(&[0x80, 0x60, 0, 1][..]);
    assert_eq!(f.conns.send(key(), addr(5000), packet()), Sent::Queued);
    assert_eq!(f.conns.send(key(), addr(5000), packet()), Sent::Dropped);
    assert_eq!(
        f.conns.send(key(), addr(9), packet()),
        Sent::NoConnection,
        "an active candidate's placeholder port"
    );
    f.conns.close(addr(5000), 7);
    assert!(f.conns.route(addr(5000), 1).is_some(), "a stale close");
    f.conns.close(addr(5000), 1);
    assert!(f.conns.route(addr(5000), 1).is_none());
}

#[test]
fn caps_connections_per_peer_and_removes_them_with_it() {
    let mut f = Fixture::new();
    f.permits = Arc::new(Semaphore::new(MAX_PER_PEER + 1));
    let now = Instant::now();
    let mut queues = Vec::new();
    for i in 0..MAX_PER_PEER as u16 {
        let (routed, rx) = f.open(now, 5000 + i, u64::from(i), "known", 1);
        assert!(routed.is_ok());
        queues.push(rx);
    }
    let (refused, _rx) = f.open(now, 6000, 99, "known", 1);
    assert_eq!(refused, Err(Refused::TooMany));
    f.conns.remove_peer(key());
    assert!(f.conns.route(addr(5000), 0).is_none());
    assert_eq!(f.permits.available_permits(), MAX_PER_PEER + 1);
}
