//! The two kinds of peer a load run can use, behind [`LoadPeer`]: the webrtc-rs
//! [`TestPeer`] the end-to-end tests use (`--peers webrtc`, the default, as every earlier
//! benchmark ran), and the cheap [`LightPeer`] (`--peers light`), whose media all runs on
//! one thread of the tool. Both send the same media and are counted the same way, so a
//! report reads the same for either.

use std::ops::Range;
use std::time::Duration;

use anyhow::Context;
use rtc::peer_connection::state::RTCPeerConnectionState;

use super::LoadConfig;
use super::light::{LightDriver, LightPeer};
use crate::{MediaKind, PeerOptions, TestPeer};

/// Which peers a load run drives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PeerKind {
    /// webrtc-rs async peers ([`TestPeer`]), several tasks each.
    #[default]
    Webrtc,
    /// Sans-IO `rtc` peers driven by one media loop for the whole tool.
    Light,
}

impl PeerKind {
    /// The names `--peers` takes.
    pub const NAMES: [&'static str; 2] = ["webrtc", "light"];

    /// `webrtc` or `light`.
    pub fn parse(text: &str) -> Option<PeerKind> {
        match text {
            "webrtc" => Some(PeerKind::Webrtc),
            "light" => Some(PeerKind::Light),
            _ => None,
        }
    }

    /// As reports print it.
    pub fn name(self) -> &'static str {
        match self {
            PeerKind::Webrtc => "webrtc",
            PeerKind::Light => "light",
        }
    }
}

/// RTP packets counted by one peer, per kind (m-line order).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pub(crate) sent: [u64; 3],
    /// Received media packets (empty padding payloads excluded).
    pub(crate) received: [u64; 3],
    /// Latency samples received so far.
    pub(crate) latency_samples: [usize; 3],
}

/// What a load run needs of a peer.
pub(crate) trait LoadPeer: Sized {
    /// What every peer of a run shares: the light peers' media loop.
    type Driver;

    /// The shared part, started once per run.
    fn driver() -> anyhow::Result<Self::Driver>;

    /// Joins with `token` as `name` and sends the offer.
    async fn join(
        driver: &Self::Driver,
        cfg: &LoadConfig,
        token: &str,
        name: &str,
    ) -> anyhow::Result<Self>;

    /// Waits for the first camera packet.
    async fn wait_video(&self, timeout: Duration) -> anyhow::Result<()>;

    /// Waits until connected with audio received too.
    async fn wait_audio(&self, timeout: Duration) -> anyhow::Result<()>;

    /// Its counters now.
    fn counts(&self) -> Counts;

    /// Added latency of the received `kind` samples numbered `window`, milliseconds.
    fn latency_ms(&self, kind: MediaKind, window: Range<usize>) -> Vec<f64>;

    /// Starts or stops sending `kind`.
    fn set_sending(&self, kind: MediaKind, on: bool);

    /// The connection's state when it is not connected.
    fn disconnected(&self) -> Option<String>;

    /// Leaves the call and closes the connection.
    async fn leave(&self);

    /// Anything the run should say about the driver at its end.
    fn driver_note(_driver: &Self::Driver) -> Option<String> {
        None
    }
}

impl LoadPeer for TestPeer {
    type Driver = ();

    fn driver() -> anyhow::Result<()> {
        Ok(())
    }

    async fn join(_: &(), cfg: &LoadConfig, token: &str, name: &str) -> anyhow::Result<TestPeer> {
        let opts = PeerOptions {
            video_fixture: cfg.shape.fixture(),
            ..PeerOptions::named(name)
        };
        TestPeer::join(&cfg.ws_url, token, opts).await
    }

    async fn wait_video(&self, timeout: Duration) -> anyhow::Result<()> {
        self.wait_until(|s| s.received.get(MediaKind::Camera).packets > 0, timeout)
            .await
            .map(|_| ())
    }

    async fn wait_audio(&self, timeout: Duration) -> anyhow::Result<()> {
        self.wait_until(
            |s| s.connected() && s.received.get(MediaKind::Audio).packets > 0,
            timeout,
        )
        .await
        .map(|_| ())
    }

    fn counts(&self) -> Counts {
        let rx = self.watch_stats();
        let stats = rx.borrow();
        let mut c = Counts::default();
        for kind in MediaKind::ALL {
            let i = kind.index();
            c.sent[i] = stats.sent.get(kind).packets;
            let got = stats.received.get(kind);
            c.received[i] = got.packets.saturating_sub(got.empty_payloads);
            c.latency_samples[i] = got.latency_us.len();
        }
        c
    }

    fn latency_ms(&self, kind: MediaKind, window: Range<usize>) -> Vec<f64> {
        let rx = self.watch_stats();
        let stats = rx.borrow();
        stats
            .received
            .get(kind)
            .latency_us
            .get(window)
            .unwrap_or_default()
            .iter()
            .map(|&us| f64::from(us) / 1000.0)
            .collect()
    }

    fn set_sending(&self, kind: MediaKind, on: bool) {
        self.media().set_sending(kind, on);
    }

    fn disconnected(&self) -> Option<String> {
        let rx = self.watch_stats();
        let stats = rx.borrow();
        (!stats.connected()).then(|| stats.connection_state.to_string())
    }

    async fn leave(&self) {
        let _ = TestPeer::leave(self).await;
    }
}

impl LoadPeer for LightPeer {
    type Driver = LightDriver;

    fn driver() -> anyhow::Result<LightDriver> {
        LightDriver::start()
    }

    async fn join(
        driver: &LightDriver,
        cfg: &LoadConfig,
        token: &str,
        name: &str,
    ) -> anyhow::Result<LightPeer> {
        LightPeer::join(driver, &cfg.ws_url, token, name, cfg.shape.fixture())
            .await
            .with_context(|| format!("{name} joining"))
    }

    async fn wait_video(&self, timeout: Duration) -> anyhow::Result<()> {
        let camera = MediaKind::Camera.index();
        self.wait_until("waiting for video", timeout, |p| p.received[camera])
            .await
    }

    async fn wait_audio(&self, timeout: Duration) -> anyhow::Result<()> {
        let audio = MediaKind::Audio.index();
        self.wait_until("waiting for audio", timeout, |p| {
            p.received[audio] && p.state == RTCPeerConnectionState::Connected
        })
        .await
    }

    fn counts(&self) -> Counts {
        let s = self.shared();
        let mut latency_samples = [0; 3];
        latency_samples[MediaKind::Audio.index()] = s.latency_samples();
        Counts {
            sent: s.sent(),
            received: s.received(),
            latency_samples,
        }
    }

    fn latency_ms(&self, kind: MediaKind, window: Range<usize>) -> Vec<f64> {
        if kind != MediaKind::Audio {
            return Vec::new();
        }
        self.shared()
            .latency_us(window)
            .into_iter()
            .map(|us| f64::from(us) / 1000.0)
            .collect()
    }

    fn set_sending(&self, kind: MediaKind, on: bool) {
        self.shared().set_sending(kind, on);
    }

    fn disconnected(&self) -> Option<String> {
        let state = self.shared().progress().borrow().state;
        (state != RTCPeerConnectionState::Connected).then(|| state.to_string())
    }

    async fn leave(&self) {
        LightPeer::leave(self);
    }

    fn driver_note(driver: &LightDriver) -> Option<String> {
        match driver.send_errors() {
            (0, _) => None,
            (n, first) => Some(format!(
                "the light peers failed to send {n} datagrams (the first {}); media among \
                 them was counted as sent",
                first.unwrap_or_default()
            )),
        }
    }
}
