use super::*;

#[test]
fn error_code_names_are_the_wire_names() {
    use ErrorCode::*;
    for code in [
        BadMessage,
        FrameTooLarge,
        UnknownType,
        OutOfOrder,
        InvalidToken,
        TokenExpired,
        SessionEnded,
        SessionFull,
        Replaced,
        BadSdp,
        SdpTooLarge,
        TooManyCandidates,
        RateLimited,
        Busy,
        InvalidField,
        RecordingUnavailable,
        Timeout,
        Unavailable,
        Internal,
    ] {
        assert_eq!(
            serde_json::to_value(code).expect("json"),
            serde_json::Value::String(code.as_str().to_string())
        );
    }
}

#[test]
fn decodes_every_client_message() {
    let cases = [
        r#"{"type":"join","token":"t"}"#,
        r#"{"type":"join","token":"t","name":"Ada"}"#,
        r#"{"type":"offer","sdp":"v=0"}"#,
        r#"{"type":"answer","sdp":"v=0"}"#,
        r#"{"type":"candidate","candidate":null}"#,
        r#"{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}}"#,
        r#"{"type":"media","audio":true,"video":false,"screen":false}"#,
        r#"{"type":"chat","text":"hi"}"#,
        r#"{"type":"recording","action":"consent"}"#,
        r#"{"type":"leave"}"#,
        r#"{"type":"ping"}"#,
    ];
    for case in cases {
        let msg = decode_client_message(case).expect(case);
        let kind = serde_json::from_str::<serde_json::Value>(case).expect("json")["type"]
            .as_str()
            .expect("type")
            .to_string();
        assert_eq!(msg.kind(), kind);
    }
}

#[test]
fn candidate_keeps_browser_field_names() {
    let msg = decode_client_message(
        r#"{"type":"candidate","candidate":{"candidate":"c","sdpMid":"1","sdpMLineIndex":1,"usernameFragment":"u"}}"#,
    )
    .expect("decodes");
    let ClientMessage::Candidate { candidate: Some(c) } = msg else {
        panic!("not a candidate: {msg:?}");
    };
    assert_eq!(c.sdp_mid.as_deref(), Some("1"));
    assert_eq!(c.sdp_mline_index, Some(1));
    assert_eq!(c.username_fragment.as_deref(), Some("u"));
    let back = serde_json::to_value(&c).expect("encodes");
    assert_eq!(back["sdpMLineIndex"], 1);
}

#[test]
fn candidates_are_checked_for_shape() {
    let c = |s: &str| IceCandidate {
        candidate: s.into(),
        sdp_mid: None,
        sdp_mline_index: None,
        username_fragment: None,
    };
    assert!(c("candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host").is_well_formed());
    assert!(
        c("a=candidate:1 1 UDP 2122260223 10.0.0.2 9 typ host tcptype active").is_well_formed()
    );
    assert!(c("candidate:1 1 udp 1 abc.local 9 typ host").is_well_formed());
    assert!(c("").is_end_of_candidates());
    for bad in [
        "",
        "not a candidate",
        "candidate:1 1 udp",
        "candidate:1 x udp 1 1.2.3.4 9 typ host",
        "candidate:1 1 udp 1 1.2.3.4 port typ host",
        "candidate:1 1 udp 1 1.2.3.4 9 type host",
    ] {
        assert!(!c(bad).is_well_formed(), "{bad:?}");
    }
    let long = format!(
        "candidate:1 1 udp 1 1.2.3.4 9 typ host {}",
        "x".repeat(2000)
    );
    assert!(!c(&long).is_well_formed());
}

#[test]
fn tells_bad_frames_apart() {
    assert_eq!(
        decode_client_message("not json").map_err(|e| e.code()),
        Err(ErrorCode::BadMessage)
    );
    assert_eq!(
        decode_client_message("[1,2]").map_err(|e| e.code()),
        Err(ErrorCode::BadMessage)
    );
    assert_eq!(
        decode_client_message(r#"{"type":"dance"}"#).map_err(|e| e.code()),
        Err(ErrorCode::UnknownType)
    );
    assert_eq!(
        decode_client_message(r#"{"type":"chat"}"#).map_err(|e| e.code()),
        Err(ErrorCode::BadMessage)
    );
    assert_eq!(
        decode_client_message(r#"{"type":"chat","text":"x","extra":1}"#).map_err(|e| e.code()),
        Err(ErrorCode::BadMessage)
    );
    let huge = format!(
        r#"{{"type":"chat","text":"{}"}}"#,
        "a".repeat(MAX_FRAME_BYTES)
    );
    assert_eq!(
        decode_client_message(&huge).map_err(|e| e.code()),
        Err(ErrorCode::FrameTooLarge)
    );
}

#[test]
fn server_messages_are_tagged_snake_case() {
    let v: serde_json::Value =
        serde_json::from_str(&encode_server_message(&ServerMessage::SessionEnded {
            reason: EndReason::ServerShutdown,
        }))
        .expect("json");
    assert_eq!(v["type"], "session_ended");
    assert_eq!(v["reason"], "server_shutdown");
    let v: serde_json::Value = serde_json::from_str(&encode_server_message(
        &ServerMessage::Recording(RecordingStatus::off(RecordingPolicy::Allowed)),
    ))
    .expect("json");
    assert_eq!(v["type"], "recording");
    assert_eq!(v["state"], "off");
    assert_eq!(v["policy"], "allowed");
    let v: serde_json::Value = serde_json::from_str(&encode_server_message(&ServerMessage::error(
        ErrorCode::SessionFull,
        "full",
    )))
    .expect("json");
    assert_eq!(v["code"], "session_full");
}

#[test]
fn low_bandwidth_needs_its_flag_and_nothing_else() {
    assert_eq!(
        decode_client_message(r#"{"type":"low_bandwidth","on":true}"#).expect("valid"),
        ClientMessage::LowBandwidth { on: true }
    );
    for bad in [
        r#"{"type":"low_bandwidth"}"#,
        r#"{"type":"low_bandwidth","on":"yes"}"#,
        r#"{"type":"low_bandwidth","on":1}"#,
    ] {
        assert!(
            matches!(decode_client_message(bad), Err(DecodeError::Malformed(_))),
            "{bad}"
        );
    }
    assert_eq!(
        ClientMessage::LowBandwidth { on: false }.kind(),
        "low_bandwidth"
    );
}

#[test]
fn quality_goes_out_in_plain_words() {
    let msg = ServerMessage::Quality {
        role: crate::Role::Mentee,
        quality: crate::quality::Quality::Bad,
        reason: Some(crate::quality::QualityReason::Loss),
    };
    assert_eq!(
        serde_json::to_value(&msg).expect("json"),
        serde_json::json!({"type": "quality", "role": "mentee", "quality": "bad", "reason": "loss"})
    );
    let good = ServerMessage::Quality {
        role: crate::Role::Mentor,
        quality: crate::quality::Quality::Good,
        reason: None,
    };
    assert_eq!(
        serde_json::to_value(&good).expect("json"),
        serde_json::json!({"type": "quality", "role": "mentor", "quality": "good"})
    );
}

#[test]
fn video_paused_names_whose_downlink() {
    let msg = ServerMessage::VideoPaused {
        role: crate::Role::Mentee,
        paused: true,
    };
    assert_eq!(
        serde_json::to_value(&msg).expect("json"),
        serde_json::json!({"type": "video_paused", "role": "mentee", "paused": true})
    );
    let back: ServerMessage =
        serde_json::from_str(r#"{"type":"video_paused","role":"mentor","paused":false}"#)
            .expect("parses");
    assert_eq!(
        back,
        ServerMessage::VideoPaused {
            role: crate::Role::Mentor,
            paused: false
        }
    );
}

#[test]
fn captions_actions_and_lines_on_the_wire() {
    use crate::captions::{CaptionsAction, CaptionsStatus};
    assert_eq!(
        decode_client_message(r#"{"type":"captions","action":"on","translate":true}"#)
            .expect("valid"),
        ClientMessage::Captions {
            action: CaptionsAction::On,
            translate: true
        }
    );
    assert_eq!(
        decode_client_message(r#"{"type":"captions","action":"accept"}"#).expect("valid"),
        ClientMessage::Captions {
            action: CaptionsAction::Accept,
            translate: false
        }
    );
    for bad in [
        r#"{"type":"captions"}"#,
        r#"{"type":"captions","action":"maybe"}"#,
        r#"{"type":"captions","action":"on","loud":true}"#,
    ] {
        assert!(
            matches!(decode_client_message(bad), Err(DecodeError::Malformed(_))),
            "{bad}"
        );
    }
    let status = serde_json::to_value(ServerMessage::Captions {
        status: CaptionsStatus::default(),
        translation: false,
    })
    .expect("json");
    assert_eq!(status["type"], "captions");
    assert_eq!(status["mentee"]["asked"], false);
    let line = serde_json::to_value(ServerMessage::Caption {
        role: crate::Role::Mentee,
        name: "Grace".into(),
        line: 2,
        text: "Hello.".into(),
        is_final: true,
        translated: false,
    })
    .expect("json");
    assert_eq!(
        line,
        serde_json::json!({"type": "caption", "role": "mentee", "name": "Grace",
            "line": 2, "text": "Hello.", "final": true})
    );
}
