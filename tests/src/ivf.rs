//! IVF (VP8/VP9 elementary stream) clips, loaded whole into memory.
//!
//! Parsing uses the IVF reader that ships with the `rtc` media module (32-byte file header,
//! 12-byte frame headers); this module only adds looping-friendly storage and a little
//! metadata.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use rtc::media::io::ivf_reader::IVFReader;

/// Name of the default video fixture in `tests/fixtures/`.
pub const DEFAULT_VIDEO_FIXTURE: &str = "video-320x240.ivf";
/// The larger clip: 640x480 at 30 fps (the load tool's `--shape 640x480`).
pub const LARGE_VIDEO_FIXTURE: &str = "video-640x480.ivf";

/// Absolute path of a file in `tests/fixtures/`.
pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// One encoded frame of a clip.
#[derive(Clone, Debug)]
pub struct IvfFrame {
    /// The frame exactly as stored in the file.
    pub data: Bytes,
    /// Presentation timestamp in the file's timebase.
    pub timestamp: u64,
    /// Whether this is a VP8 key frame (first byte, bit 0 clear).
    pub keyframe: bool,
}

/// A whole IVF file.
#[derive(Clone, Debug)]
pub struct IvfClip {
    /// FourCC from the header, e.g. `VP80`.
    pub fourcc: [u8; 4],
    /// Frame width in pixels.
    pub width: u16,
    /// Frame height in pixels.
    pub height: u16,
    /// Timebase numerator (seconds per tick = numerator / denominator).
    pub timebase_numerator: u32,
    /// Timebase denominator.
    pub timebase_denominator: u32,
    /// Every frame, in file order.
    pub frames: Vec<IvfFrame>,
}

impl IvfClip {
    /// Reads and parses a whole IVF file.
    pub fn load(path: &Path) -> anyhow::Result<IvfClip> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let (mut reader, header) = IVFReader::new(BufReader::new(file))
            .with_context(|| format!("reading the IVF header of {}", path.display()))?;
        if &header.signature != b"DKIF" {
            bail!("{} is not an IVF file", path.display());
        }
        let mut frames = Vec::new();
        // The reader reports end of file as an error; a short final frame is dropped with it.
        while let Ok((data, frame_header)) = reader.parse_next_frame() {
            let data = data.freeze();
            let keyframe = data.first().is_some_and(|b| b & 0x01 == 0);
            frames.push(IvfFrame {
                data,
                timestamp: frame_header.timestamp,
                keyframe,
            });
        }
        if frames.is_empty() {
            bail!("{} holds no frames", path.display());
        }
        if header.timebase_denominator == 0 || header.timebase_numerator == 0 {
            bail!("{} has a zero timebase", path.display());
        }
        Ok(IvfClip {
            fourcc: header.four_cc,
            width: header.width,
            height: header.height,
            timebase_numerator: header.timebase_numerator,
            timebase_denominator: header.timebase_denominator,
            frames,
        })
    }

    /// The default fixture, parsed once per process.
    pub fn default_fixture() -> anyhow::Result<Arc<IvfClip>> {
        IvfClip::fixture(DEFAULT_VIDEO_FIXTURE)
    }

    /// A file in `tests/fixtures/`, parsed once per process.
    pub fn fixture(name: &str) -> anyhow::Result<Arc<IvfClip>> {
        static CLIPS: OnceLock<Mutex<HashMap<String, Arc<IvfClip>>>> = OnceLock::new();
        let clips = CLIPS.get_or_init(Default::default);
        if let Some(clip) = clips.lock().ok().and_then(|c| c.get(name).cloned()) {
            return Ok(clip);
        }
        let clip = Arc::new(IvfClip::load(&fixture_path(name))?);
        if let Ok(mut c) = clips.lock() {
            return Ok(Arc::clone(c.entry(name.to_owned()).or_insert(clip)));
        }
        Ok(clip)
    }

    /// Time between frames. IVF writers (ffmpeg included) put the frame rate in the timebase,
    /// so one tick is one frame.
    pub fn frame_duration(&self) -> Duration {
        Duration::from_secs_f64(
            f64::from(self.timebase_numerator) / f64::from(self.timebase_denominator),
        )
    }

    /// RTP timestamp increment per frame on the 90 kHz video clock.
    pub fn rtp_ticks_per_frame(&self) -> u32 {
        (90_000u64 * u64::from(self.timebase_numerator) / u64::from(self.timebase_denominator))
            as u32
    }

    /// Index of the first key frame at or after `from`, wrapping around.
    pub fn next_keyframe(&self, from: usize) -> usize {
        let n = self.frames.len();
        (0..n)
            .map(|i| (from + i) % n)
            .find(|&i| self.frames[i].keyframe)
            .unwrap_or(0)
    }
}
