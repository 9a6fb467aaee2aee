//! The room against a database that is slow or failing (a real SQLite, or
//! PostgreSQL on the tests' second pass, with injected delay or failure): a revoke stops writing before, and whatever
//! happens to, the storing of its events; a start whose trail could not be
//! stored writes nothing. Needs a loopback socket for the media plane: run
//! in a network namespace like every test that opens one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use duet_signaling::protocol::{RecordingAction, RecordingState};
use duet_signaling::{LinkId, ParticipantId};

use super::*;
use crate::recorder::tap::{RecordTap, RecordedPacket, TrackCodec, TrackKind};
use crate::store::Fault;

const MENTOR: ConnId = ConnId(1);
const MENTEE: ConnId = ConnId(2);

struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
    room: Room,
    /// What each socket was sent.
    _sockets: Vec<mpsc::Receiver<ToSocket>>,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    let metrics = Metrics::new(dir.path().to_path_buf());
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp (run in a netns)");
    let media = MediaPlane::start(
        socket,
        None,
        std::net::Ipv4Addr::LOCALHOST.into(),
        None,
        metrics.media.clone(),
        1,
        0,
    )
    .expect("media");
    let deps = RoomDeps {
        media,
        recorders: Recorders::new(
            dir.path().join("recordings"),
            store.clone(),
            metrics.clone(),
        ),
        store: store.clone(),
        notice: Notice::new("This call is recorded."),
        translations: Default::default(),
        recording_allowed: true,
        metrics,
        fence: None,
        captioner: crate::captions::Captioner::off(),
    };
    let info = SessionInfo {
        id: SessionId(uuid::Uuid::new_v4()),
        title: "t".into(),
    };
    let mut room = Room::new(info, RecordingPolicy::Allowed, deps);
    let sockets = join_both(&mut room).await;
    Fixture {
        dir,
        store,
        room,
        _sockets: sockets,
    }
}

/// The mentor (`MENTOR`) and the mentee (`MENTEE`) join; returns what
/// each socket is sent.
async fn join_both(room: &mut Room) -> Vec<mpsc::Receiver<ToSocket>> {
    let mut sockets = Vec::new();
    for (conn, role) in [(MENTOR, Role::Mentor), (MENTEE, Role::Mentee)] {
        let (tx, rx) = mpsc::channel(256);
        sockets.push(rx);
        let req = JoinRequest {
            conn,
            participant: ParticipantId(uuid::Uuid::new_v4()),
            role,
            link: LinkId(format!("{role}")),
            name: role.to_string(),
            ice_servers: Vec::new(),
        };
        room.step(RoomCommand::Join { req, outbound: tx }).await;
    }
    sockets
}

/// Both leave; then the room runs until it is idle, as the hub runs it
/// (the media plane's talk answers arrive on its loop).
async fn leave_both(room: &mut Room) {
    for conn in [MENTEE, MENTOR] {
        room.step(RoomCommand::Input(Input::Leave { conn })).await;
    }
    let (_keep, mut commands) = mpsc::unbounded_channel();
    let idle = tokio::time::timeout(Duration::from_secs(10), room.run_until_idle(&mut commands))
        .await
        .expect("the room goes idle");
    assert!(idle);
}

fn action(conn: ConnId, action: RecordingAction) -> RoomCommand {
    RoomCommand::Recording {
        conn,
        action,
        notice_hash: None,
        discard: false,
    }
}

async fn consent_both(room: &mut Room) {
    room.step(action(MENTOR, RecordingAction::Request)).await;
    room.step(action(MENTOR, RecordingAction::Consent)).await;
    room.step(action(MENTEE, RecordingAction::Consent)).await;
}

/// Feeds Opus packets to `tap` every 20 ms until `done`, as a talking
/// participant does through the media engine.
fn talk(tap: RecordTap, done: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut seq = 0u16;
        while !done.load(Ordering::Relaxed) {
            tap.offer(RecordedPacket {
                role: Role::Mentor,
                kind: TrackKind::Audio,
                codec: TrackCodec::Opus,
                seq,
                timestamp: u32::from(seq) * 960,
                marker: false,
                // A 20 ms CELT frame's TOC byte and some payload.
                payload: Bytes::from_static(&[0xfc, 0xff, 0xfe, 0x01, 0x02, 0x03]),
                arrival: Instant::now(),
            });
            seq = seq.wrapping_add(1);
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

fn audio_size(dir: &Path) -> u64 {
    let files: Vec<PathBuf> = walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "ogg"))
        .collect();
    files
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Records while talking, then has the mentee revoke with the database
/// in `fault`; returns the audio size a second after the revoke, the size
/// once the revoke's step finished, and whether that step was still
/// waiting on the database a second in.
async fn revoke_with(fault: Fault) -> (u64, u64, bool) {
    let mut f = fixture().await;
    consent_both(&mut f.room).await;
    let tap = f.room.active.as_ref().expect("recording").tap.clone();
    let done = Arc::new(AtomicBool::new(false));
    let talker = talk(tap, done.clone());
    let recordings = f.dir.path().join("recordings");
    let deadline = Instant::now() + Duration::from_secs(5);
    while audio_size(&recordings) == 0 {
        assert!(Instant::now() < deadline, "the recording writes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    f.store.inject(fault);
    let mut room = f.room;
    let revoke = tokio::spawn(async move {
        room.step(action(MENTEE, RecordingAction::Revoke)).await;
        room
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let waiting = !revoke.is_finished();
    let at_one_second = audio_size(&recordings);
    let room = revoke.await.expect("revoke step");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let after = audio_size(&recordings);
    done.store(true, Ordering::Relaxed);
    let _ = talker.join();
    assert!(room.active.is_none());
    assert_eq!(room.consent.status().state, RecordingState::Off);
    (at_one_second, after, waiting)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_stops_writing_while_the_database_is_slow() {
    let (at_one_second, after, waiting) = revoke_with(Fault::Slow(Duration::from_secs(2))).await;
    assert!(
        waiting,
        "the revoke's events were stored at once: not a slow store"
    );
    assert_eq!(
        at_one_second, after,
        "audio was written after the revoke, while its event was being stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_stops_writing_when_the_database_fails() {
    let (at_one_second, after, _) = revoke_with(Fault::Fail).await;
    assert_eq!(
        at_one_second, after,
        "audio was written after a revoke whose event could not be stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consents_that_could_not_be_stored_start_nothing() {
    let mut f = fixture().await;
    f.room.step(action(MENTOR, RecordingAction::Request)).await;
    f.room.step(action(MENTOR, RecordingAction::Consent)).await;
    f.store.inject(Fault::Fail);
    f.room.step(action(MENTEE, RecordingAction::Consent)).await;
    assert!(f.room.active.is_none(), "a recording started");
    assert_eq!(f.room.consent.status().state, RecordingState::Off);
    assert!(
        walk(&f.dir.path().join("recordings")).is_empty(),
        "files were created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_database_delays_a_start_but_never_skips_the_check() {
    let mut f = fixture().await;
    f.store.inject(Fault::Slow(Duration::from_millis(300)));
    consent_both(&mut f.room).await;
    let id = f.room.active.as_ref().expect("recording").id;
    // The row and both consents are there: the recorder read them back.
    f.store.inject(Fault::None);
    let trail = f.store.recording_trail(id).await.expect("trail");
    let consents = trail.iter().filter(|e| e.action == "consent").count();
    assert_eq!(consents, 2);
    assert!(f.store.recording(id).await.expect("row").is_some());
    if let Some(active) = f.room.active.take() {
        active.stop(true);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_event_the_store_refused_is_stored_later_in_order() {
    // Fails without the retry queue: the mentor's consent was dropped, and
    // the start was refused for want of it.
    let mut f = fixture().await;
    f.room.step(action(MENTOR, RecordingAction::Request)).await;
    f.store.inject(Fault::Fail);
    f.room.step(action(MENTOR, RecordingAction::Consent)).await;
    assert_eq!(f.room.unstored.len(), 1, "the refused event is kept");
    f.store.inject(Fault::None);
    f.room.step(action(MENTEE, RecordingAction::Consent)).await;
    assert!(f.room.unstored.is_empty());
    let active = f
        .room
        .active
        .take()
        .expect("recording with both consents stored");
    let trail = f.store.recording_trail(active.id).await.expect("trail");
    let actions: Vec<(&str, Option<&str>)> = trail
        .iter()
        .map(|e| (e.action.as_str(), e.role.as_deref()))
        .collect();
    assert_eq!(
        &actions[..3],
        &[
            ("request", Some("mentor")),
            ("consent", Some("mentor")),
            ("consent", Some("mentee")),
        ],
        "the trail holds every event, in order"
    );
    active.stop(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_stored_once_everyone_left_and_a_later_room_carries_on() {
    let mut f = fixture().await;
    let id = f.room.id;
    let stored = f.store.call_stats(id).await.expect("read");
    assert!(stored.is_some(), "the joins were queued for the database");
    tokio::time::sleep(Duration::from_millis(300)).await;
    leave_both(&mut f.room).await;
    let first = f.store.call_stats(id).await.expect("read").expect("a row");
    assert!(first.together_ms >= 300, "{first:?}");
    assert!(first.last_left_at_ms.is_some());
    // Nobody sent audio: the media plane answered 0 for both.
    assert_eq!((first.mentor_talk_ms, first.mentee_talk_ms), (0, 0));

    // The room retired; the next join starts another, which starts from
    // what the first stored.
    let mut room = Room::new(
        f.room.info.clone(),
        RecordingPolicy::Allowed,
        f.room.deps.clone(),
    );
    let _sockets = join_both(&mut room).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    leave_both(&mut room).await;
    let both = f.store.call_stats(id).await.expect("read").expect("a row");
    assert_eq!(both.first_joined_at_ms, first.first_joined_at_ms);
    assert_eq!(both.together_since_ms, first.together_since_ms);
    assert!(both.together_ms >= first.together_ms + 300, "{both:?}");
    assert!(both.last_left_at_ms > first.last_left_at_ms);
}

// Without the retry before the last write (or with writes before the
// stored row was read), the earlier call was replaced by this one alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_call_that_could_not_be_read_at_first_is_added_to_not_replaced() {
    let f = fixture().await;
    let info = SessionInfo {
        id: SessionId(uuid::Uuid::new_v4()),
        title: "t".into(),
    };
    let earlier = crate::store::CallStats {
        session: info.id,
        first_joined_at_ms: 1_000,
        together_since_ms: Some(2_000),
        last_left_at_ms: Some(62_000),
        together_ms: 60_000,
        mentor_talk_ms: 20_000,
        mentee_talk_ms: 30_000,
        updated_at_ms: 62_000,
    };
    f.store.save_call_stats(earlier).await.expect("save");
    // The database fails while both join (the read of the earlier call
    // too), then recovers before they leave.
    f.store.inject(Fault::Fail);
    let mut room = Room::new(info.clone(), RecordingPolicy::Allowed, f.room.deps.clone());
    let _sockets = join_both(&mut room).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    f.store.inject(Fault::None);
    leave_both(&mut room).await;
    let stored = f
        .store
        .call_stats(info.id)
        .await
        .expect("read")
        .expect("a row");
    assert_eq!(stored.first_joined_at_ms, 1_000, "{stored:?}");
    assert_eq!(stored.together_since_ms, Some(2_000));
    assert!(stored.together_ms >= 60_200, "{stored:?}");
    assert_eq!(
        (stored.mentor_talk_ms, stored.mentee_talk_ms),
        (20_000, 30_000)
    );
    assert!(stored.last_left_at_ms > Some(62_000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_consent_event_is_stored_once_the_database_is_back_without_a_command() {
    // A quiet call sends no command for minutes: the event must not wait
    // for one, nor go when the room retires. Fails without the retry tick.
    let mut f = fixture().await;
    f.room.step(action(MENTOR, RecordingAction::Request)).await;
    f.store.inject(Fault::Fail);
    f.room.step(action(MENTOR, RecordingAction::Consent)).await;
    assert_eq!(f.room.unstored.len(), 1, "the refused event is kept");
    f.store.inject(Fault::None);
    let (_commands_tx, mut commands) = tokio::sync::mpsc::unbounded_channel();
    let _ =
        tokio::time::timeout(Duration::from_secs(3), f.room.run_until_idle(&mut commands)).await;
    assert!(
        f.room.unstored.is_empty(),
        "stored by the retry, no command needed"
    );
    let trail = f.store.consent_trail(f.room.id).await.expect("trail");
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["request", "consent"]);
}
