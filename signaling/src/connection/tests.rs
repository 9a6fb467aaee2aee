use super::*;
use crate::protocol::{MediaState, RecordingAction};

fn every_message() -> Vec<ClientMessage> {
    let m = MediaState::default();
    vec![
        ClientMessage::Join {
            token: "t".into(),
            name: None,
        },
        ClientMessage::Offer { sdp: "v=0".into() },
        ClientMessage::Answer { sdp: "v=0".into() },
        ClientMessage::Candidate { candidate: None },
        ClientMessage::Media {
            audio: m.audio,
            video: m.video,
            screen: m.screen,
        },
        ClientMessage::Chat { text: "hi".into() },
        ClientMessage::Recording {
            action: RecordingAction::Request,
            notice_hash: None,
            discard: false,
        },
        ClientMessage::Leave,
        ClientMessage::Ping,
    ]
}

#[test]
fn before_join_only_join_and_ping_pass() {
    for msg in every_message() {
        let ok = ConnectionPhase::AwaitingJoin.check(&msg).is_ok();
        let expected = matches!(msg, ClientMessage::Join { .. } | ClientMessage::Ping);
        assert_eq!(ok, expected, "{msg:?}");
    }
}

#[test]
fn after_join_everything_but_join_passes() {
    for msg in every_message() {
        let ok = ConnectionPhase::Joined.check(&msg).is_ok();
        assert_eq!(ok, !matches!(msg, ClientMessage::Join { .. }), "{msg:?}");
    }
}

#[test]
fn while_joining_only_ping_passes() {
    for msg in every_message() {
        let res = ConnectionPhase::Joining.check(&msg);
        assert_eq!(res.is_ok(), matches!(msg, ClientMessage::Ping), "{msg:?}");
        if let Err((code, _)) = res {
            assert_eq!(code, ErrorCode::OutOfOrder);
        }
    }
}

#[test]
fn the_phases_follow_join_then_admission_and_never_go_back() {
    use ConnectionPhase::*;
    assert_eq!(AwaitingJoin.join_sent(), Joining);
    assert_eq!(Joining.admitted(), Joined);
    // Admission without a join sent, or twice, changes nothing.
    assert_eq!(AwaitingJoin.admitted(), AwaitingJoin);
    assert_eq!(Joined.join_sent(), Joined);
    assert_eq!(Closed.admitted(), Closed);
    assert_eq!(Closed.join_sent(), Closed);
    assert!(AwaitingJoin.awaits_join());
    assert!(!Joining.awaits_join() && !Joined.awaits_join() && !Closed.awaits_join());
}

#[test]
fn closed_accepts_only_ping() {
    for msg in every_message() {
        let res = ConnectionPhase::Closed.check(&msg);
        assert_eq!(res.is_ok(), matches!(msg, ClientMessage::Ping), "{msg:?}");
        if let Err((code, _)) = res {
            assert_eq!(code, ErrorCode::OutOfOrder);
        }
    }
}
