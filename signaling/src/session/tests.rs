//! Unit tests for [`Session`]: every rule about who is admitted, who is told
//! what and in which order, checked on the exact [`Output`]s.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::ids::SessionId;
use crate::protocol::{RecordingState, encode_server_message};

// ---------------------------------------------------------------------------
// Fixtures and helpers
// ---------------------------------------------------------------------------

const MENTOR_LINK: &str = "mentor-link";
const OTHER_MENTOR_LINK: &str = "other-mentor-link";
const MENTEE_LINK: &str = "mentee-link";
const OTHER_MENTEE_LINK: &str = "other-mentee-link";

/// The connection the mentor joins on in `with_mentor` / `with_both`.
const MENTOR_CONN: ConnId = ConnId(1);
/// The connection the mentee joins on in `with_both`.
const MENTEE_CONN: ConnId = ConnId(2);
/// A second tab opened with an existing link.
const NEW_TAB: ConnId = ConnId(3);
/// Someone with a different link, or no place at all.
const STRANGER: ConnId = ConnId(4);

const EPOCH: UnixMillis = UnixMillis(0);

fn session_info() -> SessionInfo {
    SessionInfo {
        id: SessionId(Uuid::from_u128(0x5e55_1011)),
        title: "Rust office hours".to_string(),
    }
}

fn new_session() -> Session {
    Session::new(session_info(), RecordingPolicy::Off)
}

/// The participant id the IO layer hands in for a join on `conn`: one per
/// connection, so a rejoin on a new connection gets a new id.
fn pid(conn: ConnId) -> ParticipantId {
    ParticipantId(Uuid::from_u128(1000 + u128::from(conn.0)))
}

fn request(conn: ConnId, role: Role, link: &str, name: &str) -> JoinRequest {
    JoinRequest {
        conn,
        participant: pid(conn),
        role,
        link: LinkId(link.to_string()),
        name: name.to_string(),
        ice_servers: Vec::new(),
    }
}

/// Everything the session queued, oldest first. Error messages are human
/// sentences that may be reworded: they are checked to be non-empty, then
/// blanked so whole outputs compare equal to [`error_to`].
fn drain(s: &mut Session) -> Vec<Output> {
    std::iter::from_fn(|| s.poll_output())
        .map(|o| match o {
            Output::Send {
                to,
                msg: ServerMessage::Error { code, message },
            } => {
                assert!(
                    !message.trim().is_empty(),
                    "error {code:?} to {to:?} has no message"
                );
                error_to(to, code)
            }
            other => other,
        })
        .collect()
}

fn handle_at(s: &mut Session, now: UnixMillis, input: Input) -> Vec<Output> {
    s.handle(now, input);
    drain(s)
}

fn handle(s: &mut Session, input: Input) -> Vec<Output> {
    handle_at(s, EPOCH, input)
}

fn join(s: &mut Session, conn: ConnId, role: Role, link: &str, name: &str) -> Vec<Output> {
    handle(s, Input::Join(request(conn, role, link, name)))
}

fn media(s: &mut Session, conn: ConnId, state: MediaState) -> Vec<Output> {
    handle(s, Input::Media { conn, state })
}

fn chat(s: &mut Session, conn: ConnId, text: &str) -> Vec<Output> {
    handle(
        s,
        Input::Chat {
            conn,
            text: text.to_string(),
        },
    )
}

fn leave(s: &mut Session, conn: ConnId) -> Vec<Output> {
    handle(s, Input::Leave { conn })
}

fn disconnect(s: &mut Session, conn: ConnId) -> Vec<Output> {
    handle(s, Input::Disconnected { conn })
}

fn end(s: &mut Session, reason: EndReason) -> Vec<Output> {
    handle(s, Input::End { reason })
}

/// Mentor "Ada" joined on `MENTOR_CONN`, outputs drained.
fn with_mentor() -> Session {
    let mut s = new_session();
    join(&mut s, MENTOR_CONN, Role::Mentor, MENTOR_LINK, "Ada");
    s
}

/// Mentor "Ada" on `MENTOR_CONN` and mentee "Bob" on `MENTEE_CONN`, drained.
fn with_both() -> Session {
    let mut s = with_mentor();
    join(&mut s, MENTEE_CONN, Role::Mentee, MENTEE_LINK, "Bob");
    s
}

fn send(to: ConnId, msg: ServerMessage) -> Output {
    Output::Send { to, msg }
}

fn error_to(to: ConnId, code: ErrorCode) -> Output {
    send(
        to,
        ServerMessage::Error {
            code,
            message: String::new(),
        },
    )
}

fn close(conn: ConnId) -> Output {
    Output::Close { conn }
}

fn admitted(conn: ConnId, role: Role) -> Output {
    Output::Admitted {
        conn,
        role,
        participant: pid(conn),
    }
}

fn removed(conn: ConnId, role: Role) -> Output {
    Output::Removed { conn, role }
}

/// How a participant who joined on `conn` is described to everyone.
fn info(conn: ConnId, role: Role, name: &str) -> ParticipantInfo {
    ParticipantInfo {
        id: pid(conn),
        role,
        name: name.to_string(),
        media: MediaState::joined_default(),
    }
}

fn ada() -> ParticipantInfo {
    info(MENTOR_CONN, Role::Mentor, "Ada")
}

fn bob() -> ParticipantInfo {
    info(MENTEE_CONN, Role::Mentee, "Bob")
}

/// `joined` as sent in a `RecordingPolicy::Off` session to a participant
/// without ICE servers.
fn joined(you: ParticipantInfo, peer: Option<ParticipantInfo>) -> ServerMessage {
    ServerMessage::Joined {
        you,
        peer,
        session: session_info(),
        ice_servers: Vec::new(),
        recording: RecordingStatus::off(RecordingPolicy::Off),
    }
}

fn peer_joined(peer: ParticipantInfo) -> ServerMessage {
    ServerMessage::PeerJoined { peer }
}

fn peer_left(peer: ParticipantInfo, reason: LeaveReason) -> ServerMessage {
    ServerMessage::PeerLeft { peer, reason }
}

fn chat_msg(author: &ParticipantInfo, text: &str, at: &str) -> ServerMessage {
    ServerMessage::Chat {
        from: ChatAuthor {
            id: author.id,
            role: author.role,
            name: author.name.clone(),
        },
        text: text.to_string(),
        at: at.to_string(),
    }
}

/// The name a mentor is admitted with when asking for `raw`.
fn admitted_name(role: Role, raw: &str) -> String {
    let mut s = new_session();
    let link = match role {
        Role::Mentor => MENTOR_LINK,
        Role::Mentee => MENTEE_LINK,
    };
    let out = join(&mut s, MENTOR_CONN, role, link, raw);
    let name = s.participant(role).expect("admitted").name.clone();
    let Some(Output::Send {
        msg: ServerMessage::Joined { you, .. },
        ..
    }) = out.get(1)
    else {
        panic!("no joined in {out:?}");
    };
    assert_eq!(you.name, name, "joined.you.name and participant() disagree");
    name
}

const MUTED: MediaState = MediaState {
    audio: false,
    video: true,
    screen: true,
};

// ---------------------------------------------------------------------------
// Admission
// ---------------------------------------------------------------------------

#[test]
fn mentor_alone_is_admitted_and_told_there_is_no_peer() {
    let mut s = new_session();
    let out = join(&mut s, MENTOR_CONN, Role::Mentor, MENTOR_LINK, "Ada");
    assert_eq!(
        out,
        vec![
            admitted(MENTOR_CONN, Role::Mentor),
            send(MENTOR_CONN, joined(ada(), None)),
        ]
    );
    assert_eq!(s.role_of(MENTOR_CONN), Some(Role::Mentor));
    assert_eq!(s.conn_of(Role::Mentor), Some(MENTOR_CONN));
    assert_eq!(s.participant(Role::Mentor), Some(&ada()));
    assert_eq!(s.conn_of(Role::Mentee), None);
    assert_eq!(s.participant(Role::Mentee), None);
    assert!(!s.is_ended());
}

#[test]
fn joined_without_peer_encodes_peer_as_null() {
    let json: serde_json::Value =
        serde_json::from_str(&encode_server_message(&joined(ada(), None))).expect("json");
    assert_eq!(json["type"], "joined");
    assert!(json["peer"].is_null(), "{json}");
    assert_eq!(json["you"]["role"], "mentor");
}

#[test]
fn mentee_joining_later_sees_the_mentor_and_the_mentor_gets_peer_joined() {
    let mut s = with_mentor();
    let out = join(&mut s, MENTEE_CONN, Role::Mentee, MENTEE_LINK, "Bob");
    assert_eq!(
        out,
        vec![
            admitted(MENTEE_CONN, Role::Mentee),
            send(MENTEE_CONN, joined(bob(), Some(ada()))),
            send(MENTOR_CONN, peer_joined(bob())),
        ]
    );
    assert_eq!(s.conn_of(Role::Mentor), Some(MENTOR_CONN));
    assert_eq!(s.conn_of(Role::Mentee), Some(MENTEE_CONN));
}

#[test]
fn mentor_joining_after_the_mentee_sees_the_mentee() {
    let mut s = new_session();
    join(&mut s, MENTEE_CONN, Role::Mentee, MENTEE_LINK, "Bob");
    let out = join(&mut s, MENTOR_CONN, Role::Mentor, MENTOR_LINK, "Ada");
    assert_eq!(
        out,
        vec![
            admitted(MENTOR_CONN, Role::Mentor),
            send(MENTOR_CONN, joined(ada(), Some(bob()))),
            send(MENTEE_CONN, peer_joined(ada())),
        ]
    );
}

#[test]
fn joined_passes_each_participants_own_ice_servers_through() {
    let turn_for = |user: &str| IceServer {
        urls: vec![
            "stun:turn.example.org:3478".to_string(),
            "turn:turn.example.org:3478?transport=udp".to_string(),
        ],
        username: Some(user.to_string()),
        credential: Some(format!("secret-of-{user}")),
    };
    let mut s = new_session();
    let mut req = request(MENTOR_CONN, Role::Mentor, MENTOR_LINK, "Ada");
    req.ice_servers = vec![turn_for("ada")];
    let out = handle(&mut s, Input::Join(req));
    let Some(Output::Send {
        msg: ServerMessage::Joined { ice_servers, .. },
        ..
    }) = out.get(1)
    else {
        panic!("no joined in {out:?}");
    };
    assert_eq!(ice_servers, &vec![turn_for("ada")]);

    let mut req = request(MENTEE_CONN, Role::Mentee, MENTEE_LINK, "Bob");
    req.ice_servers = vec![turn_for("bob")];
    let out = handle(&mut s, Input::Join(req));
    let Some(Output::Send {
        to,
        msg: ServerMessage::Joined { ice_servers, .. },
    }) = out.get(1)
    else {
        panic!("no joined in {out:?}");
    };
    assert_eq!(*to, MENTEE_CONN);
    assert_eq!(ice_servers, &vec![turn_for("bob")]);
}

#[test]
fn joined_reports_recording_off_with_the_sessions_policy() {
    for policy in [RecordingPolicy::Off, RecordingPolicy::Allowed] {
        let mut s = Session::new(session_info(), policy);
        let out = join(&mut s, MENTOR_CONN, Role::Mentor, MENTOR_LINK, "Ada");
        let Some(Output::Send {
            msg: ServerMessage::Joined { recording, .. },
            ..
        }) = out.get(1)
        else {
            panic!("no joined in {out:?}");
        };
        assert_eq!(
            recording,
            &RecordingStatus {
                state: RecordingState::Off,
                policy,
                consented: Vec::new(),
                requested_by: None,
                notice: None,
                notice_hash: None,
                translations: Default::default(),
            }
        );
    }
}

#[test]
fn joined_carries_the_session_info() {
    let mut s = new_session();
    assert_eq!(s.info(), &session_info());
    let out = join(&mut s, MENTOR_CONN, Role::Mentor, MENTOR_LINK, "Ada");
    let Some(Output::Send {
        msg: ServerMessage::Joined { session, .. },
        ..
    }) = out.get(1)
    else {
        panic!("no joined in {out:?}");
    };
    assert_eq!(session, &session_info());
}

#[test]
fn names_are_trimmed() {
    assert_eq!(
        admitted_name(Role::Mentor, "  Ada Lovelace \t\n"),
        "Ada Lovelace"
    );
    assert_eq!(admitted_name(Role::Mentee, "\u{3000}Bob\u{a0}"), "Bob");
}

#[test]
fn control_characters_are_stripped_from_names() {
    assert_eq!(
        admitted_name(Role::Mentor, "A\u{0}da\u{7}\u{1b}[31m Love\u{7f}lace\u{9f}"),
        "Ada[31m Lovelace"
    );
    assert_eq!(admitted_name(Role::Mentor, "Ada\nLovelace"), "AdaLovelace");
}

#[test]
fn names_are_trimmed_after_control_characters_are_stripped() {
    // Whitespace hidden behind control characters must not survive.
    assert_eq!(admitted_name(Role::Mentor, "\u{7} Ada \u{1b}"), "Ada");
    assert_eq!(admitted_name(Role::Mentor, "\u{0}\u{0}  Ada"), "Ada");
}

#[test]
fn names_are_capped_at_max_name_chars_counting_chars_not_bytes() {
    let long = "é".repeat(MAX_NAME_CHARS + 10);
    assert_eq!(
        admitted_name(Role::Mentor, &long),
        "é".repeat(MAX_NAME_CHARS)
    );
    let exact = "ß".repeat(MAX_NAME_CHARS);
    assert_eq!(admitted_name(Role::Mentor, &exact), exact);
    // Leading whitespace does not count towards the cap.
    let padded = format!("     {exact}");
    assert_eq!(admitted_name(Role::Mentor, &padded), exact);
}

#[test]
fn a_capped_name_does_not_end_in_whitespace() {
    let raw = format!("{} tail", "a".repeat(MAX_NAME_CHARS - 1));
    assert_eq!(
        admitted_name(Role::Mentor, &raw),
        "a".repeat(MAX_NAME_CHARS - 1)
    );
}

#[test]
fn blank_names_fall_back_to_the_role() {
    for raw in [
        "",
        "   ",
        "\t\n",
        "\u{0}\u{1b}",
        "\u{1b} \u{7}",
        " \u{7f} \u{0} ",
    ] {
        assert_eq!(admitted_name(Role::Mentor, raw), "Mentor", "{raw:?}");
        assert_eq!(admitted_name(Role::Mentee, raw), "Mentee", "{raw:?}");
    }
}

// ---------------------------------------------------------------------------
// Replace on rejoin
// ---------------------------------------------------------------------------

#[test]
fn same_link_rejoin_replaces_the_old_connection() {
    let mut s = with_mentor();
    let out = join(&mut s, NEW_TAB, Role::Mentor, MENTOR_LINK, "Ada");
    assert_eq!(
        out,
        vec![
            error_to(MENTOR_CONN, ErrorCode::Replaced),
            close(MENTOR_CONN),
            removed(MENTOR_CONN, Role::Mentor),
            admitted(NEW_TAB, Role::Mentor),
            send(NEW_TAB, joined(info(NEW_TAB, Role::Mentor, "Ada"), None)),
        ]
    );
    assert_eq!(s.role_of(MENTOR_CONN), None);
    assert_eq!(s.role_of(NEW_TAB), Some(Role::Mentor));
    assert_eq!(s.conn_of(Role::Mentor), Some(NEW_TAB));
}

#[test]
fn replacement_tells_the_peer_peer_joined_with_the_new_participant_and_no_peer_left() {
    let mut s = with_both();
    let out = join(&mut s, NEW_TAB, Role::Mentor, MENTOR_LINK, "Ada on phone");
    let new_ada = info(NEW_TAB, Role::Mentor, "Ada on phone");
    assert_ne!(new_ada.id, ada().id);
    assert_eq!(
        out,
        vec![
            error_to(MENTOR_CONN, ErrorCode::Replaced),
            close(MENTOR_CONN),
            removed(MENTOR_CONN, Role::Mentor),
            admitted(NEW_TAB, Role::Mentor),
            send(NEW_TAB, joined(new_ada.clone(), Some(bob()))),
            send(MENTEE_CONN, peer_joined(new_ada)),
        ]
    );
    assert!(
        !out.iter().any(|o| matches!(
            o,
            Output::Send {
                msg: ServerMessage::PeerLeft { .. },
                ..
            }
        )),
        "a replacement is not a departure"
    );
    assert_eq!(s.conn_of(Role::Mentee), Some(MENTEE_CONN));
}

#[test]
fn mentee_rejoining_with_the_same_link_replaces_the_mentee() {
    let mut s = with_both();
    let out = join(&mut s, NEW_TAB, Role::Mentee, MENTEE_LINK, "Bob");
    let new_bob = info(NEW_TAB, Role::Mentee, "Bob");
    assert_eq!(
        out,
        vec![
            error_to(MENTEE_CONN, ErrorCode::Replaced),
            close(MENTEE_CONN),
            removed(MENTEE_CONN, Role::Mentee),
            admitted(NEW_TAB, Role::Mentee),
            send(NEW_TAB, joined(new_bob.clone(), Some(ada()))),
            send(MENTOR_CONN, peer_joined(new_bob)),
        ]
    );
}

#[test]
fn replacement_starts_from_the_default_media_state() {
    let mut s = with_both();
    media(&mut s, MENTOR_CONN, MUTED);
    join(&mut s, NEW_TAB, Role::Mentor, MENTOR_LINK, "Ada");
    assert_eq!(
        s.participant(Role::Mentor).map(|p| p.media),
        Some(MediaState::joined_default())
    );
}

#[test]
fn stale_replaced_connection_closing_does_not_remove_the_new_one() {
    let mut s = with_both();
    join(&mut s, NEW_TAB, Role::Mentor, MENTOR_LINK, "Ada");
    assert_eq!(leave(&mut s, MENTOR_CONN), vec![]);
    assert_eq!(disconnect(&mut s, MENTOR_CONN), vec![]);
    assert_eq!(s.conn_of(Role::Mentor), Some(NEW_TAB));
    assert_eq!(s.conn_of(Role::Mentee), Some(MENTEE_CONN));
}

#[test]
fn replaced_connection_can_no_longer_chat_or_send_media() {
    let mut s = with_both();
    join(&mut s, NEW_TAB, Role::Mentor, MENTOR_LINK, "Ada");
    assert_eq!(
        chat(&mut s, MENTOR_CONN, "still here?"),
        vec![error_to(MENTOR_CONN, ErrorCode::OutOfOrder)]
    );
    assert_eq!(
        media(&mut s, MENTOR_CONN, MUTED),
        vec![error_to(MENTOR_CONN, ErrorCode::OutOfOrder)]
    );
    assert_eq!(
        s.participant(Role::Mentor).map(|p| p.media),
        Some(MediaState::joined_default())
    );
}

#[test]
fn the_replaced_link_can_take_its_place_back_from_the_newer_tab() {
    // Newest wins, every time: the old tab reconnecting on a fresh socket
    // replaces the tab that replaced it.
    let mut s = with_mentor();
    join(&mut s, NEW_TAB, Role::Mentor, MENTOR_LINK, "Ada");
    let out = join(&mut s, ConnId(10), Role::Mentor, MENTOR_LINK, "Ada");
    assert_eq!(
        out,
        vec![
            error_to(NEW_TAB, ErrorCode::Replaced),
            close(NEW_TAB),
            removed(NEW_TAB, Role::Mentor),
            admitted(ConnId(10), Role::Mentor),
            send(
                ConnId(10),
                joined(info(ConnId(10), Role::Mentor, "Ada"), None)
            ),
        ]
    );
}

// ---------------------------------------------------------------------------
// Third party
// ---------------------------------------------------------------------------

#[test]
fn different_link_for_a_held_role_is_refused_as_session_full() {
    let mut s = with_both();
    let out = join(&mut s, STRANGER, Role::Mentor, OTHER_MENTOR_LINK, "Eve");
    assert_eq!(
        out,
        vec![error_to(STRANGER, ErrorCode::SessionFull), close(STRANGER)]
    );
    assert_eq!(s.role_of(STRANGER), None);
    assert_eq!(s.conn_of(Role::Mentor), Some(MENTOR_CONN));
    assert_eq!(s.participant(Role::Mentor), Some(&ada()));
    assert_eq!(s.participant(Role::Mentee), Some(&bob()));
}

#[test]
fn third_party_is_refused_even_when_the_holder_is_alone() {
    let mut s = with_mentor();
    let out = join(&mut s, STRANGER, Role::Mentor, OTHER_MENTOR_LINK, "Eve");
    assert_eq!(
        out,
        vec![error_to(STRANGER, ErrorCode::SessionFull), close(STRANGER)]
    );
    assert_eq!(s.conn_of(Role::Mentor), Some(MENTOR_CONN));
}

#[test]
fn third_party_mentee_is_refused_as_session_full() {
    let mut s = with_both();
    let out = join(&mut s, STRANGER, Role::Mentee, OTHER_MENTEE_LINK, "Eve");
    assert_eq!(
        out,
        vec![error_to(STRANGER, ErrorCode::SessionFull), close(STRANGER)]
    );
    assert_eq!(s.conn_of(Role::Mentee), Some(MENTEE_CONN));
}

#[test]
fn other_link_may_join_once_the_holder_has_left() {
    let mut s = with_both();
    leave(&mut s, MENTOR_CONN);
    let out = join(&mut s, STRANGER, Role::Mentor, OTHER_MENTOR_LINK, "Eve");
    let eve = info(STRANGER, Role::Mentor, "Eve");
    assert_eq!(
        out,
        vec![
            admitted(STRANGER, Role::Mentor),
            send(STRANGER, joined(eve.clone(), Some(bob()))),
            send(MENTEE_CONN, peer_joined(eve)),
        ]
    );
}

#[test]
fn other_link_may_join_once_the_holder_has_disconnected() {
    let mut s = with_mentor();
    disconnect(&mut s, MENTOR_CONN);
    let out = join(&mut s, STRANGER, Role::Mentor, OTHER_MENTOR_LINK, "Eve");
    assert_eq!(
        out,
        vec![
            admitted(STRANGER, Role::Mentor),
            send(STRANGER, joined(info(STRANGER, Role::Mentor, "Eve"), None)),
        ]
    );
}

#[test]
fn same_link_rejoining_after_a_disconnect_is_a_plain_join() {
    let mut s = with_both();
    disconnect(&mut s, MENTEE_CONN);
    let out = join(&mut s, NEW_TAB, Role::Mentee, MENTEE_LINK, "Bob");
    let new_bob = info(NEW_TAB, Role::Mentee, "Bob");
    assert_eq!(
        out,
        vec![
            admitted(NEW_TAB, Role::Mentee),
            send(NEW_TAB, joined(new_bob.clone(), Some(ada()))),
            send(MENTOR_CONN, peer_joined(new_bob)),
        ]
    );
}

// ---------------------------------------------------------------------------
// A second join on a joined connection
// ---------------------------------------------------------------------------

#[test]
fn joining_again_on_a_joined_connection_is_out_of_order_and_changes_nothing() {
    let mut s = with_both();
    for (role, link) in [
        (Role::Mentor, MENTOR_LINK),
        (Role::Mentor, OTHER_MENTOR_LINK),
        (Role::Mentee, MENTEE_LINK),
        (Role::Mentee, OTHER_MENTEE_LINK),
    ] {
        let out = join(&mut s, MENTOR_CONN, role, link, "Ada again");
        assert_eq!(
            out,
            vec![error_to(MENTOR_CONN, ErrorCode::OutOfOrder)],
            "{role} {link}"
        );
        assert_eq!(s.participant(Role::Mentor), Some(&ada()));
        assert_eq!(s.participant(Role::Mentee), Some(&bob()));
    }
}

#[test]
fn joining_again_when_alone_is_out_of_order() {
    let mut s = with_mentor();
    let out = join(&mut s, MENTOR_CONN, Role::Mentee, MENTEE_LINK, "Ada");
    assert_eq!(out, vec![error_to(MENTOR_CONN, ErrorCode::OutOfOrder)]);
    assert_eq!(s.conn_of(Role::Mentee), None);
}

// ---------------------------------------------------------------------------
// Leave and disconnect
// ---------------------------------------------------------------------------

#[test]
fn leave_removes_closes_and_tells_the_peer_left() {
    let mut s = with_both();
    let out = leave(&mut s, MENTEE_CONN);
    assert_eq!(
        out,
        vec![
            removed(MENTEE_CONN, Role::Mentee),
            close(MENTEE_CONN),
            send(MENTOR_CONN, peer_left(bob(), LeaveReason::Left)),
        ]
    );
    assert_eq!(s.role_of(MENTEE_CONN), None);
    assert_eq!(s.participant(Role::Mentee), None);
    assert_eq!(s.conn_of(Role::Mentor), Some(MENTOR_CONN));
}

#[test]
fn disconnect_removes_without_close_and_tells_the_peer_disconnected() {
    let mut s = with_both();
    let out = disconnect(&mut s, MENTOR_CONN);
    assert_eq!(
        out,
        vec![
            removed(MENTOR_CONN, Role::Mentor),
            send(MENTEE_CONN, peer_left(ada(), LeaveReason::Disconnected)),
        ]
    );
    assert_eq!(s.participant(Role::Mentor), None);
}

#[test]
fn leaving_alone_tells_nobody() {
    let mut s = with_mentor();
    assert_eq!(
        leave(&mut s, MENTOR_CONN),
        vec![removed(MENTOR_CONN, Role::Mentor), close(MENTOR_CONN)]
    );
    let mut s = with_mentor();
    assert_eq!(
        disconnect(&mut s, MENTOR_CONN),
        vec![removed(MENTOR_CONN, Role::Mentor)]
    );
}

#[test]
fn peer_left_describes_the_participant_as_they_last_were() {
    let mut s = with_both();
    media(&mut s, MENTEE_CONN, MUTED);
    let mut muted_bob = bob();
    muted_bob.media = MUTED;
    assert_eq!(
        disconnect(&mut s, MENTEE_CONN),
        vec![
            removed(MENTEE_CONN, Role::Mentee),
            send(MENTOR_CONN, peer_left(muted_bob, LeaveReason::Disconnected)),
        ]
    );
}

#[test]
fn leave_or_disconnect_of_an_unknown_connection_does_nothing() {
    let mut s = new_session();
    assert_eq!(leave(&mut s, STRANGER), vec![]);
    assert_eq!(disconnect(&mut s, STRANGER), vec![]);
    let mut s = with_both();
    assert_eq!(leave(&mut s, STRANGER), vec![]);
    assert_eq!(disconnect(&mut s, STRANGER), vec![]);
    assert_eq!(s.participant(Role::Mentor), Some(&ada()));
    assert_eq!(s.participant(Role::Mentee), Some(&bob()));
}

#[test]
fn refused_third_party_closing_does_not_disturb_the_holder() {
    let mut s = with_both();
    join(&mut s, STRANGER, Role::Mentor, OTHER_MENTOR_LINK, "Eve");
    assert_eq!(disconnect(&mut s, STRANGER), vec![]);
    assert_eq!(s.conn_of(Role::Mentor), Some(MENTOR_CONN));
}

#[test]
fn leaving_twice_does_nothing_the_second_time() {
    let mut s = with_both();
    leave(&mut s, MENTEE_CONN);
    assert_eq!(leave(&mut s, MENTEE_CONN), vec![]);
    assert_eq!(disconnect(&mut s, MENTEE_CONN), vec![]);
    assert_eq!(s.conn_of(Role::Mentor), Some(MENTOR_CONN));
}

// ---------------------------------------------------------------------------
// Chat
// ---------------------------------------------------------------------------

#[test]
fn chat_is_relayed_to_the_peer_then_echoed_to_the_author() {
    let mut s = with_both();
    let msg = chat_msg(&ada(), "hello Bob", "1970-01-01T00:00:00Z");
    assert_eq!(
        chat(&mut s, MENTOR_CONN, "hello Bob"),
        vec![send(MENTEE_CONN, msg.clone()), send(MENTOR_CONN, msg)]
    );
    let msg = chat_msg(&bob(), "hi Ada", "1970-01-01T00:00:00Z");
    assert_eq!(
        chat(&mut s, MENTEE_CONN, "hi Ada"),
        vec![send(MENTOR_CONN, msg.clone()), send(MENTEE_CONN, msg)]
    );
}

#[test]
fn chat_at_is_the_given_time_in_rfc3339_utc() {
    let mut s = with_mentor();
    let out = handle_at(
        &mut s,
        UnixMillis(1_700_000_000_123),
        Input::Chat {
            conn: MENTOR_CONN,
            text: "hi".to_string(),
        },
    );
    assert_eq!(
        out,
        vec![send(
            MENTOR_CONN,
            chat_msg(&ada(), "hi", "2023-11-14T22:13:20.123Z")
        )]
    );
}

#[test]
fn chat_text_is_trimmed() {
    let mut s = with_both();
    let msg = chat_msg(&ada(), "hello\n  world", "1970-01-01T00:00:00Z");
    assert_eq!(
        chat(&mut s, MENTOR_CONN, " \n hello\n  world \t"),
        vec![send(MENTEE_CONN, msg.clone()), send(MENTOR_CONN, msg)]
    );
}

#[test]
fn empty_chat_is_an_invalid_field_for_the_author_only() {
    let mut s = with_both();
    for text in ["", "   ", "\n\t "] {
        assert_eq!(
            chat(&mut s, MENTOR_CONN, text),
            vec![error_to(MENTOR_CONN, ErrorCode::InvalidField)],
            "{text:?}"
        );
    }
}

#[test]
fn chat_of_max_chat_chars_is_relayed_and_one_more_is_refused() {
    let mut s = with_both();
    // Multi-byte characters: the limit is in characters, not bytes.
    let longest = "é".repeat(MAX_CHAT_CHARS);
    let out = chat(&mut s, MENTOR_CONN, &format!("  {longest}  "));
    let msg = chat_msg(&ada(), &longest, "1970-01-01T00:00:00Z");
    assert_eq!(
        out,
        vec![send(MENTEE_CONN, msg.clone()), send(MENTOR_CONN, msg)]
    );

    let too_long = "é".repeat(MAX_CHAT_CHARS + 1);
    assert_eq!(
        chat(&mut s, MENTOR_CONN, &too_long),
        vec![error_to(MENTOR_CONN, ErrorCode::InvalidField)]
    );
}

#[test]
fn chat_from_a_non_member_is_out_of_order() {
    let mut s = new_session();
    assert_eq!(
        chat(&mut s, STRANGER, "hello?"),
        vec![error_to(STRANGER, ErrorCode::OutOfOrder)]
    );
    let mut s = with_both();
    assert_eq!(
        chat(&mut s, STRANGER, "hello?"),
        vec![error_to(STRANGER, ErrorCode::OutOfOrder)]
    );
}

#[test]
fn chat_when_alone_is_only_echoed() {
    let mut s = with_mentor();
    assert_eq!(
        chat(&mut s, MENTOR_CONN, "anyone?"),
        vec![send(
            MENTOR_CONN,
            chat_msg(&ada(), "anyone?", "1970-01-01T00:00:00Z")
        )]
    );
}

#[test]
fn chat_names_the_author_by_the_cleaned_name() {
    let mut s = new_session();
    join(
        &mut s,
        MENTOR_CONN,
        Role::Mentor,
        MENTOR_LINK,
        "  Ada\u{7} ",
    );
    assert_eq!(
        chat(&mut s, MENTOR_CONN, "hi"),
        vec![send(
            MENTOR_CONN,
            chat_msg(&ada(), "hi", "1970-01-01T00:00:00Z")
        )]
    );
}

// ---------------------------------------------------------------------------
// Mute state
// ---------------------------------------------------------------------------

#[test]
fn media_updates_the_participant_and_tells_only_the_peer() {
    let mut s = with_both();
    let out = media(&mut s, MENTOR_CONN, MUTED);
    assert_eq!(
        out,
        vec![send(
            MENTEE_CONN,
            ServerMessage::PeerMedia {
                peer: pid(MENTOR_CONN),
                role: Role::Mentor,
                audio: false,
                video: true,
                screen: true,
            }
        )]
    );
    assert_eq!(s.participant(Role::Mentor).map(|p| p.media), Some(MUTED));
    assert_eq!(
        s.participant(Role::Mentee).map(|p| p.media),
        Some(MediaState::joined_default())
    );
}

#[test]
fn mentee_media_goes_to_the_mentor() {
    let mut s = with_both();
    let off = MediaState::default();
    assert_eq!(
        media(&mut s, MENTEE_CONN, off),
        vec![send(
            MENTOR_CONN,
            ServerMessage::PeerMedia {
                peer: pid(MENTEE_CONN),
                role: Role::Mentee,
                audio: false,
                video: false,
                screen: false,
            }
        )]
    );
    assert_eq!(s.participant(Role::Mentee).map(|p| p.media), Some(off));
}

#[test]
fn media_when_alone_updates_state_silently() {
    let mut s = with_mentor();
    assert_eq!(media(&mut s, MENTOR_CONN, MUTED), vec![]);
    assert_eq!(s.participant(Role::Mentor).map(|p| p.media), Some(MUTED));
}

#[test]
fn a_later_joiner_sees_the_current_media_in_joined_peer() {
    let mut s = with_mentor();
    media(&mut s, MENTOR_CONN, MUTED);
    let mut muted_ada = ada();
    muted_ada.media = MUTED;
    let out = join(&mut s, MENTEE_CONN, Role::Mentee, MENTEE_LINK, "Bob");
    assert_eq!(
        out,
        vec![
            admitted(MENTEE_CONN, Role::Mentee),
            send(MENTEE_CONN, joined(bob(), Some(muted_ada))),
            send(MENTOR_CONN, peer_joined(bob())),
        ]
    );
}

#[test]
fn media_from_a_non_member_is_out_of_order() {
    let mut s = with_both();
    assert_eq!(
        media(&mut s, STRANGER, MUTED),
        vec![error_to(STRANGER, ErrorCode::OutOfOrder)]
    );
    assert_eq!(
        s.participant(Role::Mentor).map(|p| p.media),
        Some(MediaState::joined_default())
    );
}

// ---------------------------------------------------------------------------
// End
// ---------------------------------------------------------------------------

#[test]
fn end_tells_both_closes_and_removes_them() {
    let mut s = with_both();
    let ended = ServerMessage::SessionEnded {
        reason: EndReason::Ended,
    };
    assert_eq!(
        end(&mut s, EndReason::Ended),
        vec![
            send(MENTOR_CONN, ended.clone()),
            close(MENTOR_CONN),
            removed(MENTOR_CONN, Role::Mentor),
            send(MENTEE_CONN, ended),
            close(MENTEE_CONN),
            removed(MENTEE_CONN, Role::Mentee),
        ]
    );
    assert!(s.is_ended());
    for role in Role::ALL {
        assert_eq!(s.conn_of(role), None);
        assert_eq!(s.participant(role), None);
    }
}

#[test]
fn end_carries_its_reason() {
    for reason in [
        EndReason::Ended,
        EndReason::Expired,
        EndReason::ServerShutdown,
    ] {
        let mut s = with_mentor();
        assert_eq!(
            end(&mut s, reason),
            vec![
                send(MENTOR_CONN, ServerMessage::SessionEnded { reason }),
                close(MENTOR_CONN),
                removed(MENTOR_CONN, Role::Mentor),
            ]
        );
    }
}

#[test]
fn ending_an_empty_session_has_no_outputs() {
    let mut s = new_session();
    assert_eq!(end(&mut s, EndReason::Expired), vec![]);
    assert!(s.is_ended());
}

#[test]
fn any_join_after_end_is_refused_as_session_ended() {
    let mut s = with_both();
    end(&mut s, EndReason::Ended);
    for (conn, role, link) in [
        (MENTOR_CONN, Role::Mentor, MENTOR_LINK),
        (MENTEE_CONN, Role::Mentee, MENTEE_LINK),
        (NEW_TAB, Role::Mentor, MENTOR_LINK),
        (STRANGER, Role::Mentee, OTHER_MENTEE_LINK),
    ] {
        assert_eq!(
            join(&mut s, conn, role, link, "Late"),
            vec![error_to(conn, ErrorCode::SessionEnded), close(conn)],
            "{conn:?} {role}"
        );
    }
    assert_eq!(s.conn_of(Role::Mentor), None);
    assert_eq!(s.conn_of(Role::Mentee), None);
}

#[test]
fn ending_twice_is_a_no_op() {
    let mut s = with_both();
    end(&mut s, EndReason::Ended);
    assert_eq!(end(&mut s, EndReason::ServerShutdown), vec![]);
    assert!(s.is_ended());
    assert_eq!(
        join(&mut s, NEW_TAB, Role::Mentor, MENTOR_LINK, "Ada"),
        vec![error_to(NEW_TAB, ErrorCode::SessionEnded), close(NEW_TAB)]
    );
}

#[test]
fn after_end_leave_and_disconnect_do_nothing_and_chat_or_media_are_out_of_order() {
    let mut s = with_both();
    end(&mut s, EndReason::Ended);
    assert_eq!(leave(&mut s, MENTOR_CONN), vec![]);
    assert_eq!(disconnect(&mut s, MENTEE_CONN), vec![]);
    assert_eq!(
        chat(&mut s, MENTOR_CONN, "bye"),
        vec![error_to(MENTOR_CONN, ErrorCode::OutOfOrder)]
    );
    assert_eq!(
        media(&mut s, MENTEE_CONN, MUTED),
        vec![error_to(MENTEE_CONN, ErrorCode::OutOfOrder)]
    );
}

// ---------------------------------------------------------------------------
// Invariants: every input in every state, and random sequences
// ---------------------------------------------------------------------------

/// Who holds which place.
fn members(s: &Session) -> BTreeSet<(Role, ConnId)> {
    Role::ALL
        .into_iter()
        .filter_map(|role| s.conn_of(role).map(|conn| (role, conn)))
        .collect()
}

/// The connection an input came from, if any.
fn input_conn(input: &Input) -> Option<ConnId> {
    match input {
        Input::Join(req) => Some(req.conn),
        Input::Media { conn, .. }
        | Input::Chat { conn, .. }
        | Input::Leave { conn }
        | Input::Disconnected { conn } => Some(*conn),
        Input::End { .. } => None,
    }
}

/// Names every `Input` variant; the exhaustive match makes a new variant
/// fail to compile here until the state table below covers it.
fn variant(input: &Input) -> &'static str {
    match input {
        Input::Join(_) => "join",
        Input::Media { .. } => "media",
        Input::Chat { .. } => "chat",
        Input::Leave { .. } => "leave",
        Input::Disconnected { .. } => "disconnected",
        Input::End { .. } => "end",
    }
}

fn output_conn(output: &Output) -> ConnId {
    match output {
        Output::Send { to, .. } => *to,
        Output::Close { conn } | Output::Admitted { conn, .. } | Output::Removed { conn, .. } => {
            *conn
        }
    }
}

/// What must hold of a session at rest.
fn check_state(s: &Session) {
    for role in Role::ALL {
        match s.conn_of(role) {
            Some(conn) => {
                assert_eq!(s.role_of(conn), Some(role), "{conn:?} holds {role}");
                let p = s.participant(role).expect("a held place has a participant");
                assert_eq!(p.role, role);
                assert!(!p.name.trim().is_empty());
                assert!(p.name.chars().count() <= MAX_NAME_CHARS);
            }
            None => assert_eq!(s.participant(role), None),
        }
    }
    if let (Some(mentor), Some(mentee)) = (s.conn_of(Role::Mentor), s.conn_of(Role::Mentee)) {
        assert_ne!(mentor, mentee, "one connection holds both places");
    }
    if s.is_ended() {
        assert!(members(s).is_empty(), "an ended session has members");
    }
}

/// What must hold of one step: `before` were the members, `input` was
/// handled, `out` came out and `s` is the session now.
fn check_step(before: &BTreeSet<(Role, ConnId)>, input: &Input, out: &[Output], s: &Session) {
    check_state(s);
    let after = members(s);
    let mut allowed: BTreeSet<ConnId> = before.iter().chain(&after).map(|(_, c)| *c).collect();
    allowed.extend(input_conn(input));
    for o in out {
        assert!(
            allowed.contains(&output_conn(o)),
            "{o:?} is addressed to a bystander (input {input:?})"
        );
    }

    // Admitted / Removed are exactly the change in membership.
    let removed_now: BTreeSet<(Role, ConnId)> = out
        .iter()
        .filter_map(|o| match o {
            Output::Removed { conn, role } => Some((*role, *conn)),
            _ => None,
        })
        .collect();
    let admitted_now: Vec<(Role, ConnId, ParticipantId)> = out
        .iter()
        .filter_map(|o| match o {
            Output::Admitted {
                conn,
                role,
                participant,
            } => Some((*role, *conn, *participant)),
            _ => None,
        })
        .collect();
    let gone: BTreeSet<_> = before.difference(&after).copied().collect();
    let new: BTreeSet<_> = after.difference(before).copied().collect();
    assert_eq!(
        removed_now, gone,
        "Removed outputs vs membership (input {input:?})"
    );
    assert_eq!(
        admitted_now
            .iter()
            .map(|(r, c, _)| (*r, *c))
            .collect::<BTreeSet<_>>(),
        new,
        "Admitted outputs vs membership (input {input:?})"
    );
    assert!(admitted_now.len() <= 1, "{out:?}");
    for (role, conn, participant) in admitted_now {
        let Input::Join(req) = input else {
            panic!("admitted without a join: {input:?}");
        };
        assert_eq!(
            (req.role, req.conn, req.participant),
            (role, conn, participant)
        );
    }

    // A closed connection holds no place.
    for o in out {
        if let Output::Close { conn } = o {
            assert_eq!(
                s.role_of(*conn),
                None,
                "closed {conn:?} still holds a place"
            );
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    Empty,
    MentorOnly,
    Both,
    Ended,
}

fn build(state: State) -> Session {
    match state {
        State::Empty => new_session(),
        State::MentorOnly => with_mentor(),
        State::Both => with_both(),
        State::Ended => {
            let mut s = with_both();
            end(&mut s, EndReason::Ended);
            s
        }
    }
}

/// Every kind of input, from members, a second tab and a stranger.
fn every_input() -> Vec<Input> {
    let mut inputs = Vec::new();
    for conn in [MENTOR_CONN, MENTEE_CONN, NEW_TAB, STRANGER] {
        for (role, link) in [
            (Role::Mentor, MENTOR_LINK),
            (Role::Mentor, OTHER_MENTOR_LINK),
            (Role::Mentee, MENTEE_LINK),
            (Role::Mentee, OTHER_MENTEE_LINK),
        ] {
            inputs.push(Input::Join(request(conn, role, link, "Someone")));
        }
        for state in [MediaState::default(), MUTED] {
            inputs.push(Input::Media { conn, state });
        }
        for text in ["hi", "", &"x".repeat(MAX_CHAT_CHARS + 1)] {
            inputs.push(Input::Chat {
                conn,
                text: text.to_string(),
            });
        }
        inputs.push(Input::Leave { conn });
        inputs.push(Input::Disconnected { conn });
    }
    for reason in [
        EndReason::Ended,
        EndReason::Expired,
        EndReason::ServerShutdown,
    ] {
        inputs.push(Input::End { reason });
    }
    inputs
}

#[test]
fn every_input_in_every_state_keeps_the_invariants() {
    let inputs = every_input();
    let kinds: BTreeSet<&str> = inputs.iter().map(variant).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["join", "media", "chat", "leave", "disconnected", "end"])
    );
    for state in [State::Empty, State::MentorOnly, State::Both, State::Ended] {
        for input in &inputs {
            let mut s = build(state);
            check_state(&s);
            let before = members(&s);
            let out = handle(&mut s, input.clone());
            check_step(&before, input, &out, &s);
            if matches!(state, State::Ended) {
                assert!(s.is_ended());
                assert!(
                    !out.iter().any(|o| matches!(o, Output::Admitted { .. })),
                    "admitted after end: {input:?} -> {out:?}"
                );
            }
        }
    }
}

/// A simple model of who should hold the places, as an oracle.
#[derive(Debug, Default)]
struct Model {
    places: [Option<(ConnId, LinkId)>; 2],
    ended: bool,
}

impl Model {
    fn apply(&mut self, input: &Input) {
        match input {
            Input::Join(req) => {
                let holds_a_place = self.places.iter().flatten().any(|(c, _)| *c == req.conn);
                let place = &mut self.places[req.role.index()];
                let may_take = match place {
                    None => true,
                    Some((_, link)) => *link == req.link,
                };
                if !self.ended && !holds_a_place && may_take {
                    *place = Some((req.conn, req.link.clone()));
                }
            }
            Input::Leave { conn } | Input::Disconnected { conn } => {
                for place in &mut self.places {
                    if place.as_ref().is_some_and(|(c, _)| c == conn) {
                        *place = None;
                    }
                }
            }
            Input::End { .. } => {
                self.ended = true;
                self.places = [None, None];
            }
            Input::Media { .. } | Input::Chat { .. } => {}
        }
    }

    fn conn_of(&self, role: Role) -> Option<ConnId> {
        self.places[role.index()].as_ref().map(|(c, _)| *c)
    }
}

/// Conns 1..=4; links: two for the mentor, one for the mentee.
const POOL_CONNS: u64 = 4;
const POOL_LINKS: [(Role, &str); 3] = [
    (Role::Mentor, MENTOR_LINK),
    (Role::Mentor, OTHER_MENTOR_LINK),
    (Role::Mentee, MENTEE_LINK),
];

#[derive(Debug, Clone)]
enum Op {
    Join {
        conn: u64,
        link: usize,
        name: String,
    },
    Media {
        conn: u64,
        state: MediaState,
    },
    Chat {
        conn: u64,
        text: String,
    },
    Leave {
        conn: u64,
    },
    Disconnected {
        conn: u64,
    },
    End {
        reason: EndReason,
    },
}

impl Op {
    /// The input for this op at step `step` (which numbers the participant,
    /// so every join carries a fresh participant id).
    fn input(&self, step: usize) -> Input {
        match self {
            Op::Join { conn, link, name } => {
                let (role, link) = POOL_LINKS[*link];
                Input::Join(JoinRequest {
                    conn: ConnId(*conn),
                    participant: ParticipantId(Uuid::from_u128(step as u128)),
                    role,
                    link: LinkId(link.to_string()),
                    name: name.clone(),
                    ice_servers: Vec::new(),
                })
            }
            Op::Media { conn, state } => Input::Media {
                conn: ConnId(*conn),
                state: *state,
            },
            Op::Chat { conn, text } => Input::Chat {
                conn: ConnId(*conn),
                text: text.clone(),
            },
            Op::Leave { conn } => Input::Leave {
                conn: ConnId(*conn),
            },
            Op::Disconnected { conn } => Input::Disconnected {
                conn: ConnId(*conn),
            },
            Op::End { reason } => Input::End { reason: *reason },
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    let conn = || 1..=POOL_CONNS;
    prop_oneof![
        6 => (conn(), 0..POOL_LINKS.len(), "[ a-z\u{0}\u{7}]{0,6}")
            .prop_map(|(conn, link, name)| Op::Join { conn, link, name }),
        2 => (conn(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(conn, audio, video, screen)| Op::Media {
                conn,
                state: MediaState { audio, video, screen },
            }
        ),
        2 => (conn(), "[ a-z]{0,4}").prop_map(|(conn, text)| Op::Chat { conn, text }),
        3 => conn().prop_map(|conn| Op::Leave { conn }),
        3 => conn().prop_map(|conn| Op::Disconnected { conn }),
        1 => prop_oneof![
            Just(EndReason::Ended),
            Just(EndReason::Expired),
            Just(EndReason::ServerShutdown),
        ]
        .prop_map(|reason| Op::End { reason }),
    ]
}

proptest! {
    #[test]
    fn random_input_sequences_keep_the_invariants(
        ops in prop::collection::vec(op(), 1..80)
    ) {
        let mut s = new_session();
        let mut model = Model::default();
        let mut admitted: HashMap<ConnId, usize> = HashMap::new();
        let mut removed: HashMap<ConnId, usize> = HashMap::new();

        for (step, op) in ops.iter().enumerate() {
            let input = op.input(step);
            let before = members(&s);
            let out = handle_at(&mut s, UnixMillis(step as i64 * 1000), input.clone());
            check_step(&before, &input, &out, &s);

            model.apply(&input);
            prop_assert_eq!(s.is_ended(), model.ended);
            for role in Role::ALL {
                prop_assert_eq!(s.conn_of(role), model.conn_of(role), "{} after {:?}", role, input);
            }

            for o in &out {
                match o {
                    Output::Admitted { conn, .. } => *admitted.entry(*conn).or_default() += 1,
                    Output::Removed { conn, .. } => *removed.entry(*conn).or_default() += 1,
                    _ => {}
                }
            }
            for n in 1..=POOL_CONNS {
                let conn = ConnId(n);
                let a = admitted.get(&conn).copied().unwrap_or(0);
                let r = removed.get(&conn).copied().unwrap_or(0);
                prop_assert!(a == r || a == r + 1, "{:?}: admitted {} removed {}", conn, a, r);
                prop_assert_eq!(a == r + 1, s.role_of(conn).is_some(), "{:?}", conn);
            }
        }

        let holding = members(&s).len();
        let total_admitted: usize = admitted.values().sum();
        let total_removed: usize = removed.values().sum();
        prop_assert_eq!(holding, total_admitted - total_removed);
    }
}
