use std::path::PathBuf;
use std::process::Command;

use super::*;
use crate::recorder::frames::VideoCodec;
use crate::recorder::probe::webm_duration_file;
use crate::recorder::webm::WebmWriter;

/// Smallest VP8 keyframe header the size parser accepts: 320x240.
const VP8_KEY: [u8; 10] = [0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00];

/// `frames` frames at `fps` (90 kHz RTP time), `len` bytes each, a
/// keyframe where `key` says, through the recorder's own writer.
fn webm(frames: u32, fps: u32, len: usize, key: impl Fn(u32) -> bool) -> Vec<u8> {
    let mut w = WebmWriter::with_track_uid(Vec::new(), VideoCodec::Vp8, 7);
    let mut data = vec![0x11u8; len];
    for i in 0..frames {
        let keyframe = key(i);
        if keyframe {
            data[..VP8_KEY.len()].copy_from_slice(&VP8_KEY);
        } else {
            data[0] = 0x51; // a VP8 interframe
        }
        w.write_frame(i * 90_000 / fps, keyframe, &data).unwrap();
    }
    w.into_inner()
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// One element: ID, data size (`None` = unknown), start, data start.
type El = (u32, Option<u64>, usize, usize);

fn element(buf: &[u8], at: usize) -> El {
    let id_len = buf[at].leading_zeros() as usize + 1;
    let id = big_endian(&buf[at..at + id_len]) as u32;
    let s = at + id_len;
    let size_len = buf[s].leading_zeros() as usize + 1;
    let all_ones = (1u64 << (7 * size_len)) - 1;
    let size = big_endian(&buf[s..s + size_len]) & all_ones;
    (id, (size != all_ones).then_some(size), at, s + size_len)
}

/// The children of a known-size master.
fn children(buf: &[u8], (_, size, _, data): El) -> Vec<El> {
    let end = data + size.unwrap() as usize;
    let mut out = Vec::new();
    let mut at = data;
    while at < end {
        let e = element(buf, at);
        at = e.3 + e.1.unwrap() as usize;
        out.push(e);
    }
    out
}

fn uint(buf: &[u8], e: El) -> u64 {
    big_endian(&buf[e.3..e.3 + e.1.unwrap() as usize])
}

fn child(buf: &[u8], parent: El, id: u32) -> El {
    children(buf, parent)
        .into_iter()
        .find(|c| c.0 == id)
        .unwrap_or_else(|| panic!("no child {id:X}"))
}

/// Segment data start, its first child, and the Info element.
fn segment(buf: &[u8]) -> (usize, El, El) {
    let ebml = element(buf, 0);
    let seg = element(buf, ebml.3 + ebml.1.unwrap() as usize);
    assert_eq!(seg.0, SEGMENT);
    let first = element(buf, seg.3);
    let mut at = seg.3;
    loop {
        let e = element(buf, at);
        if e.0 == INFO {
            return (seg.3, first, e);
        }
        at = e.3 + e.1.unwrap() as usize;
    }
}

/// (CueTime, CueClusterPosition) of each CuePoint the SeekHead leads to,
/// each checked against the Cluster found there.
fn cues_via_seek_head(buf: &[u8]) -> Vec<(u64, u64)> {
    let (data, seek_head, _) = segment(buf);
    assert_eq!(seek_head.0, SEEK_HEAD);
    // the SeekHead and its Void fill the reserved room exactly
    let void = element(buf, seek_head.3 + seek_head.1.unwrap() as usize);
    assert_eq!(void.0, VOID);
    assert_eq!(void.3 + void.1.unwrap() as usize - data, SEEK_HEAD_ROOM);
    let mut targets = std::collections::HashMap::new();
    for seek in children(buf, seek_head) {
        let id = child(buf, seek, SEEK_ID);
        let id = big_endian(&buf[id.3..id.3 + id.1.unwrap() as usize]) as u32;
        targets.insert(id, uint(buf, child(buf, seek, SEEK_POSITION)) as usize);
    }
    assert_eq!(element(buf, data + targets[&INFO]).0, INFO);
    assert_eq!(element(buf, data + targets[&TRACKS]).0, TRACKS);
    let cues = element(buf, data + targets[&CUES]);
    assert_eq!(cues.0, CUES);
    assert_eq!(
        cues.3 + cues.1.unwrap() as usize,
        buf.len(),
        "Cues end the file"
    );
    children(buf, cues)
        .into_iter()
        .map(|point| {
            assert_eq!(point.0, CUE_POINT);
            let time = uint(buf, child(buf, point, CUE_TIME));
            let positions = child(buf, point, CUE_TRACK_POSITIONS);
            assert_eq!(uint(buf, child(buf, positions, CUE_TRACK)), 1);
            let pos = uint(buf, child(buf, positions, CUE_CLUSTER_POSITION));
            let cluster = element(buf, data + pos as usize);
            assert_eq!(cluster.0, CLUSTER);
            let ts = element(buf, cluster.3);
            assert_eq!((ts.0, uint(buf, ts)), (TIMESTAMP, time));
            let block = element(buf, ts.3 + ts.1.unwrap() as usize);
            assert_eq!(block.0, SIMPLE_BLOCK);
            assert_eq!(buf[block.3 + 3] & 0x80, 0x80, "a cue starts at a keyframe");
            (time, pos)
        })
        .collect()
}

/// 10 s at 30 fps, keyframes at frames 0, 45, 120 and 200.
fn keyed(i: u32) -> bool {
    [0, 45, 120, 200].contains(&i)
}

#[test]
fn cues_point_at_the_keyframe_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let original = webm(300, 30, 100, keyed);
    let path = write(&dir, "a.webm", &original);
    let before = webm_duration_file(&path).unwrap();
    let added = add_cues(&path).unwrap();
    let CuesAdded::Added {
        cue_points,
        duration_ms,
        cut_bytes,
    } = added
    else {
        panic!("{added:?}");
    };
    assert_eq!((cue_points, cut_bytes), (4, 0));
    // 299 frames after the first at 33.3 ms, plus one interval
    assert!((duration_ms - 9999.0).abs() < 1.0, "{duration_ms}");
    let buf = std::fs::read(&path).unwrap();
    let cues = cues_via_seek_head(&buf);
    let times: Vec<u64> = cues.iter().map(|c| c.0).collect();
    assert_eq!(times, [0, 1500, 4000, 6666]);
    // the clusters are where they were: only the header's Voids changed
    let (_, _, info) = segment(&buf);
    assert!(
        buf[info.3 + info.1.unwrap() as usize..original.len()]
            == original[info.3 + info.1.unwrap() as usize..]
    );
    let duration = child(&buf, info, DURATION);
    let value = f64::from_be_bytes(buf[duration.3..duration.3 + 8].try_into().unwrap());
    assert_eq!(value, duration_ms);
    // what the probe reads is unchanged
    let after = webm_duration_file(&path).unwrap();
    assert_eq!(
        (after.frames, after.keyframes, after.span),
        (before.frames, before.keyframes, before.span)
    );
    assert!(!after.truncated);
}

#[test]
fn a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "a.webm", &webm(300, 30, 100, keyed));
    assert!(matches!(add_cues(&path).unwrap(), CuesAdded::Added { .. }));
    let once = std::fs::read(&path).unwrap();
    assert_eq!(add_cues(&path).unwrap(), CuesAdded::AlreadyIndexed);
    assert_eq!(std::fs::read(&path).unwrap(), once);
}

#[test]
fn a_file_cut_mid_cluster_gets_cues_for_its_whole_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let full = webm(300, 30, 100, keyed);
    // cut inside the last frame: 60 of its 104 block bytes are missing
    let cut = &full[..full.len() - 60];
    let path = write(&dir, "cut.webm", cut);
    let added = add_cues(&path).unwrap();
    let CuesAdded::Added {
        cue_points,
        cut_bytes,
        ..
    } = added
    else {
        panic!("{added:?}");
    };
    assert_eq!(cue_points, 4);
    assert_eq!(
        cut_bytes,
        104 + 2 - 60,
        "the partial block (2-byte header) is removed"
    );
    let buf = std::fs::read(&path).unwrap();
    assert_eq!(cues_via_seek_head(&buf).len(), 4);
    let stats = webm_duration_file(&path).unwrap();
    assert_eq!(stats.frames, 299);
    assert!(!stats.truncated);

    // cut right after the header of the cluster at frame 200: that cluster
    // has no Timestamp, so it is neither indexed nor kept
    let at = cues_via_seek_head(&{
        let p = write(&dir, "full.webm", &full);
        add_cues(&p).unwrap();
        std::fs::read(&p).unwrap()
    })[3]
        .1 as usize;
    let (data, _, _) = segment(&full);
    let path = write(&dir, "cut2.webm", &full[..data + at + 12]);
    let added = add_cues(&path).unwrap();
    assert!(
        matches!(
            added,
            CuesAdded::Added {
                cue_points: 3,
                cut_bytes: 12,
                ..
            }
        ),
        "{added:?}"
    );
    assert_eq!(cues_via_seek_head(&std::fs::read(&path).unwrap()).len(), 3);
}

#[test]
fn a_run_cut_before_the_seek_head_is_redone() {
    let dir = tempfile::tempdir().unwrap();
    let original = webm(300, 30, 100, keyed);
    let clean = write(&dir, "clean.webm", &original);
    add_cues(&clean).unwrap();
    let done = std::fs::read(&clean).unwrap();
    // the crash came after the Cues (cut short) and the Duration, before
    // the SeekHead: the reserved Void is still there
    let (data, _, _) = segment(&original);
    let mut crashed = done[..done.len() - 5].to_vec();
    crashed[data..data + SEEK_HEAD_ROOM].copy_from_slice(&original[data..data + SEEK_HEAD_ROOM]);
    let path = write(&dir, "crashed.webm", &crashed);
    assert!(matches!(
        add_cues(&path).unwrap(),
        CuesAdded::Added { cue_points: 4, .. }
    ));
    assert_eq!(std::fs::read(&path).unwrap(), done);
}

#[test]
fn files_without_room_or_keyframes_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    // as the writer made them before it reserved room: no Void first
    let new = webm(300, 30, 100, keyed);
    let (data, _, _) = segment(&new);
    let old = [&new[..data], &new[data + SEEK_HEAD_ROOM..]].concat();
    let path = write(&dir, "old.webm", &old);
    assert_eq!(add_cues(&path).unwrap(), CuesAdded::NoRoom);
    assert_eq!(std::fs::read(&path).unwrap(), old);

    let path = write(&dir, "empty.webm", b"");
    assert_eq!(add_cues(&path).unwrap(), CuesAdded::NothingToIndex);
    assert_eq!(std::fs::read(&path).unwrap(), b"");

    // the header alone, then a cluster cut inside its first block
    let cut = &new[..data + SEEK_HEAD_ROOM + 100];
    let path = write(&dir, "header.webm", cut);
    assert_eq!(add_cues(&path).unwrap(), CuesAdded::NothingToIndex);
    assert_eq!(std::fs::read(&path).unwrap(), cut);

    let path = write(&dir, "ogg.webm", b"OggS\0\x02");
    assert!(matches!(add_cues(&path), Err(WebmIndexError::NotWebm)));
}

#[test]
fn voids_fill_their_room_exactly() {
    for total in 2..=300 {
        let mut b = Vec::new();
        put_void(&mut b, total);
        let e = element(&b, 0);
        assert_eq!((e.0, e.3 + e.1.unwrap() as usize), (VOID, total));
        assert_eq!(b.len(), total);
    }
    // one byte left after the SeekHead: its size takes two bytes instead
    let entries = [(CUES, 1000)];
    let short = seek_head(&entries, 200).len() - 200 + {
        let e = element(&seek_head(&entries, 200), 0);
        e.3 + e.1.unwrap() as usize
    };
    for room in [short, short + 1, short + 2, short + 129] {
        let b = seek_head(&entries, room);
        assert_eq!(b.len(), room);
        let e = element(&b, 0);
        let end = e.3 + e.1.unwrap() as usize;
        assert_eq!(e.0, SEEK_HEAD);
        if end < room {
            let v = element(&b, end);
            assert_eq!((v.0, v.3 + v.1.unwrap() as usize), (VOID, room));
        }
    }
}

/// What a real demuxer makes of it: FFmpeg (Chromium's, for `<video
/// src>`) reads the Duration, and a seek near the end of an indexed file
/// reads a small part of it, where the same seek in the live file reads
/// nearly all of it.
#[test]
fn ffprobe_seeks_through_the_index() {
    if Command::new("ffprobe").arg("-version").output().is_err() {
        eprintln!("SKIPPED ffprobe_seeks_through_the_index: ffprobe is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 10 minutes at 10 fps, 2 KB frames (12 MB), a keyframe every 10 s
    let live = webm(6000, 10, 2000, |i| i % 100 == 0);
    let plain = write(&dir, "live.webm", &live);
    let indexed = write(&dir, "indexed.webm", &live);
    assert!(matches!(
        add_cues(&indexed).unwrap(),
        CuesAdded::Added { cue_points: 60, .. }
    ));

    let probe = |path: &Path, args: &[&str]| {
        let out = Command::new("ffprobe")
            .args(["-v", "debug"])
            .args(args)
            .arg(path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        // avio's closing line: "Statistics: N bytes read, M seeks"
        let read = stderr
            .lines()
            .filter_map(|l| {
                l.split("Statistics: ")
                    .nth(1)?
                    .split(' ')
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .next_back()
            .unwrap_or_else(|| panic!("no statistics in {stderr}"));
        (String::from_utf8_lossy(&out.stdout).into_owned(), read)
    };
    let duration = ["-show_entries", "format=duration", "-of", "csv=p=0"];
    let (out, _) = probe(&indexed, &duration);
    let seconds: f64 = out.trim().parse().unwrap();
    assert!((seconds - 600.0).abs() < 0.5, "{out}");

    let seek = [
        "-read_intervals",
        "455%+#1",
        "-select_streams",
        "v",
        "-show_entries",
        "packet=pts_time,flags",
        "-of",
        "csv=p=0",
    ];
    let (with_cues, read_with) = probe(&indexed, &seek);
    let (without, read_without) = probe(&plain, &seek);
    let first = |out: &str| -> (f64, String) {
        let line = out.lines().next().unwrap_or_default();
        let (t, flags) = line.split_once(',').unwrap_or((line, ""));
        (t.parse().unwrap_or(f64::NAN), flags.to_string())
    };
    let (t, flags) = first(&with_cues);
    assert!(
        (450.0..=455.0).contains(&t) && flags.starts_with('K'),
        "{with_cues}"
    );
    assert!(
        read_with * 4 < live.len() as u64 && read_without > read_with * 4,
        "bytes read for a seek to 7:35: {read_with} with cues, {read_without} without \
         ({} in the file; first packet without: {:?})",
        live.len(),
        first(&without)
    );
}
