//! An index for a finished WebM: Cues, a SeekHead pointing at them, and a
//! Duration, written into the room [`super::webm`] reserved in the header.
//!
//! Why: the writer's live files have no Cues (see its module docs), and a
//! player seeking into one without an index reads every cluster up to the
//! target; on a 60-minute recording that is ~90 MB for a seek to minute
//! 45. With Cues the player jumps to the keyframe cluster before the
//! target.
//!
//! How, and why it is safe: [`add_cues`] reads the file (so it works on
//! anything the writer left, after a crash too), appends a Cues element at
//! the end and syncs, then overwrites the reserved Voids with a Duration
//! and, last, the SeekHead, and syncs again. Until the SeekHead is in
//! place nothing points at the Cues: a crash before it leaves a playable
//! live file with trailing Cues, which the next run cuts off and writes
//! again. A SeekHead first in the Segment means the file is done. Files
//! from before the room existed are left as they are (rewriting whole
//! files is not worth it).
//!
//! The scan is its own, not [`super::probe`]'s: it needs byte positions,
//! and where the last whole element ends (a crash can cut a block, and
//! Cues appended after a cut block would be read as that block's data).

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::webm::{
    DURATION_ROOM, SEEK_HEAD_ROOM, VOID, put_bytes, put_id, put_size, put_uint, put_void,
};

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114D_9B74;
const SEEK: u32 = 0x4DBB;
const SEEK_ID: u32 = 0x53AB;
const SEEK_POSITION: u32 = 0x53AC;
const INFO: u32 = 0x1549_A966;
const DURATION: u32 = 0x4489;
const TRACKS: u32 = 0x1654_AE6B;
const CLUSTER: u32 = 0x1F43_B675;
const TIMESTAMP: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;
const CUES: u32 = 0x1C53_BB6B;
const CUE_POINT: u32 = 0xBB;
const CUE_TIME: u32 = 0xB3;
const CUE_TRACK_POSITIONS: u32 = 0xB7;
const CUE_TRACK: u32 = 0xF7;
const CUE_CLUSTER_POSITION: u32 = 0xF1;

#[derive(Debug, thiserror::Error)]
pub enum WebmIndexError {
    #[error("indexing WebM: {0}")]
    Io(#[from] io::Error),
    #[error("not a WebM file")]
    NotWebm,
    /// Bytes no element starts with (a damaged file): left untouched.
    #[error("unreadable WebM element at byte {0}")]
    Malformed(u64),
}

/// What [`add_cues`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CuesAdded {
    Added {
        cue_points: usize,
        /// In milliseconds (the writer's TimestampScale).
        duration_ms: f64,
        /// Bytes of a block a crash cut short, removed from the end.
        cut_bytes: u64,
    },
    /// It has a SeekHead already: left alone.
    AlreadyIndexed,
    /// Written before the writer reserved room for a SeekHead: left alone.
    NoRoom,
    /// No cluster starts with a keyframe (or no cluster at all).
    NothingToIndex,
}

/// Adds Cues, a SeekHead and a Duration to a WebM file written by
/// [`super::webm::WebmWriter`]. Blocking; call it off the media path.
pub fn add_cues(path: &Path) -> Result<CuesAdded, WebmIndexError> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let found = match scan(&file)? {
        Scanned::Index(found) => found,
        Scanned::AlreadyIndexed => return Ok(CuesAdded::AlreadyIndexed),
        Scanned::NoRoom => return Ok(CuesAdded::NoRoom),
        Scanned::Nothing => return Ok(CuesAdded::NothingToIndex),
    };
    if found.cues.is_empty() {
        return Ok(CuesAdded::NothingToIndex);
    }
    let cut_bytes = found.file_len - found.end;
    if cut_bytes > 0 {
        file.set_len(found.end)?;
    }
    let mut cue_points = Vec::with_capacity(found.cues.len() * 16);
    for &(time, pos) in &found.cues {
        let mut positions = Vec::with_capacity(16);
        put_uint(&mut positions, CUE_TRACK, 1);
        put_uint(&mut positions, CUE_CLUSTER_POSITION, pos);
        let mut point = Vec::with_capacity(32);
        put_uint(&mut point, CUE_TIME, time);
        put_bytes(&mut point, CUE_TRACK_POSITIONS, &positions);
        put_bytes(&mut cue_points, CUE_POINT, &point);
    }
    let mut cues = Vec::with_capacity(cue_points.len() + 12);
    put_bytes(&mut cues, CUES, &cue_points);
    file.seek(SeekFrom::Start(found.end))?;
    file.write_all(&cues)?;
    file.sync_all()?;

    let duration_ms = found.duration_ms();
    if let Some(at) = found.duration_room {
        let mut duration = Vec::with_capacity(DURATION_ROOM);
        put_id(&mut duration, DURATION);
        put_size(&mut duration, 8);
        duration.extend_from_slice(&duration_ms.to_be_bytes());
        file.seek(SeekFrom::Start(at))?;
        file.write_all(&duration)?;
    }
    let entries: Vec<(u32, u64)> = [(INFO, found.info), (TRACKS, found.tracks)]
        .into_iter()
        .filter_map(|(id, pos)| Some((id, pos?)))
        .chain([(CUES, found.end)])
        .map(|(id, pos)| (id, pos - found.segment_data))
        .collect();
    let seek_head = seek_head(&entries, SEEK_HEAD_ROOM);
    file.seek(SeekFrom::Start(found.segment_data))?;
    file.write_all(&seek_head)?;
    file.sync_all()?;
    Ok(CuesAdded::Added {
        cue_points: found.cues.len(),
        duration_ms,
        cut_bytes,
    })
}

/// A SeekHead for `entries` (ID, position in the Segment) followed by a
/// Void, exactly `room` bytes together (the entries must fit).
fn seek_head(entries: &[(u32, u64)], room: usize) -> Vec<u8> {
    let mut seeks = Vec::with_capacity(room);
    for &(id, pos) in entries {
        let mut seek = Vec::with_capacity(24);
        let mut id_bytes = Vec::with_capacity(4);
        put_id(&mut id_bytes, id);
        put_bytes(&mut seek, SEEK_ID, &id_bytes);
        put_uint(&mut seek, SEEK_POSITION, pos);
        put_bytes(&mut seeks, SEEK, &seek);
    }
    let mut out = Vec::with_capacity(room);
    put_id(&mut out, SEEK_HEAD);
    // A 2-byte size where 1 would do when a single byte would be left:
    // no Void is shorter than 2 bytes.
    let short = 4 + 1 + seeks.len();
    let size_len = if room.checked_sub(short) == Some(1) {
        2
    } else {
        1
    };
    let marked = seeks.len() as u64 | 1u64 << (7 * size_len);
    out.extend_from_slice(&marked.to_be_bytes()[8 - size_len..]);
    out.extend_from_slice(&seeks);
    let rest = room.saturating_sub(out.len());
    if rest > 0 {
        put_void(&mut out, rest);
    }
    out
}

enum Scanned {
    Index(Found),
    AlreadyIndexed,
    NoRoom,
    /// Too short to hold a cluster.
    Nothing,
}

/// What the scan found. Positions are in the file.
struct Found {
    segment_data: u64,
    info: Option<u64>,
    tracks: Option<u64>,
    /// Where the Void for a Duration starts, if there is one.
    duration_room: Option<u64>,
    /// (cluster Timestamp, cluster position in the Segment) of each
    /// cluster whose first block is a keyframe of track 1.
    cues: Vec<(u64, u64)>,
    /// End of the last whole element: where the Cues go.
    end: u64,
    file_len: u64,
    /// Latest block time and blocks seen, for the Duration.
    last_ms: i128,
    blocks: u64,
}

impl Found {
    /// The last block's time plus one mean frame interval (what
    /// [`super::probe::webm_duration`] counts as the length).
    fn duration_ms(&self) -> f64 {
        let last = self.last_ms.max(0) as f64;
        last + last / self.blocks.saturating_sub(1).max(1) as f64
    }
}

fn scan(file: &File) -> Result<Scanned, WebmIndexError> {
    let file_len = file.metadata()?.len();
    let mut r = Reader {
        r: BufReader::with_capacity(64 * 1024, file),
        pos: 0,
        len: file_len,
    };
    match r.header()? {
        Some((EBML, Some(size), _)) if r.skip(size)? => {}
        // empty (no keyframe came) or cut inside the first bytes
        None | Some((EBML, ..)) => return Ok(Scanned::Nothing),
        _ => return Err(WebmIndexError::NotWebm),
    }
    let segment_data = match r.header()? {
        Some((SEGMENT, _, _)) => r.pos,
        None => return Ok(Scanned::Nothing),
        _ => return Err(WebmIndexError::NotWebm),
    };
    match r.header()? {
        Some((VOID, Some(size), _)) if r.pos + size - segment_data == SEEK_HEAD_ROOM as u64 => {
            if !r.skip(size)? {
                return Ok(Scanned::Nothing);
            }
        }
        Some((SEEK_HEAD, _, _)) => return Ok(Scanned::AlreadyIndexed),
        None => return Ok(Scanned::Nothing),
        _ => return Ok(Scanned::NoRoom),
    }
    let mut f = Found {
        segment_data,
        info: None,
        tracks: None,
        duration_room: None,
        cues: Vec::new(),
        end: r.pos,
        file_len,
        last_ms: 0,
        blocks: 0,
    };
    let mut info_end = 0;
    // The open cluster: its Timestamp once read, and whether a block came.
    let (mut cluster_start, mut cluster_ts, mut first_block) = (0, None, false);
    while let Some((id, size, start)) = r.header()? {
        match (id, size) {
            (CUES, _) => break, // from a run a crash cut short: written again
            (INFO, Some(_)) => {
                f.info = Some(start);
                info_end = r.pos + size.unwrap_or(0);
                continue; // its children follow
            }
            (CLUSTER, _) => {
                (cluster_start, cluster_ts, first_block) = (start, None, true);
                continue; // a cluster only counts once its Timestamp is read
            }
            (_, None) => return Err(WebmIndexError::Malformed(start)),
            (TRACKS, _) => f.tracks = Some(start),
            (VOID, Some(size))
                if start < info_end && r.pos + size - start == DURATION_ROOM as u64 =>
            {
                f.duration_room = Some(start)
            }
            _ => {}
        }
        let size = size.unwrap_or(0);
        let mut body = [0u8; 8];
        let want = match id {
            TIMESTAMP if size <= 8 => size as usize,
            SIMPLE_BLOCK if size >= 4 => 4,
            _ => 0,
        };
        if !r.read(&mut body[..want])? || !r.skip(size - want as u64)? {
            break; // cut short by a crash: the Cues go before it
        }
        match id {
            TIMESTAMP => cluster_ts = Some(big_endian(&body[..want])),
            SIMPLE_BLOCK if want == 4 => {
                let ts = cluster_ts.unwrap_or(0);
                let at = i128::from(ts) + i128::from(i16::from_be_bytes([body[1], body[2]]));
                f.last_ms = f.last_ms.max(at);
                f.blocks += 1;
                // track 1 as a 1-byte vint, the keyframe flag
                if first_block && body[0] == 0x81 && body[3] & 0x80 != 0 {
                    f.cues.push((ts, cluster_start - segment_data));
                }
                first_block = false;
            }
            _ => {}
        }
        f.end = r.pos;
    }
    Ok(Scanned::Index(f))
}

/// Reads elements with their positions, never past the length the file
/// had when the scan began.
struct Reader<'a> {
    r: BufReader<&'a File>,
    pos: u64,
    len: u64,
}

impl Reader<'_> {
    /// The next element's ID, data size (`None` = unknown) and start, or
    /// `None` at the end of the file or a header the end cuts.
    fn header(&mut self) -> Result<Option<(u32, Option<u64>, u64)>, WebmIndexError> {
        let start = self.pos;
        let mut buf = [0u8; 8];
        if !self.read(&mut buf[..1])? {
            return Ok(None);
        }
        let id_len = buf[0].leading_zeros() as usize + 1;
        if id_len > 4 {
            return Err(WebmIndexError::Malformed(start));
        }
        if !self.read(&mut buf[1..id_len])? {
            return Ok(None);
        }
        let id = big_endian(&buf[..id_len]) as u32;
        if !self.read(&mut buf[..1])? {
            return Ok(None);
        }
        let size_len = buf[0].leading_zeros() as usize + 1;
        if size_len > 8 {
            return Err(WebmIndexError::Malformed(start));
        }
        if !self.read(&mut buf[1..size_len])? {
            return Ok(None);
        }
        let all_ones = (1u64 << (7 * size_len)) - 1;
        let size = big_endian(&buf[..size_len]) & all_ones;
        Ok(Some((id, (size != all_ones).then_some(size), start)))
    }

    /// Fills `buf`, or returns false if the file ends first.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        if self.len - self.pos < buf.len() as u64 {
            return Ok(false);
        }
        self.r.read_exact(buf)?;
        self.pos += buf.len() as u64;
        Ok(true)
    }

    /// Skips `n` bytes, or returns false if the file ends first.
    fn skip(&mut self, n: u64) -> io::Result<bool> {
        if self.len - self.pos < n {
            return Ok(false);
        }
        // n <= len, and a file's length fits an i64
        self.r.seek_relative(n as i64)?;
        self.pos += n;
        Ok(true)
    }
}

fn big_endian(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |v, &b| v << 8 | u64::from(b))
}

#[cfg(test)]
mod tests;
