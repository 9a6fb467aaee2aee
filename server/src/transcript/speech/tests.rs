use super::*;

const SR: usize = 16_000;

/// A track of `len_s` seconds of silence with a 440 Hz tone at about
/// −20 dBFS over each (start, end) in seconds.
fn track(len_s: f64, tones: &[(f64, f64)]) -> Vec<i16> {
    let mut out = vec![0i16; (len_s * SR as f64) as usize];
    for &(a, b) in tones {
        let (from, to) = ((a * SR as f64) as usize, (b * SR as f64) as usize);
        for (i, s) in out.iter_mut().enumerate().take(to).skip(from) {
            let t = i as f64 / SR as f64;
            *s = (3000.0 * (t * 440.0 * std::f64::consts::TAU).sin()) as i16;
        }
    }
    out
}

fn near(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn silence_has_no_regions() {
    let config = SpeechConfig::default();
    assert!(speech_regions(&track(20.0, &[]), &config).is_empty());
    assert!(plan_chunks(&[], &config).is_empty());
}

#[test]
fn short_pauses_join_and_regions_are_padded() {
    let config = SpeechConfig::default();
    let t = track(60.0, &[(10.0, 12.0), (12.5, 13.5), (43.0, 46.0)]);
    let regions = speech_regions(&t, &config);
    assert_eq!(regions.len(), 2, "{regions:?}");
    let s = |n: usize| n as f64 / SR as f64;
    assert!(near(s(regions[0].start), 9.7, 0.1), "{regions:?}");
    assert!(near(s(regions[0].end), 13.8, 0.35), "{regions:?}");
    assert!(near(s(regions[1].start), 42.7, 0.1), "{regions:?}");
    assert!(near(s(regions[1].end), 46.3, 0.35), "{regions:?}");
}

#[test]
fn a_region_at_the_edges_is_clipped_to_the_track() {
    let config = SpeechConfig::default();
    let t = track(5.0, &[(0.0, 5.0)]);
    let regions = speech_regions(&t, &config);
    assert_eq!(
        regions,
        vec![Region {
            start: 0,
            end: t.len()
        }]
    );
}

#[test]
fn chunk_times_map_back_to_the_track() {
    let config = SpeechConfig::default();
    let regions = [
        Region {
            start: 10 * SR,
            end: 14 * SR,
        },
        Region {
            start: 40 * SR,
            end: 43 * SR,
        },
    ];
    let chunks = plan_chunks(&regions, &config);
    assert_eq!(chunks.len(), 1);
    let c = &chunks[0];
    assert_eq!(c.len, 4 * SR + SR / 2 + 3 * SR);
    assert!(near(c.to_track_s(0.0), 10.0, 1e-6));
    assert!(near(c.to_track_s(3.0), 13.0, 1e-6));
    // In the separator: the end of the first region.
    assert!(near(c.to_track_s(4.2), 14.0, 1e-6));
    assert!(near(c.to_track_s(4.5), 40.0, 1e-6));
    assert!(near(c.to_track_s(6.0), 41.5, 1e-6));
    // Past the end: the end of the last region.
    assert!(near(c.to_track_s(30.0), 43.0, 1e-6));
    assert!(near(c.speech_s(), 7.0, 1e-6));
}

#[test]
fn chunks_stay_under_the_cap_and_keep_order() {
    let config = SpeechConfig::default();
    let regions: Vec<Region> = (0..20)
        .map(|i| Region {
            start: i * 20 * SR,
            end: (i * 20 + 6) * SR,
        })
        .collect();
    let chunks = plan_chunks(&regions, &config);
    let max = (config.max_chunk_s * SR as f64) as usize;
    assert!(chunks.len() > 1);
    let mut sources = Vec::new();
    for c in &chunks {
        assert!(c.len <= max, "{} > {max}", c.len);
        sources.extend(c.pieces.iter().map(|p| p.source));
    }
    assert_eq!(sources, regions.iter().map(|r| r.start).collect::<Vec<_>>());
}

#[test]
fn a_long_region_is_a_chunk_of_its_own() {
    let config = SpeechConfig::default();
    let regions = [
        Region {
            start: 0,
            end: 2 * SR,
        },
        Region {
            start: 5 * SR,
            end: 65 * SR,
        },
        Region {
            start: 70 * SR,
            end: 71 * SR,
        },
    ];
    let chunks = plan_chunks(&regions, &config);
    assert_eq!(chunks.len(), 3);
    assert_eq!(chunks[1].len, 60 * SR);
}

#[test]
fn chunk_audio_holds_the_pieces_and_silence_between() {
    let t: Vec<i16> = (0..(3 * SR) as i32)
        .map(|i| (i % 1000) as i16 + 1)
        .collect();
    let chunk = Chunk {
        pieces: vec![
            Piece {
                source: 0,
                at: 0,
                len: 100,
            },
            Piece {
                source: 2 * SR,
                at: 200,
                len: 100,
            },
        ],
        len: 300,
    };
    let audio = chunk.audio(&t);
    assert_eq!(audio.len(), 300);
    assert!(audio[..100].iter().all(|s| *s > 0.0));
    assert!(audio[100..200].iter().all(|s| *s == 0.0));
    assert_eq!(audio[200], f32::from(t[2 * SR]) / 32768.0);
}

#[test]
fn a_start_in_a_separator_belongs_to_the_next_piece() {
    let chunk = Chunk {
        pieces: vec![
            Piece {
                source: 10 * SR,
                at: 0,
                len: 4 * SR,
            },
            Piece {
                source: 40 * SR,
                at: 4 * SR + SR / 2,
                len: 3 * SR,
            },
        ],
        len: 7 * SR + SR / 2,
    };
    assert_eq!(chunk.piece_at(1.0), 0);
    assert_eq!(chunk.piece_at(4.2), 1);
    assert_eq!(chunk.piece_at(5.0), 1);
    assert!(near(chunk.start_on_track_s(4.2), 40.0, 1e-6));
    assert!(near(chunk.start_on_track_s(1.0), 11.0, 1e-6));
    assert!(near(chunk.start_on_track_s(5.0), 40.5, 1e-6));
    // An end in the separator stays with the piece before.
    assert!(near(chunk.to_track_s(4.2), 14.0, 1e-6));
}
