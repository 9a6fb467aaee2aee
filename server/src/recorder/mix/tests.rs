//! Tests of `mix`.

use super::*;
use crate::recorder::wav::WavWriter;

fn wav(dir: &Path, name: &str, samples: &[i16]) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut w = WavWriter::new(std::io::BufWriter::new(
        File::create(&path).expect("create"),
    ))
    .expect("writer");
    w.write_samples(samples).expect("write");
    w.finish().expect("finish");
    path
}

#[test]
fn sums_aligned_samples_saturating_and_pads_the_shorter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = wav(dir.path(), "a.wav", &[100, -200, 30_000, 5]);
    let b = wav(dir.path(), "b.wav", &[1, 2, 10_000]);
    let mut m = Mixer::open(&[&a, &b]).expect("open");
    assert_eq!(m.file_len(), HEADER_LEN + 8);
    let mut out = Vec::new();
    while let Some(chunk) = m.next_chunk().expect("chunk") {
        out.extend(chunk);
    }
    assert_eq!(&out[..4], b"RIFF");
    let samples: Vec<i16> = out[HEADER_LEN as usize..]
        .chunks_exact(2)
        .map(|s| i16::from_le_bytes([s[0], s[1]]))
        .collect();
    assert_eq!(samples, [101, -198, i16::MAX, 5]);
}
