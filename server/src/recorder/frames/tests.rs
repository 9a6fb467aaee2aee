//! Frame assembly tests, on VP8 frames from the committed IVF fixture,
//! packetized here by hand.

use super::*;

/// An IVF file: frame size, 90 kHz ticks per timestamp unit, and frames as
/// (timestamp, data).
pub(crate) struct Ivf {
    pub width: u16,
    pub height: u16,
    pub ticks_per_pts: u64,
    pub frames: Vec<(u64, Vec<u8>)>,
}

pub(crate) fn parse_ivf(data: &[u8]) -> Ivf {
    assert_eq!(&data[..4], b"DKIF");
    let u16_at = |i: usize| u16::from_le_bytes([data[i], data[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes(data[i..i + 4].try_into().unwrap());
    let header_len = usize::from(u16_at(6));
    let (rate, scale) = (u64::from(u32_at(16)), u64::from(u32_at(20)));
    let mut frames = Vec::new();
    let mut pos = header_len;
    while pos + 12 <= data.len() {
        let size = u32_at(pos) as usize;
        let pts = u64::from_le_bytes(data[pos + 4..pos + 12].try_into().unwrap());
        frames.push((pts, data[pos + 12..pos + 12 + size].to_vec()));
        pos += 12 + size;
    }
    Ivf {
        width: u16_at(12),
        height: u16_at(14),
        ticks_per_pts: 90_000 * scale / rate,
        frames,
    }
}

pub(crate) fn fixture() -> Ivf {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/video-320x240.ivf"
    );
    parse_ivf(&std::fs::read(path).unwrap())
}

/// One RTP packet: (sequence number, timestamp, marker, payload).
pub(crate) type Rtp = (u16, u32, bool, Bytes);

/// Splits a frame into payloads of at most `mtu` bytes of frame data, each
/// behind a 1-byte descriptor from `descriptor(first, last)`.
pub(crate) fn packetize(
    seq: &mut u16,
    ts: u32,
    frame: &[u8],
    mtu: usize,
    descriptor: impl Fn(bool, bool) -> u8,
) -> Vec<Rtp> {
    let chunks: Vec<&[u8]> = frame.chunks(mtu).collect();
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut payload = vec![descriptor(i == 0, i + 1 == n)];
            payload.extend_from_slice(chunk);
            *seq = seq.wrapping_add(1);
            (*seq, ts, i + 1 == n, Bytes::from(payload))
        })
        .collect()
}

/// The fixture as VP8 RTP packets: 1200-byte payloads, descriptor 0x10
/// (S bit, partition 0) then 0x00; sequence numbers and timestamps wrap.
pub(crate) fn vp8_packets() -> (Ivf, Vec<Vec<Rtp>>) {
    let ivf = fixture();
    let mut seq = u16::MAX - 20;
    let base = u32::MAX - 20_000;
    let frames = ivf
        .frames
        .iter()
        .map(|(pts, data)| {
            let ts = base.wrapping_add((pts * ivf.ticks_per_pts) as u32);
            packetize(
                &mut seq,
                ts,
                data,
                1200,
                |first, _| if first { 0x10 } else { 0 },
            )
        })
        .collect();
    (ivf, frames)
}

fn run(
    a: &mut FrameAssembler,
    packets: impl IntoIterator<Item = Rtp>,
) -> Vec<(u32, bool, Vec<u8>)> {
    let mut out = Vec::new();
    for (seq, ts, marker, payload) in packets {
        if let Some(f) = a.push(seq, ts, marker, &payload) {
            out.push((f.timestamp, f.keyframe, f.data.to_vec()));
        }
    }
    out
}

#[test]
fn reassembles_identical_frames() {
    let (ivf, packets) = vp8_packets();
    assert_eq!(ivf.frames.len(), 45);
    assert!(
        packets.iter().any(|p| p.len() > 1),
        "some frames span packets"
    );
    let mut a = FrameAssembler::new(VideoCodec::Vp8);
    assert!(a.needs_keyframe());
    let out = run(&mut a, packets.iter().flatten().cloned());
    assert_eq!(out.len(), 45);
    for ((ts, key, data), (want, rtp)) in out.iter().zip(ivf.frames.iter().zip(&packets)) {
        assert_eq!(data, &want.1);
        assert_eq!(*ts, rtp[0].1);
        assert_eq!(*key, want.1[0] & 1 == 0);
    }
    let keys: Vec<usize> = (0..45).filter(|&i| out[i].1).collect();
    assert_eq!(keys, [0, 15, 30]);
    assert!(!a.needs_keyframe());
    assert_eq!(a.stats().frames, 45);
    assert_eq!(keyframe_size(VideoCodec::Vp8, &out[0].2), Some((320, 240)));
    assert_eq!(keyframe_size(VideoCodec::Vp8, &out[1].2), None);
}

#[test]
fn lost_packet_drops_frame_until_keyframe() {
    let (_, mut packets) = vp8_packets();
    // frame 5 (1720 bytes: two packets) loses its first packet
    assert_eq!(packets[5].len(), 2);
    packets[5].remove(0);
    let mut a = FrameAssembler::new(VideoCodec::Vp8);
    let mut emitted = Vec::new();
    for (i, frame) in packets.iter().enumerate() {
        for (seq, ts, marker, payload) in frame {
            if a.push(*seq, *ts, *marker, payload).is_some() {
                emitted.push(i);
            }
        }
        // known once the next frame starts
        if (6..15).contains(&i) {
            assert!(a.needs_keyframe(), "after frame {i}");
        }
    }
    let want: Vec<usize> = (0..5).chain(15..45).collect();
    assert_eq!(emitted, want);
    assert_eq!(a.stats().dropped, 10);
}

#[test]
fn lost_last_packet_of_a_keyframe() {
    let (_, mut packets) = vp8_packets();
    let n = packets[15].len();
    assert!(n > 1);
    packets[15].pop(); // the marker packet of the 2nd keyframe
    let mut a = FrameAssembler::new(VideoCodec::Vp8);
    let out = run(&mut a, packets.into_iter().flatten());
    assert_eq!(out.len(), 45 - 15);
    assert!(out[15].1, "resumes at the keyframe of frame 30");
}

#[test]
fn reordering_within_a_frame() {
    let (ivf, mut packets) = vp8_packets();
    for frame in &mut packets {
        frame.reverse(); // marker first, start last
    }
    let mut a = FrameAssembler::new(VideoCodec::Vp8);
    let out = run(&mut a, packets.into_iter().flatten());
    assert_eq!(out.len(), 45);
    assert!(out.iter().zip(&ivf.frames).all(|(o, f)| o.2 == f.1));
}

#[test]
fn late_duplicate_and_padding_packets() {
    let (_, packets) = vp8_packets();
    let mut a = FrameAssembler::new(VideoCodec::Vp8);
    let mut feed = Vec::new();
    for (i, frame) in packets.iter().take(6).enumerate() {
        feed.extend(frame.iter().cloned());
        if i == 2 {
            feed.push(frame[0].clone()); // a late duplicate of a finished frame
        }
    }
    // a padding packet between frames 5 and 6, shifting later sequence numbers
    let (last_seq, last_ts, ..) = feed[feed.len() - 1].clone();
    feed.push((last_seq.wrapping_add(1), last_ts, false, Bytes::new()));
    for (seq, ts, marker, payload) in &packets[6] {
        feed.push((seq.wrapping_add(1), *ts, *marker, payload.clone()));
    }
    let out = run(&mut a, feed);
    assert_eq!(out.len(), 7);
    assert_eq!(a.stats().late, 1);
    assert_eq!(a.stats().dropped, 0);
}

#[test]
fn short_tail_and_malformed_packets() {
    let frame = fixture().frames[0].1.clone();
    let mut seq = 0;
    // a payload size that leaves a 2-byte last piece
    let mtu = (100..frame.len()).find(|m| frame.len() % m == 2).unwrap();
    let packets = packetize(
        &mut seq,
        0,
        &frame,
        mtu,
        |first, _| if first { 0x10 } else { 0 },
    );
    assert_eq!(packets.last().unwrap().3.len(), 3);
    let mut a = FrameAssembler::new(VideoCodec::Vp8);
    let out = run(&mut a, packets);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].2, frame);
    // An extended descriptor cut short is malformed and costs the frame.
    let bad = Bytes::from_static(&[0x90, 0x80]);
    assert!(a.push(seq.wrapping_add(1), 6000, false, &bad).is_none());
    assert_eq!(a.stats().malformed, 1);
    assert!(a.needs_keyframe());
}

#[test]
fn oversized_frame_is_dropped() {
    let mut a = FrameAssembler::new(VideoCodec::Vp8);
    let mut payload = vec![0u8; 1201];
    payload[0] = 0x10;
    let first = Bytes::from(payload.clone());
    payload[0] = 0;
    let rest = Bytes::from(payload);
    assert!(a.push(0, 0, false, &first).is_none());
    for seq in 1..=MAX_FRAME_PACKETS as u16 {
        assert!(a.push(seq, 0, false, &rest).is_none());
    }
    assert_eq!(a.stats().dropped, 1);
    // the rest of that frame is late now
    assert!(a.push(400, 0, true, &rest).is_none());
    assert_eq!(a.stats().late, 1);
}

/// A VP9 keyframe's uncompressed header, profile 0, 320x240.
pub(crate) const VP9_KEY_HEADER: [u8; 9] = [0x82, 0x49, 0x83, 0x42, 0x00, 0x13, 0xF0, 0x0E, 0xF0];

#[test]
fn vp9_frames_and_superframes() {
    assert_eq!(vp9_keyframe_size(&VP9_KEY_HEADER), Some((320, 240)));
    let mut inter = VP9_KEY_HEADER;
    inter[0] = 0x86; // frame_type 1
    assert_eq!(vp9_keyframe_size(&inter), None);
    assert_eq!(vp9_keyframe_size(&VP9_KEY_HEADER[..6]), None);

    let mut a = FrameAssembler::new(VideoCodec::Vp9);
    let mut key = VP9_KEY_HEADER.to_vec();
    key.extend_from_slice(&[7; 100]);
    // B=0x08, E=0x04, P=0x40 (inter)
    let mut seq = 10;
    let packets = packetize(&mut seq, 0, &key, 60, |b, e| {
        (if b { 0x08 } else { 0 }) | (if e { 0x04 } else { 0 })
    });
    let out = run(&mut a, packets);
    assert_eq!(out, [(0, true, key.clone())]);

    // two spatial layers of one picture: L bit with sid 0 then sid 1
    let layer = |b: bool, e: bool, sid: u8, marker: bool, seq: u16, data: &[u8]| {
        let mut p = vec![
            0x60 | if b { 0x08 } else { 0 } | if e { 0x04 } else { 0 },
            sid << 1,
            0,
        ];
        p.extend_from_slice(data);
        (seq, 3000, marker, Bytes::from(p))
    };
    let feed = [
        layer(true, true, 0, false, 13, &[1, 2, 3]),
        layer(true, false, 1, false, 14, &[4, 5]),
        layer(false, true, 1, true, 15, &[6]),
    ];
    let out = run(&mut a, feed);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].2, [1, 2, 3, 4, 5, 6, 0xC1, 3, 3, 0xC1]);
    assert!(!out[0].1);
}

#[test]
fn a_new_source_starts_over_at_its_keyframe() {
    let (ivf, packets) = vp8_packets();
    let mut a = FrameAssembler::new(VideoCodec::Vp8);
    let mut feed: Vec<Rtp> = packets[..20].iter().flatten().cloned().collect();
    // the sender reloads: new random sequence numbers and timestamps, far
    // behind the old ones; its first frames are a keyframe and delta frames
    let mut seq = 1000;
    for (i, (_, frame)) in ivf.frames[..3].iter().enumerate() {
        let ts = packets[0][0].1.wrapping_sub(3_000_000) + 6000 * i as u32;
        feed.extend(packetize(&mut seq, ts, frame, 1200, |first, _| {
            u8::from(first) << 4
        }));
    }
    let out = run(&mut a, feed);
    assert_eq!(out.len(), 23);
    assert!(out[20].1 && out[20].2 == ivf.frames[0].1);
    a.reset();
    assert!(a.needs_keyframe());
}
