//! The WebSocket wire format: one JSON object per text frame, tagged by `"type"`.
//!
//! `ClientMessage` is what browsers and other clients send, `ServerMessage` what
//! Duet sends back. The full protocol, with examples, is in `docs/protocol.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{ParticipantId, Role, SessionId};

/// Largest text frame the server accepts. SDP offers with many codecs stay
/// well under 16 KiB; anything near this is hostile or broken.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 2000;

/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 80;

/// A trickled ICE candidate, shaped like the browser's `RTCIceCandidateInit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    pub candidate: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    #[serde(
        default,
        rename = "sdpMLineIndex",
        skip_serializing_if = "Option::is_none"
    )]
    pub sdp_mline_index: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<String>,
}

/// Longest candidate line accepted.
pub const MAX_CANDIDATE_CHARS: usize = 1024;

/// Largest SDP offer accepted, on the WebSocket and at `/check/offer`. A
/// browser's offer for Duet's three m-lines is 5-12 KiB, with every
/// candidate in it (no trickle) a few KiB more.
pub const MAX_SDP_BYTES: usize = 32 * 1024;

/// ICE candidates one peer connection may give the server, in its offers
/// plus trickled. A browser gathers a handful per network interface; each
/// one costs the media loop connectivity checks, so more is refused.
pub const MAX_CANDIDATES_PER_PEER: usize = 50;

impl IceCandidate {
    /// An empty candidate marks the end of candidates (it is valid and
    /// means nothing more will come).
    pub fn is_end_of_candidates(&self) -> bool {
        self.candidate.is_empty()
    }

    /// Whether the candidate line has the shape of RFC 8839's
    /// `candidate-attribute`: `candidate:<foundation> <component>
    /// <transport> <priority> <address> <port> typ <type> ...`.
    pub fn is_well_formed(&self) -> bool {
        let line = self.candidate.strip_prefix("a=").unwrap_or(&self.candidate);
        let Some(rest) = line.strip_prefix("candidate:") else {
            return false;
        };
        let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
        line.len() <= MAX_CANDIDATE_CHARS
            && fields.len() >= 8
            && fields[1].parse::<u16>().is_ok()
            && fields[3].parse::<u32>().is_ok()
            && fields[5].parse::<u16>().is_ok()
            && fields[6] == "typ"
    }
}

/// Which of a participant's outgoing streams are live (not muted / not off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MediaState {
    pub audio: bool,
    pub video: bool,
    pub screen: bool,
}

impl MediaState {
    /// What a participant is assumed to send when they join: camera and
    /// microphone on, no screen share.
    pub const fn joined_default() -> Self {
        MediaState {
            audio: true,
            video: true,
            screen: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingAction {
    Request,
    Consent,
    Decline,
    Revoke,
}

/// Messages a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    Join {
        token: String,
        #[serde(default)]
        name: Option<String>,
    },
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    Candidate {
        candidate: Option<IceCandidate>,
    },
    Media {
        audio: bool,
        video: bool,
        screen: bool,
    },
    Chat {
        text: String,
    },
    Recording {
        action: RecordingAction,
        /// With `consent`: the hash of the notice the person read, so a
        /// notice changed meanwhile is not consented to unseen.
        #[serde(default)]
        notice_hash: Option<String>,
        /// With `revoke`: also delete what was recorded so far.
        #[serde(default)]
        discard: bool,
    },
    /// Low-bandwidth mode on this page (audio and low-resolution video):
    /// the server caps the other person's video to this participant.
    LowBandwidth {
        on: bool,
    },
    /// Live captions (`captions.rs`): on or off for oneself, or the answer
    /// when the other person asks to caption one's speech.
    Captions {
        action: crate::captions::CaptionsAction,
        /// With `on`: read the other's captions translated into English
        /// (multilingual models only).
        #[serde(default)]
        translate: bool,
    },
    Leave,
    Ping,
}

impl ClientMessage {
    /// The `type` tag, for logs and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMessage::Join { .. } => "join",
            ClientMessage::Offer { .. } => "offer",
            ClientMessage::Answer { .. } => "answer",
            ClientMessage::Candidate { .. } => "candidate",
            ClientMessage::Media { .. } => "media",
            ClientMessage::Chat { .. } => "chat",
            ClientMessage::Recording { .. } => "recording",
            ClientMessage::LowBandwidth { .. } => "low_bandwidth",
            ClientMessage::Captions { .. } => "captions",
            ClientMessage::Leave => "leave",
            ClientMessage::Ping => "ping",
        }
    }
}

/// One side of the call as the other side and the client itself see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    pub id: ParticipantId,
    pub role: Role,
    pub name: String,
    pub media: MediaState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: SessionId,
    pub title: String,
}

/// A STUN/TURN server as the browser's `RTCIceServer` wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Recording state as shown to both participants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingState {
    Off,
    Requested,
    Recording,
}

/// Whether this session may be recorded at all (set when it is created).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingPolicy {
    #[default]
    Off,
    Allowed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingStatus {
    pub state: RecordingState,
    pub policy: RecordingPolicy,
    /// Roles that have consented to the current request.
    pub consented: Vec<Role>,
    /// Who asked for the current request, while one is open or recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<Role>,
    /// The notice both people must read before consenting: what is
    /// recorded, who can access it, how long it is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// SHA-256 (hex) of `notice`; a consent refers to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_hash: Option<String>,
    /// The notice in other languages, as the operator wrote it, by BCP 47
    /// language tag (`es`, `ja`): a client shows the text of its page's
    /// language when there is one, and consents with that text's hash.
    /// Present with `notice`, when the operator wrote any.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub translations: BTreeMap<String, NoticeTranslation>,
}

/// The recording notice in one more language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeTranslation {
    pub notice: String,
    /// SHA-256 (hex) of this `notice`.
    pub notice_hash: String,
}

impl RecordingStatus {
    pub fn off(policy: RecordingPolicy) -> Self {
        RecordingStatus {
            state: RecordingState::Off,
            policy,
            consented: Vec::new(),
            requested_by: None,
            notice: None,
            notice_hash: None,
            translations: BTreeMap::new(),
        }
    }
}

/// Why a participant left the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// They left on purpose.
    Left,
    /// Their connection dropped; they may come back.
    Disconnected,
}

/// Why a session ended for everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// An admin or integration ended it over the API.
    Ended,
    /// Its links expired.
    Expired,
    /// The server is shutting down.
    ServerShutdown,
    /// This server can no longer hold the call but the deployment can (it
    /// drains and another node takes calls, or it lost its lease):
    /// reconnect at once, and the call goes on where it is placed next.
    Moved,
}

/// Messages the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Joined {
        you: ParticipantInfo,
        peer: Option<ParticipantInfo>,
        session: SessionInfo,
        ice_servers: Vec<IceServer>,
        recording: RecordingStatus,
    },
    PeerJoined {
        peer: ParticipantInfo,
    },
    PeerLeft {
        peer: ParticipantInfo,
        reason: LeaveReason,
    },
    PeerMedia {
        peer: ParticipantId,
        role: Role,
        audio: bool,
        video: bool,
        screen: bool,
    },
    Chat {
        from: ChatAuthor,
        text: String,
        /// RFC 3339, UTC.
        at: String,
    },
    Recording(RecordingStatus),
    /// Both people's captions, sent to both pages on each change.
    Captions {
        #[serde(flatten)]
        status: crate::captions::CaptionsStatus,
        /// Whether this server's model can translate into English.
        translation: bool,
    },
    /// What a captioned speaker said, to each page that reads captions.
    /// Lines are numbered per speaker; a line that is not `final` is
    /// replaced by the next one with the same `line` number.
    Caption {
        role: Role,
        name: String,
        line: u64,
        text: String,
        #[serde(rename = "final")]
        is_final: bool,
        /// Translated into English.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        translated: bool,
    },
    /// How one person's connection is doing, sent to both pages when it
    /// changes (`quality.rs`): each shows its own and the other person's.
    Quality {
        role: Role,
        quality: crate::quality::Quality,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<crate::quality::QualityReason>,
    },
    /// Duet holds back video from `role` (`paused`), whose downlink cannot
    /// carry it, or sends it again: sent to both pages on each change, so
    /// the receiver knows why the picture stopped and the sender that their
    /// video does not reach the other person. Audio goes on throughout.
    VideoPaused {
        /// Whose downlink: the person who does not get video.
        role: Role,
        paused: bool,
    },
    SessionEnded {
        reason: EndReason,
    },
    /// The server is shutting down: the call goes on for at most `grace_s`
    /// seconds, then ends with `session_ended` (`server_shutdown`).
    ServerDraining {
        grace_s: u64,
        message: String,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    Pong,
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    Candidate {
        candidate: Option<IceCandidate>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatAuthor {
    pub id: ParticipantId,
    pub role: Role,
    pub name: String,
}

/// Every `error.code` the socket can send. Stable: clients switch on these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not JSON, or not an object with a known shape.
    BadMessage,
    /// The frame is larger than [`MAX_FRAME_BYTES`].
    FrameTooLarge,
    /// The `type` is not one this server knows.
    UnknownType,
    /// The message is valid but not allowed in the connection's state
    /// (e.g. `offer` before `join`, or a second `join`).
    OutOfOrder,
    /// The token is not one this server signed, or was altered.
    InvalidToken,
    /// The link's expiry has passed.
    TokenExpired,
    /// The session was ended or does not exist any more.
    SessionEnded,
    /// Both places in the session are taken by other people.
    SessionFull,
    /// This connection was replaced by the same link opened elsewhere.
    Replaced,
    /// The SDP or candidate could not be used.
    BadSdp,
    /// The SDP is larger than [`MAX_SDP_BYTES`].
    SdpTooLarge,
    /// More than [`MAX_CANDIDATES_PER_PEER`] candidates for one connection.
    TooManyCandidates,
    /// `candidate` messages come faster than the server takes them.
    RateLimited,
    /// The media plane has more work queued than it takes; try again.
    Busy,
    /// A field is out of range (too long a chat message or name, ...).
    InvalidField,
    /// Recording is not possible in this session or state.
    RecordingUnavailable,
    /// Captions are not possible now: no speech model on this server, the
    /// server's cap on captioned speakers is reached, or the action does
    /// not apply.
    CaptionsUnavailable,
    /// The client sent nothing useful for too long.
    Timeout,
    /// The server is shutting down or draining and takes no new joins.
    Unavailable,
    /// Something went wrong inside the server; the message says no more.
    Internal,
}

impl ErrorCode {
    /// The wire name, as in `error.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadMessage => "bad_message",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::OutOfOrder => "out_of_order",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::SessionEnded => "session_ended",
            ErrorCode::SessionFull => "session_full",
            ErrorCode::Replaced => "replaced",
            ErrorCode::BadSdp => "bad_sdp",
            ErrorCode::SdpTooLarge => "sdp_too_large",
            ErrorCode::TooManyCandidates => "too_many_candidates",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Busy => "busy",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::RecordingUnavailable => "recording_unavailable",
            ErrorCode::CaptionsUnavailable => "captions_unavailable",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }
}

impl ServerMessage {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMessage::Error {
            code,
            message: message.into(),
        }
    }
}

/// Why a text frame could not be turned into a [`ClientMessage`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame of {0} bytes is larger than the {MAX_FRAME_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("malformed message: {0}")]
    Malformed(String),
}

impl DecodeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::TooLarge(_) => ErrorCode::FrameTooLarge,
            DecodeError::UnknownType(_) => ErrorCode::UnknownType,
            DecodeError::Malformed(_) => ErrorCode::BadMessage,
        }
    }
}

const KNOWN_TYPES: &[&str] = &[
    "join",
    "offer",
    "answer",
    "candidate",
    "media",
    "chat",
    "recording",
    "low_bandwidth",
    "captions",
    "leave",
    "ping",
];

/// Parses one text frame, telling apart "too big", "unknown type" and
/// "malformed" so the client gets an error it can act on.
pub fn decode_client_message(text: &str) -> Result<ClientMessage, DecodeError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(DecodeError::TooLarge(text.len()));
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    let Some(kind) = value.get("type").and_then(|t| t.as_str()) else {
        return Err(DecodeError::Malformed(
            "expected a JSON object with a string \"type\"".into(),
        ));
    };
    if !KNOWN_TYPES.contains(&kind) {
        let shown: String = kind.chars().take(40).collect();
        return Err(DecodeError::UnknownType(shown));
    }
    serde_json::from_value(value).map_err(|e| DecodeError::Malformed(e.to_string()))
}

pub fn encode_server_message(msg: &ServerMessage) -> String {
    // Serializing these plain data types cannot fail: no maps with non-string
    // keys, no custom serializers.
    serde_json::to_string(msg).unwrap_or_else(|_| {
        r#"{"type":"error","code":"internal","message":"encoding failed"}"#.to_string()
    })
}

#[cfg(test)]
mod tests;
