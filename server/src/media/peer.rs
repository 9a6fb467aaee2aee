//! Building one participant's peer connection on the shared socket.
//!
//! Duet answers; the client offers three sendrecv m-lines in a fixed order:
//! audio, camera video, screen video. The server adds its three outgoing
//! tracks before applying the offer so they attach to those m-lines, which
//! means the other participant's media can start flowing at any time later
//! without renegotiation.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rtc::ice::tcp_type::TcpType;
use rtc::interceptor::{NackGeneratorBuilder, Registry, Slot as InterceptorSlot};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::RTCPeerConnection;
use rtc::peer_connection::RTCPeerConnectionBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc_receiver_only,
};
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8, MIME_TYPE_VP9, MediaEngine,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::sdp::RTCSessionDescription;

use super::audio_loss::DownstreamAudioLoss;
use super::opus_params::{with_opus_params, with_red_first};
use super::rtcp_tap::RtcpTap;
use rtc::peer_connection::transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate};
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpReceiverId, RTCRtpSenderId};
use rtc::shared::error::Error as RtcError;

use super::forward::Slot;
use super::talk::AUDIO_LEVEL_URI;

pub type Pc = RTCPeerConnection;

/// The server's outgoing streams on one connection.
#[derive(Debug, Clone, Copy)]
pub struct Outbound {
    pub sender: RTCRtpSenderId,
    pub ssrc: u32,
}

/// What the engine needs to know about a freshly built connection.
pub struct BuiltPeer {
    pub pc: Pc,
    pub ufrag: String,
    pub outbound: [Outbound; 3],
    pub answer_sdp: String,
    /// Where the engine puts the other participant's loss on this
    /// connection's audio, for Duet's reports to it (`audio_loss`).
    pub downstream_audio_loss: DownstreamAudioLoss,
}

fn video_feedback() -> Vec<RTCPFeedback> {
    [
        ("goog-remb", ""),
        ("ccm", "fir"),
        ("nack", ""),
        ("nack", "pli"),
    ]
    .into_iter()
    .map(|(typ, parameter)| RTCPFeedback {
        typ: typ.into(),
        parameter: parameter.into(),
    })
    .collect()
}

fn codec(mime: &str, clock_rate: u32, channels: u16, fmtp: &str, pt: u8) -> RTCRtpCodecParameters {
    let rtcp_feedback = if mime.starts_with("video/") {
        video_feedback()
    } else {
        Vec::new()
    };
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: mime.to_owned(),
            clock_rate,
            channels,
            sdp_fmtp_line: fmtp.to_owned(),
            rtcp_feedback,
        },
        payload_type: pt,
    }
}

/// Opus as registered with `rtc`, which matches it against the offer (a
/// parameter set differently on each side is no match). What Duet asks
/// of senders goes into the answer text instead (`opus_params`).
const OPUS_FMTP: &str = "minptime=10;useinbandfec=1";

/// RED carrying Opus at payload type 111 (RFC 2198's fmtp: the payload
/// type of each block, primary last).
const MIME_TYPE_RED: &str = "audio/red";
const RED_FMTP: &str = "111/111";

/// Codecs in order of preference: the answer lists them in this order, so
/// browsers send VP8 when both sides have it, which keeps the two legs of a
/// call on the same codec.
fn codecs() -> Vec<(RTCRtpCodecParameters, RtpCodecKind)> {
    vec![
        // Redundant Opus first: a browser that offers it sends every frame
        // twice, in its own packet and in the next (`media::red`). Only
        // with Opus as payload type 111 inside, as Chromium and Safari
        // offer it, so both legs of a call agree on what is inside.
        (
            codec(MIME_TYPE_RED, 48000, 2, RED_FMTP, 63),
            RtpCodecKind::Audio,
        ),
        (
            codec(MIME_TYPE_OPUS, 48000, 2, OPUS_FMTP, 111),
            RtpCodecKind::Audio,
        ),
        (codec(MIME_TYPE_VP8, 90000, 0, "", 96), RtpCodecKind::Video),
        (
            codec(MIME_TYPE_VP9, 90000, 0, "profile-id=0", 98),
            RtpCodecKind::Video,
        ),
        (
            codec(
                MIME_TYPE_H264,
                90000,
                0,
                "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
                102,
            ),
            RtpCodecKind::Video,
        ),
        (
            codec(
                MIME_TYPE_H264,
                90000,
                0,
                "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
                104,
            ),
            RtpCodecKind::Video,
        ),
    ]
}

/// How often Duet asks a sender for the packets that did not reach it.
/// `rtc`'s default is 100 ms; a packet lost on the sender's uplink is then
/// asked for 50 ms late on average, and again 100 ms later if the
/// retransmission is lost too, while the receiver's own NACKs (about the
/// same packet, which Duet does not have yet) run out within its much
/// shorter round trip and its decoder waits or asks for a keyframe: at
/// 5 % loss per leg that was 0.2–0.9 s of frozen video in 15 s that a
/// direct call did not have. 20 ms keeps the two-hop repair within a
/// direct call's, at the price of a timer every 20 ms per connection
/// while a stream shows loss (`media::nack_timer`).
pub const NACK_INTERVAL: Duration = Duration::from_millis(20);

/// Times Duet asks for one missing packet: about 200 ms at
/// [`NACK_INTERVAL`]. A packet the sender no longer has is otherwise asked
/// for 50 times a second until it leaves the receive log (`rtc`'s default
/// is no limit); past this a keyframe is the better repair, and the
/// receiver asks for one.
pub const NACKS_PER_PACKET: u16 = 10;

/// `rtc`'s default interceptors (`register_default_interceptors`: NACK
/// generator and responder, receive-side transport-wide congestion
/// feedback, sender and receiver reports), with [`NACK_INTERVAL`], and
/// Duet's own NACK responder, whose history is a second of packets
/// (`media::nack_history`) rather than a fixed count.
fn register_interceptors(
    registry: Registry,
    media_engine: &mut MediaEngine,
) -> Result<Registry, RtcError> {
    for parameter in ["", "pli"] {
        media_engine.register_feedback(
            RTCPFeedback {
                typ: "nack".to_owned(),
                parameter: parameter.to_owned(),
            },
            RtpCodecKind::Video,
        );
    }
    let registry = registry
        .with(
            InterceptorSlot::NackResponder,
            super::nack_history::TimedNackResponder::default(),
        )
        .with(
            InterceptorSlot::NackGenerator,
            super::nack_timer::QuietNackGenerator::new(
                NackGeneratorBuilder::new()
                    .with_interval(NACK_INTERVAL)
                    .with_max_nacks_per_packet(NACKS_PER_PACKET)
                    .build(),
            ),
        );
    configure_simulcast_extension_headers(media_engine)?;
    let registry = configure_twcc_receiver_only(registry, media_engine)?;
    Ok(configure_rtcp_reports(registry))
}

/// Random ICE credentials; the ufrag is how the engine finds this
/// connection's first packets on the shared socket, and its first two
/// characters name the shard (`media::shard`), the other 14 are random.
fn ice_credentials(shard: usize) -> (String, String) {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    let mut rng = rand::rng();
    let mut ufrag = super::shard::ufrag_prefix(shard);
    ufrag.extend(
        (&mut rng)
            .sample_iter(Alphanumeric)
            .take(14)
            .map(char::from),
    );
    let pwd: String = (&mut rng)
        .sample_iter(Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    (ufrag, pwd)
}

/// A host candidate on the shared UDP socket, or (`tcp`) a passive ICE-TCP
/// one on the TCP listener: clients dial it, the server never dials out.
pub fn add_host_candidate(pc: &mut Pc, addr: SocketAddr, tcp: bool) -> Result<(), RtcError> {
    let (network, tcp_type) = if tcp {
        ("tcp", TcpType::Passive)
    } else {
        ("udp", TcpType::Unspecified)
    };
    let candidate = CandidateHostConfig {
        base_config: CandidateConfig {
            network: network.to_owned(),
            address: addr.ip().to_string(),
            port: addr.port(),
            component: 1,
            ..Default::default()
        },
        tcp_type,
    }
    .new_candidate_host()?;
    let init = RTCIceCandidate::from(&candidate).to_json()?;
    pc.add_local_candidate(init)
}

/// Builds a connection for `offer_sdp` and returns it with its answer.
/// `advertise` is the UDP host candidate's address and `advertise_tcp` the
/// passive ICE-TCP one's, when ICE-TCP is on; `shard` is the engine's.
pub fn build(
    now: Instant,
    offer_sdp: String,
    advertise: SocketAddr,
    advertise_tcp: Option<SocketAddr>,
    shard: usize,
) -> Result<BuiltPeer, RtcError> {
    let (ufrag, pwd) = ice_credentials(shard);
    let settings = SettingEngineBuilder::new()
        .with_ice_credentials(ufrag.clone(), pwd)
        .build();

    let mut media_engine = MediaEngine::default();
    for (codec, kind) in codecs() {
        media_engine.register_codec(codec, kind)?;
    }
    // Talk time is counted from each audio packet's level (`media::talk`),
    // so the answer must accept the extension; browsers offer it on audio.
    media_engine.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: AUDIO_LEVEL_URI.to_owned(),
        },
        RtpCodecKind::Audio,
        None,
    )?;
    let downstream_audio_loss = DownstreamAudioLoss::new(now);
    // Wire-ward of the receiver-report generator (10_000), whose reports
    // it edits, and above the pacer like every generator; it also marks
    // inbound RTCP for the engine (`media::rtcp_tap`).
    let registry = Registry::new().with(
        InterceptorSlot::from(9_500),
        RtcpTap::new(downstream_audio_loss.clone()),
    );
    let registry = register_interceptors(registry, &mut media_engine)?;

    let mut pc = RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_setting_engine(settings)
        .with_media_engine(media_engine)
        .with_interceptor_registry(registry)
        .build(now)?;

    let first = |mime: &str| {
        codecs()
            .into_iter()
            .map(|(c, _)| c.rtp_codec)
            .find(|c| c.mime_type == mime)
            .ok_or(RtcError::ErrCodecNotFound)
    };
    let audio = first(MIME_TYPE_OPUS)?;
    let video = first(MIME_TYPE_VP8)?;
    let mut add = |slot: Slot| -> Result<Outbound, RtcError> {
        let ssrc = rand::random::<u32>();
        let (kind, codec) = if slot.is_video() {
            (RtpCodecKind::Video, video.clone())
        } else {
            (RtpCodecKind::Audio, audio.clone())
        };
        let track = MediaStreamTrack::new(
            "duet".to_owned(),
            slot.track_id().to_owned(),
            slot.track_id().to_owned(),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec,
                ..Default::default()
            }],
        );
        let sender = pc.add_track(track)?;
        Ok(Outbound { sender, ssrc })
    };
    let outbound = [add(Slot::Audio)?, add(Slot::Camera)?, add(Slot::Screen)?];

    pc.set_remote_description(now, RTCSessionDescription::offer(offer_sdp)?)?;
    add_host_candidate(&mut pc, advertise, false)?;
    if let Some(tcp) = advertise_tcp {
        add_host_candidate(&mut pc, tcp, true)?;
    }
    let answer = pc.create_answer(None)?;
    pc.set_local_description(now, answer)?;
    let answer_sdp = pc
        .local_description()
        .map(|d| with_red_first(&with_opus_params(&d.sdp)))
        .ok_or(RtcError::ErrPeerConnLocalDescriptionNil)?;
    Ok(BuiltPeer {
        pc,
        ufrag,
        outbound,
        answer_sdp,
        downstream_audio_loss,
    })
}

/// Applies a new offer (renegotiation or ICE restart) to a live connection.
///
/// The host candidates go in again: an ICE agent that reached `Failed`
/// (the client's address changed and nothing reached the server for 30 s)
/// has dropped its local candidates, and a restart keeps only those it
/// still has — so without this a late restart answers from no candidate
/// and every check is discarded. rtc ignores a candidate it already has.
pub fn renegotiate(
    now: Instant,
    pc: &mut Pc,
    offer_sdp: String,
    advertise: SocketAddr,
    advertise_tcp: Option<SocketAddr>,
) -> Result<String, RtcError> {
    pc.set_remote_description(now, RTCSessionDescription::offer(offer_sdp)?)?;
    add_host_candidate(pc, advertise, false)?;
    if let Some(tcp) = advertise_tcp {
        add_host_candidate(pc, tcp, true)?;
    }
    let answer = pc.create_answer(None)?;
    pc.set_local_description(now, answer)?;
    pc.local_description()
        .map(|d| with_red_first(&with_opus_params(&d.sdp)))
        .ok_or(RtcError::ErrPeerConnLocalDescriptionNil)
}

/// The slot whose transceiver owns this receiver, found through the sender
/// the server attached to the same transceiver.
pub fn slot_of_receiver(
    pc: &mut Pc,
    receiver: RTCRtpReceiverId,
    outbound: &[Outbound; 3],
) -> Option<Slot> {
    let ids: Vec<_> = pc.get_transceivers().collect();
    for id in ids {
        let Some(t) = pc.rtp_transceiver(id) else {
            continue;
        };
        if t.receiver() == Some(receiver) {
            let sender = t.sender()?;
            return Slot::ALL
                .into_iter()
                .find(|s| outbound[s.index()].sender == sender);
        }
    }
    None
}

/// The id this receiver's audio-level extension was negotiated with; 0
/// when the offer did not include it.
pub fn audio_level_id(pc: &mut Pc, receiver: RTCRtpReceiverId) -> u8 {
    pc.rtp_receiver(receiver)
        .and_then(|mut r| {
            r.get_parameters()
                .rtp_parameters
                .header_extensions
                .iter()
                .find(|e| e.uri == AUDIO_LEVEL_URI)
                .and_then(|e| u8::try_from(e.id).ok())
        })
        .unwrap_or(0)
}

/// (payload type, codec key) pairs of negotiated codecs.
fn codec_keys(codecs: &[RTCRtpCodecParameters]) -> Vec<(u8, String)> {
    codecs
        .iter()
        .map(|c| {
            let key = super::forward::codec_key(&c.rtp_codec.mime_type, &c.rtp_codec.sdp_fmtp_line);
            (c.payload_type, key)
        })
        .collect()
}

/// What this receiver negotiated.
pub fn receiver_codecs(pc: &mut Pc, receiver: RTCRtpReceiverId) -> Vec<(u8, String)> {
    pc.rtp_receiver(receiver)
        .map(|mut r| codec_keys(&r.get_parameters().rtp_parameters.codecs))
        .unwrap_or_default()
}

/// What this sender negotiated.
pub fn sender_codecs(pc: &mut Pc, sender: RTCRtpSenderId) -> Vec<(u8, String)> {
    pc.rtp_sender(sender)
        .map(|mut s| codec_keys(&s.get_parameters().rtp_parameters.codecs))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
