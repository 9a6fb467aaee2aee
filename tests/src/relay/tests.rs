use super::*;

fn rtp(pt: u8, seq: u16, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0; 4]);
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(b"payload");
    p
}

#[test]
fn tells_rtp_from_everything_else() {
    assert_eq!(rtp_id(&rtp(96, 7, 42)), Some((42, 7)));
    assert_eq!(rtp_id(&rtp(96 | 0x80, 7, 42)), Some((42, 7)), "marker set");
    assert_eq!(rtp_id(&rtp(111, 1, 1)), Some((1, 1)));
    for pt in [200u8, 201, 205, 206, 207] {
        assert_eq!(rtp_id(&rtp(pt, 0, 1)), None, "RTCP {pt}");
    }
    let mut stun = rtp(96, 0, 1);
    stun[0] = 0x00;
    assert_eq!(rtp_id(&stun), None);
    let mut dtls = rtp(96, 0, 1);
    dtls[0] = 22;
    assert_eq!(rtp_id(&dtls), None);
    assert_eq!(rtp_id(&[0x80, 96, 0, 1]), None, "too short");
}

#[test]
fn drops_first_copies_and_forgets_the_oldest() {
    let mut d = Direction {
        every: Some(2),
        ..Direction::default()
    };
    assert!(!d.pass(&rtp(96, 4, 1)));
    assert!(d.pass(&rtp(96, 5, 1)));
    assert!(d.pass(&rtp(96, 4, 1)), "retransmission");
    assert!(d.pass(&rtp(96, 4, 1)), "and again");
    assert_eq!(
        d.total,
        LossCounts {
            rtp: 4,
            dropped: 1,
            recovered: 1
        }
    );
    for seq in 0..(2 * REMEMBERED_DROPS as u16 + 20) {
        d.pass(&rtp(96, seq, 2));
    }
    assert_eq!(d.remembered.len(), REMEMBERED_DROPS);
    assert_eq!(d.order.len(), REMEMBERED_DROPS);
}
