//! A 440 Hz sine tone, Opus-encoded once per process into 20 ms frames.

use std::f32::consts::PI;
use std::sync::{Arc, OnceLock};

use anyhow::Context;
use bytes::Bytes;

/// Opus sample rate (and RTP clock rate).
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples per channel in one 20 ms frame: the RTP timestamp step per packet.
pub const SAMPLES_PER_FRAME: u32 = SAMPLE_RATE / 50;
/// Tone frequency.
pub const TONE_HZ: f32 = 440.0;
/// One second of frames: 440 Hz fits a whole number of periods into it, so the loop is
/// seamless.
const FRAMES_PER_LOOP: usize = 50;
/// The tone's peak, as a fraction of full scale.
const TONE_AMPLITUDE: f32 = 0.3;
/// The tone's audio level (RFC 6464, −dBov): a sine's RMS is its peak over √2, so
/// 20·log10(0.3 / √2) ≈ −13.5 dBov. Every tone frame has it.
pub const TONE_LEVEL: u8 = 13;
/// The audio level of silence (−127 dBov, the extension's floor).
pub const SILENCE_LEVEL: u8 = 127;

/// The audio level (RFC 6464) of 16-bit samples: their RMS in −dBov, 0 the loudest and
/// 127 silence, as a browser measures the `ssrc-audio-level` it sends.
pub fn audio_level(pcm: &[i16]) -> u8 {
    if pcm.is_empty() {
        return SILENCE_LEVEL;
    }
    let mean_square = pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len() as f64;
    if mean_square <= 0.0 {
        return SILENCE_LEVEL;
    }
    let dbov = 10.0 * (mean_square / (32768.0 * 32768.0)).log10();
    (-dbov).round().clamp(0.0, f64::from(SILENCE_LEVEL)) as u8
}

/// Measures the level of Opus frames by decoding them: for audio whose level is not known
/// in advance (speech a test plays).
pub struct FrameLevels {
    decoder: opus::Decoder,
    pcm: Vec<i16>,
}

impl FrameLevels {
    pub fn new() -> anyhow::Result<FrameLevels> {
        Ok(FrameLevels {
            decoder: opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)
                .context("creating the Opus decoder")?,
            // The longest Opus packet: 120 ms.
            pcm: vec![0; SAMPLE_RATE as usize / 1000 * 120],
        })
    }

    /// The level of one mono Opus frame (of a stream: the decoder keeps its state);
    /// silence if it does not decode.
    pub fn of(&mut self, frame: &[u8]) -> u8 {
        match self.decoder.decode(frame, &mut self.pcm, false) {
            Ok(n) => audio_level(&self.pcm[..n.min(self.pcm.len())]),
            Err(_) => SILENCE_LEVEL,
        }
    }
}

/// One second of a mono 440 Hz tone as Opus packets (20 ms each), to be sent in a loop.
pub fn opus_tone_frames() -> anyhow::Result<Arc<Vec<Bytes>>> {
    static FRAMES: OnceLock<Arc<Vec<Bytes>>> = OnceLock::new();
    if let Some(frames) = FRAMES.get() {
        return Ok(Arc::clone(frames));
    }
    let frames = Arc::new(encode_tone()?);
    Ok(Arc::clone(FRAMES.get_or_init(|| frames)))
}

/// One 20 ms Opus frame of digital silence.
pub fn opus_silence_frame() -> anyhow::Result<Bytes> {
    static FRAME: OnceLock<Bytes> = OnceLock::new();
    if let Some(frame) = FRAME.get() {
        return Ok(frame.clone());
    }
    let frames = encode_pcm(&[0i16; SAMPLES_PER_FRAME as usize], opus::Application::Voip)?;
    let frame = frames.into_iter().next().context("no silence frame")?;
    Ok(FRAME.get_or_init(|| frame).clone())
}

/// 48 kHz mono samples as 20 ms Opus frames (the last one padded with
/// silence).
pub fn encode_pcm(pcm: &[i16], application: opus::Application) -> anyhow::Result<Vec<Bytes>> {
    let mut encoder = opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, application)
        .context("creating the Opus encoder")?;
    let n = SAMPLES_PER_FRAME as usize;
    let mut out = vec![0u8; 1500];
    let mut frames = Vec::with_capacity(pcm.len() / n + 1);
    for chunk in pcm.chunks(n) {
        let mut frame = chunk.to_vec();
        frame.resize(n, 0);
        let len = encoder
            .encode(&frame, &mut out)
            .context("encoding an Opus frame")?;
        frames.push(Bytes::copy_from_slice(&out[..len]));
    }
    Ok(frames)
}

fn encode_tone() -> anyhow::Result<Vec<Bytes>> {
    let mut encoder =
        opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Audio)
            .context("creating the Opus encoder")?;
    let n = SAMPLES_PER_FRAME as usize;
    let mut pcm = vec![0i16; n];
    let mut out = vec![0u8; 1500];
    let mut frames = Vec::with_capacity(FRAMES_PER_LOOP);
    for f in 0..FRAMES_PER_LOOP {
        for (i, s) in pcm.iter_mut().enumerate() {
            let t = (f * n + i) as f32 / SAMPLE_RATE as f32;
            *s = ((2.0 * PI * TONE_HZ * t).sin() * TONE_AMPLITUDE * f32::from(i16::MAX)) as i16;
        }
        let len = encoder
            .encode(&pcm, &mut out)
            .context("encoding a tone frame")?;
        frames.push(Bytes::copy_from_slice(&out[..len]));
    }
    Ok(frames)
}

/// Bytes of Opus padding added by [`tag_opus_packet`]: a send-time stamp, then the tag in
/// the last 8.
const TAG_PADDING: usize = 2 + crate::latency::STAMP_LEN + 8;

/// Makes `frame` unique and stamps it: re-frames it as an Opus code-3 packet whose padding
/// (ignored by every decoder, RFC 6716 §3.2.5) ends with a send-time stamp
/// ([`crate::latency`], `sent_us`), then `tag` and `counter`, big-endian. The audio decodes
/// exactly as before.
pub fn tag_opus_packet(
    frame: &[u8],
    tag: u32,
    counter: u32,
    sent_us: u64,
) -> anyhow::Result<Bytes> {
    // Code 3 adds a frame-count byte and one padding-length byte (padding < 255).
    let len = frame.len() + 2 + TAG_PADDING;
    let mut buf = vec![0u8; len];
    buf[..frame.len()].copy_from_slice(frame);
    // `opus_packet_pad` fills the whole buffer (it returns OPUS_OK, not a length).
    opus::packet::pad(&mut buf, frame.len()).context("padding an Opus packet")?;
    let n = buf.len();
    let stamp_at = n - 8 - crate::latency::STAMP_LEN;
    buf[stamp_at..n - 8].copy_from_slice(&crate::latency::stamp(sent_us));
    buf[n - 8..n - 4].copy_from_slice(&tag.to_be_bytes());
    buf[n - 4..].copy_from_slice(&counter.to_be_bytes());
    Ok(Bytes::from(buf))
}

/// The send time stamped into a payload by [`tag_opus_packet`], if it has one.
pub fn sent_us(payload: &[u8]) -> Option<u64> {
    let n = payload.len();
    let at = n.checked_sub(8 + crate::latency::STAMP_LEN)?;
    crate::latency::read_stamp(&payload[at..])
}

#[cfg(test)]
mod tests;
