//! [`PeerOptions`]: how a test peer behaves.

use std::net::SocketAddr;

/// How a test peer behaves.
#[derive(Clone, Debug)]
pub struct PeerOptions {
    /// Display name sent in `join`.
    pub name: String,
    /// Trickle ICE candidates as `candidate` messages (true), or wait for gathering to
    /// complete and put them all in the SDP, sending no `candidate` message (false).
    pub trickle: bool,
    /// Send the Opus tone on the audio m-line once connected.
    pub send_audio: bool,
    /// Send the VP8 clip on the camera m-line once connected.
    pub send_video: bool,
    /// When set, every remote candidate (the `a=candidate` lines of the server's answer or
    /// offer, and every candidate it trickles) is rewritten to this IP and port before it is
    /// applied: the peer then sends everything there, e.g. to a [`crate::LossyRelay`].
    pub rewrite_server_candidates: Option<SocketAddr>,
    /// ICE transport policy `relay`: gather and use only TURN relay candidates, as a
    /// browser on a network that lets nothing but its TURN server through.
    pub relay_only: bool,
    /// Which ICE transport the peer may use.
    pub transport: Transport,
    /// The IVF clip in `tests/fixtures/` looped on the video m-lines.
    pub video_fixture: &'static str,
    /// Send silence on the audio line instead of the tone, until
    /// [`crate::MediaPeer::play_audio`] gives something to say.
    pub quiet: bool,
    /// Set the V bit (voice activity) of each audio packet's level when it is loud, as a
    /// browser's voice detector would; false sends the level only.
    pub voice_bit: bool,
}

/// The ICE transport a test peer gathers candidates on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// UDP only (host candidates on 127.0.0.1).
    #[default]
    Udp,
    /// ICE-TCP only (RFC 6544): no UDP socket at all; the peer dials the server's passive TCP
    /// candidates, as a client behind a UDP-blocking firewall would.
    Tcp,
}

impl Default for PeerOptions {
    fn default() -> Self {
        PeerOptions {
            name: "test-peer".to_owned(),
            trickle: true,
            send_audio: true,
            send_video: true,
            rewrite_server_candidates: None,
            relay_only: false,
            transport: Transport::Udp,
            video_fixture: crate::ivf::DEFAULT_VIDEO_FIXTURE,
            quiet: false,
            voice_bit: true,
        }
    }
}

impl PeerOptions {
    /// Defaults with the given name.
    pub fn named(name: &str) -> PeerOptions {
        PeerOptions {
            name: name.to_owned(),
            ..PeerOptions::default()
        }
    }
}
