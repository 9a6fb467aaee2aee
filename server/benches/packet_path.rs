//! Benchmarks of Duet's own per-packet work on the media path (not `rtc`'s):
//! finding a datagram's connection, the forwarding decision, and the RTP
//! header rewrite. Run with `cargo bench -p duet-server --bench packet_path`.
//!
//! The maps are sized like a busy server: 256 connections (128 calls).

use std::collections::HashMap;
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use duet_server::media::demux;
use duet_server::media::forward::{
    Leg, PayloadMap, Slot, StreamContinuity, codec_key, forward_header, rewrite_header,
};
use rtc::rtp::header::{Extension, Header};

const CONNECTIONS: u16 = 256;

fn addr(i: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 20_000 + i))
}

fn ufrag(i: u16) -> String {
    format!("srvufrag{i:08}")
}

/// A binding request as browsers send it: USERNAME after PRIORITY and
/// ICE-CONTROLLING, then integrity and fingerprint (zeroed; not checked here).
fn binding_request(username: &str) -> Vec<u8> {
    let mut attrs = Vec::new();
    let mut attr = |kind: u16, value: &[u8]| {
        attrs.extend_from_slice(&kind.to_be_bytes());
        attrs.extend_from_slice(&(value.len() as u16).to_be_bytes());
        attrs.extend_from_slice(value);
        while attrs.len() % 4 != 0 {
            attrs.push(0);
        }
    };
    attr(0x0024, &[0x6e, 0x7f, 0x1e, 0xff]);
    attr(0x802A, &[1; 8]);
    attr(0x0006, username.as_bytes());
    attr(0x0008, &[0; 20]);
    attr(0x8028, &[0; 4]);
    let mut p = vec![0x00, 0x01];
    p.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    p.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
    p.extend_from_slice(&[7; 12]);
    p.extend_from_slice(&attrs);
    p
}

/// An SRTP packet as it arrives (only its first bytes matter to demux).
fn srtp_packet() -> Vec<u8> {
    let mut p = vec![
        0x90, 0x60, 0x12, 0x34, 0, 0, 0x30, 0x39, 0xde, 0xad, 0xbe, 0xef,
    ];
    p.resize(1100, 0xAB);
    p
}

fn bench_demux(c: &mut Criterion) {
    let by_ufrag: HashMap<String, u16> = (0..CONNECTIONS).map(|i| (ufrag(i), i)).collect();
    let by_addr: HashMap<SocketAddr, u16> = (0..CONNECTIONS).map(|i| (addr(i), i)).collect();
    let by_probe: HashMap<SocketAddr, u16> = (0..CONNECTIONS).map(|i| (addr(i), i)).collect();
    let media = srtp_packet();
    let stun = binding_request(&format!("{}:browserufrag", ufrag(200)));
    let from = addr(123);

    let mut g = c.benchmark_group("demux");
    g.bench_function("classify_srtp", |b| {
        b.iter(|| demux::stun_local_ufrag(black_box(&media)).is_some())
    });
    g.bench_function("route_srtp_by_address", |b| {
        b.iter(|| {
            demux::route(
                black_box(&media),
                black_box(from),
                &by_ufrag,
                &by_addr,
                &by_probe,
            )
        })
    });
    g.bench_function("route_stun_by_username", |b| {
        b.iter(|| {
            demux::route(
                black_box(&stun),
                black_box(from),
                &by_ufrag,
                &by_addr,
                &by_probe,
            )
        })
    });
    g.bench_function("route_unknown", |b| {
        let stranger = addr(CONNECTIONS + 1);
        b.iter(|| {
            demux::route(
                black_box(&media),
                black_box(stranger),
                &by_ufrag,
                &by_addr,
                &by_probe,
            )
        })
    });
    g.finish();
}

/// A header as a browser's VP8 packet has it: three extensions.
fn browser_header() -> Header {
    let ext = |id: u8, len: usize| Extension {
        id,
        payload: Bytes::from(vec![id; len]),
    };
    Header {
        version: 2,
        marker: false,
        payload_type: 96,
        sequence_number: 1000,
        timestamp: 90_000,
        ssrc: 0x1234_5678,
        extension: true,
        extension_profile: 0xBEDE,
        extensions: vec![ext(1, 2), ext(3, 3), ext(4, 2)],
        ..Default::default()
    }
}

fn bench_forward(c: &mut Criterion) {
    let map = PayloadMap::build(
        &[
            (111, codec_key("audio/opus", "")),
            (96, codec_key("video/VP8", "")),
            (98, codec_key("video/VP9", "profile-id=0")),
        ],
        &[
            (111, codec_key("audio/opus", "")),
            (96, codec_key("video/VP8", "")),
            (98, codec_key("video/VP9", "profile-id=0")),
        ],
    );
    let now = Instant::now();
    let template = browser_header();

    let mut g = c.benchmark_group("forward");
    g.bench_function("decision_and_rewrite", |b| {
        let mut continuity = StreamContinuity::default();
        let mut seq = 0u16;
        b.iter_batched_ref(
            || {
                seq = seq.wrapping_add(1);
                let mut h = template.clone();
                h.sequence_number = seq;
                h
            },
            |h| {
                let leg = Leg {
                    connected: true,
                    payload_map: &map,
                    continuity: &mut continuity,
                    ssrc: 42,
                };
                forward_header(black_box(now), Slot::Camera, h, leg)
            },
            criterion::BatchSize::SmallInput,
        )
    });
    g.bench_function("rewrite_header", |b| {
        b.iter_batched_ref(
            || template.clone(),
            |h| rewrite_header(h, black_box(42), black_box(96)),
            criterion::BatchSize::SmallInput,
        )
    });
    g.bench_function("payload_map", |b| b.iter(|| map.map(black_box(98))));
    g.finish();
}

criterion_group!(benches, bench_demux, bench_forward);
criterion_main!(benches);
