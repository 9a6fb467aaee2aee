use super::*;
use rtc::shared::tcp_framing::frame_packet;

#[tokio::test]
async fn reads_frames_split_across_reads() {
    let mut wire = frame_packet(b"first packet");
    wire.extend_from_slice(&frame_packet(&[7u8; 1200]));
    // Byte by byte: every frame boundary and header split is exercised.
    let (mut tx, rx) = tokio::io::duplex(1);
    let feed = tokio::spawn(async move {
        for b in wire {
            tx.write_all(&[b]).await.map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(())
    });
    let mut frames = FrameReader::new(rx);
    let a = frames.next().await.expect("read").expect("a frame");
    assert_eq!(&a[..], b"first packet");
    let b = frames.next().await.expect("read").expect("a frame");
    assert_eq!(&b[..], &[7u8; 1200][..]);
    assert!(frames.next().await.expect("clean end").is_none());
    assert_eq!(feed.await.expect("join"), Ok(()));
}

#[tokio::test]
async fn refuses_oversized_empty_and_truncated_frames() {
    let big = (MAX_FRAME as u16 + 1).to_be_bytes();
    let mut frames = FrameReader::new(&big[..]);
    assert!(matches!(frames.next().await, Err(FrameError::Size(_))));
    let mut frames = FrameReader::new(&[0u8, 0][..]);
    assert!(matches!(frames.next().await, Err(FrameError::Size(0))));
    let mut frames = FrameReader::new(&[0u8, 10, 1, 2][..]);
    assert!(matches!(frames.next().await, Err(FrameError::Truncated)));
}

#[test]
fn writes_what_rtc_reads() {
    let mut out = Vec::new();
    push_frame(&mut out, b"one");
    push_frame(&mut out, &vec![1u8; 70_000]);
    push_frame(&mut out, b"two");
    let mut decoder = rtc::shared::tcp_framing::TcpFrameDecoder::new();
    decoder.extend_from_slice(&out);
    assert_eq!(decoder.next_packet().as_deref(), Some(&b"one"[..]));
    assert_eq!(
        decoder.next_packet().as_deref(),
        Some(&b"two"[..]),
        "the unframeable packet was skipped"
    );
}
