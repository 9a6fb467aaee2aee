//! What Duet's answer asks of the Opus each browser sends it.
//!
//! An `a=fmtp` line in an SDP says what its *writer* wants to receive, and
//! a browser reads the answer's line to set up its encoder. `rtc` answers
//! with the offer's own parameters, so Duet's wishes are written into the
//! answer here, on its way out: `useinbandfec=1` (the sender folds a
//! low-rate copy of each packet into the next when its receiver reports
//! loss, so one lost packet is rebuilt rather than concealed — audio is
//! never retransmitted) and `usedtx=1` (in silence a packet every 400 ms
//! instead of 50 a second, which frees a weak uplink; the recorder fills
//! the gaps, `recorder/ogg.rs`). Only the answer text changes: `rtc` keeps
//! its own copy, and these parameters change nothing it does. The same goes
//! for the order of the audio formats: redundant audio (RED) is put first,
//! so a browser that offered it sends it ([`with_red_first`]).

/// The parameters Duet wants on every Opus stream it receives.
pub const WANTED: [(&str, &str); 2] = [("useinbandfec", "1"), ("usedtx", "1")];

/// `sdp` with [`WANTED`] on the `a=fmtp` line of every Opus payload type
/// (added where missing, set where different, a line added if there is
/// none). Line endings are kept as they are.
pub fn with_opus_params(sdp: &str) -> String {
    let opus = payload_types(sdp, "opus/");
    if opus.is_empty() {
        return sdp.to_string();
    }
    let eol = if sdp.contains("\r\n") { "\r\n" } else { "\n" };
    let has_fmtp = |pt: &str| {
        sdp.lines().any(|l| {
            l.strip_prefix("a=fmtp:")
                .and_then(|r| r.split_once(' '))
                .is_some_and(|(p, _)| p == pt)
        })
    };
    let mut out = String::with_capacity(sdp.len() + 64);
    for line in sdp.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        if let Some((pt, params)) = body.strip_prefix("a=fmtp:").and_then(|r| r.split_once(' '))
            && opus.contains(&pt)
        {
            out.push_str(&format!("a=fmtp:{pt} {}{ending}", merged(params)));
            continue;
        }
        out.push_str(line);
        if let Some((pt, _)) = body
            .strip_prefix("a=rtpmap:")
            .and_then(|r| r.split_once(' '))
            && opus.contains(&pt)
            && !has_fmtp(pt)
        {
            if ending.is_empty() {
                // The last line, without an ending of its own.
                out.push_str(eol);
                out.push_str(&format!("a=fmtp:{pt} {}", merged("")));
            } else {
                out.push_str(&format!("a=fmtp:{pt} {}{ending}", merged("")));
            }
        }
    }
    out
}

/// `sdp` with redundant audio (RED, `media::red`) first on every audio
/// m-line that has it. A browser sends the first format of the answer;
/// `rtc` keeps the offer's order, where browsers list RED after Opus.
pub fn with_red_first(sdp: &str) -> String {
    let red = payload_types(sdp, "red/48000");
    if red.is_empty() {
        return sdp.to_string();
    }
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        let mut words = body.split(' ');
        match (words.next(), words.next(), words.next()) {
            (Some("m=audio"), Some(port), Some(proto)) => {
                let formats: Vec<&str> = words.collect();
                let (first, rest): (Vec<&str>, Vec<&str>) =
                    formats.iter().partition(|f| red.contains(f));
                out.push_str(&["m=audio", port, proto].join(" "));
                for f in first.iter().chain(rest.iter()) {
                    out.push(' ');
                    out.push_str(f);
                }
                out.push_str(ending);
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// The payload types whose `a=rtpmap` names a codec starting with
/// `codec` (lower case, e.g. `opus/`).
fn payload_types<'a>(sdp: &'a str, codec: &str) -> Vec<&'a str> {
    sdp.lines()
        .filter_map(|l| l.strip_prefix("a=rtpmap:"))
        .filter_map(|rest| rest.split_once(' '))
        .filter(|(_, name)| name.to_ascii_lowercase().starts_with(codec))
        .map(|(pt, _)| pt)
        .collect()
}

/// `params` (`k=v;k=v`) with every [`WANTED`] key set to its value, the
/// order of the others kept.
fn merged(params: &str) -> String {
    let mut parts: Vec<String> = params
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let key = p.split('=').next().unwrap_or("").trim();
            !WANTED.iter().any(|(k, _)| k.eq_ignore_ascii_case(key))
        })
        .map(String::from)
        .collect();
    parts.extend(WANTED.iter().map(|(k, v)| format!("{k}={v}")));
    parts.join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=fmtp:96 x=1\r\n";

    #[test]
    fn asks_for_fec_and_dtx_on_opus_only() {
        let out = with_opus_params(ANSWER);
        assert!(
            out.contains("a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\r\n"),
            "{out}"
        );
        assert!(out.contains("a=fmtp:96 x=1\r\n"));
        assert!(out.contains("a=rtpmap:0 PCMU/8000\r\n"));
        assert_eq!(out.lines().count(), ANSWER.lines().count());
        // Idempotent: a renegotiation's answer goes through again.
        assert_eq!(with_opus_params(&out), out);
    }

    #[test]
    fn overrides_a_different_value_and_adds_a_missing_line() {
        let off = ANSWER.replace("minptime=10;useinbandfec=1", "usedtx=0;minptime=10");
        let out = with_opus_params(&off);
        assert!(
            out.contains("a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\r\n"),
            "{out}"
        );
        let none = ANSWER.replace("a=fmtp:111 minptime=10;useinbandfec=1\r\n", "");
        let out = with_opus_params(&none);
        assert!(
            out.contains("a=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1;usedtx=1\r\n"),
            "{out}"
        );
    }

    #[test]
    fn leaves_an_sdp_without_opus_alone() {
        let video_only = "v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=rtpmap:96 VP8/90000\n";
        assert_eq!(with_opus_params(video_only), video_only);
    }

    #[test]
    fn red_goes_first_on_audio_only() {
        let answer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 63 0\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 63\r\na=rtpmap:96 VP8/90000\r\n";
        let out = with_red_first(answer);
        assert!(
            out.contains("m=audio 9 UDP/TLS/RTP/SAVPF 63 111 0\r\n"),
            "{out}"
        );
        assert!(
            out.contains("m=video 9 UDP/TLS/RTP/SAVPF 96 63\r\n"),
            "{out}"
        );
        assert_eq!(out.len(), answer.len());
        assert_eq!(with_red_first(&out), out, "idempotent");
        assert_eq!(with_red_first(ANSWER), ANSWER, "no RED, no change");
    }
}
