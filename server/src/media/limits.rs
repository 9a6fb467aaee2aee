//! Bounds on what one client may ask of the media loop: the size and shape
//! of an offer, how many ICE candidates a connection may have, and how fast
//! `candidate` messages may come. All pure, checked before anything reaches
//! `rtc`: the loop serves every call, so one client's input must stay small.

use std::time::Instant;

use duet_signaling::protocol::{MAX_CANDIDATES_PER_PEER, MAX_SDP_BYTES};

#[cfg(test)]
mod tests;

/// Why an offer is refused before it reaches the media loop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferRefusal {
    #[error("the offer is {0} bytes; at most {MAX_SDP_BYTES} are accepted")]
    TooLarge(usize),
    #[error("the offer has {0} candidates; at most {MAX_CANDIDATES_PER_PEER} are accepted")]
    TooManyCandidates(usize),
    #[error("the offer asks for a data channel (m=application); Duet does not use one")]
    DataChannel,
}

/// What the limits need to know of an accepted offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferFacts {
    /// `a=candidate` lines in it.
    pub candidates: usize,
    /// The first `a=ice-ufrag`: a new one means an ICE restart.
    pub ufrag: Option<String>,
}

/// Checks an offer's size, its m-lines and its candidate count.
pub fn check_offer(sdp: &str) -> Result<OfferFacts, OfferRefusal> {
    if sdp.len() > MAX_SDP_BYTES {
        return Err(OfferRefusal::TooLarge(sdp.len()));
    }
    let mut facts = OfferFacts {
        candidates: 0,
        ufrag: None,
    };
    for line in sdp.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("m=application") {
            return Err(OfferRefusal::DataChannel);
        }
        if line.starts_with("a=candidate:") {
            facts.candidates += 1;
        } else if let Some(u) = line.strip_prefix("a=ice-ufrag:")
            && facts.ufrag.is_none()
        {
            facts.ufrag = Some(u.trim().to_owned());
        }
    }
    if facts.candidates > MAX_CANDIDATES_PER_PEER {
        return Err(OfferRefusal::TooManyCandidates(facts.candidates));
    }
    Ok(facts)
}

/// How many more candidates one signaling connection may trickle: its
/// offer's candidates and trickled ones together stay within
/// [`MAX_CANDIDATES_PER_PEER`]. An ICE restart (a new ufrag) starts over,
/// because `rtc` then drops the old remote candidates.
#[derive(Debug, Default)]
pub struct CandidateBudget {
    ufrag: Option<String>,
    used: usize,
}

impl CandidateBudget {
    /// Accounts for an accepted offer.
    pub fn offered(&mut self, facts: &OfferFacts) {
        if facts.ufrag != self.ufrag {
            self.ufrag = facts.ufrag.clone();
            self.used = 0;
        }
        self.used += facts.candidates;
    }

    /// Takes one trickled candidate; false when the budget is spent.
    pub fn take(&mut self) -> bool {
        if self.used >= MAX_CANDIDATES_PER_PEER {
            return false;
        }
        self.used += 1;
        true
    }
}

/// A token bucket: `burst` at once, then `per_second`. Time is passed in,
/// so it is tested without waiting.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    burst: f64,
    per_second: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl TokenBucket {
    pub fn new(burst: u32, per_second: u32) -> TokenBucket {
        TokenBucket {
            burst: f64::from(burst),
            per_second: f64::from(per_second),
            tokens: f64::from(burst),
            last: None,
        }
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        }
        // A clock read out of order grants nothing later either.
        self.last = Some(self.last.map_or(now, |last| last.max(now)));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// `candidate` messages one signaling connection may send: a browser's
/// whole gathering at once, then a few a second (new interfaces, TURN
/// allocations coming in late).
pub fn candidate_rate() -> TokenBucket {
    TokenBucket::new(MAX_CANDIDATES_PER_PEER as u32, 5)
}
