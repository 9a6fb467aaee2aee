//! The in-process benchmark of Duet's media engine: N 1:1 calls whose
//! peers are sans-IO `rtc` connections, relayed through Duet's real engine
//! (`media::inproc`) with no sockets and in virtual time, so only the
//! engine's own work is measured: CPU and heap allocations per forwarded
//! packet, the cost of an idle call per second, and the engine's heap per
//! call.
//!
//! Run with `cargo bench -p duet-server --bench engine` (release build);
//! `CALLS="1 8 64"` picks the loads, `SECONDS=10` the virtual length of
//! each phase. Prints a Markdown table (docs/benchmarks.md).
//!
//! `ENGINE=duet|str0m|both` picks the relay: Duet's engine, a minimal str0m
//! SFU (`sim::str0m_relay`), or each in turn at every load, one table each,
//! to compare the engines on the same calls. The str0m relay is built only
//! with `--features compare-str0m` (default then `both`, else `duet`).
//!
//! `CLOCK=cpu` times the engine's calls by the thread's CPU time instead of
//! the wall clock, less the measured cost of reading that clock around
//! each call: on a machine busy with other work, time the benchmark spends
//! preempted inside a call then does not count (caches the other work
//! cooled still do).
//!
//! Each peer sends 320x240-like traffic: Opus every 20 ms (100 bytes) and
//! VP8 at 15 frames/s, 3 packets of 1,000 bytes per frame (the load tool's
//! shape), and runs `rtc`'s default interceptors (reports, NACK,
//! congestion feedback) as a browser does. Datagrams are delivered at
//! once; timers fire at their deadlines (`sim`).

// A benchmark's report is its output.
#![allow(clippy::print_stdout)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod sim;

use duet_server::media::inproc::InProcessEngine;
#[cfg(feature = "compare-str0m")]
use sim::str0m_relay::Str0mRelay;
use sim::{Media, Meter, Relay, Sim};

/// Counts heap allocations made while `COUNTING` is on (inside the
/// engine's calls only).
struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ALLOC_BYTES: AtomicU64 = AtomicU64::new(0);
/// Allocated minus freed while counting: the engine's heap.
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            ALLOC_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
            LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        }
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            ALLOC_BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
            LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// The engine's share of the run: time inside its calls (one thread,
/// nothing else runs) and its allocations.
#[derive(Default, Clone, Copy)]
struct Spent {
    time: Duration,
    /// Calls into the engine.
    calls: u64,
    allocs: u64,
    alloc_bytes: u64,
}

impl Spent {
    fn since(self, before: Spent) -> Spent {
        Spent {
            time: self.time - before.time,
            calls: self.calls - before.calls,
            allocs: self.allocs - before.allocs,
            alloc_bytes: self.alloc_bytes - before.alloc_bytes,
        }
    }

    /// The time less `overhead` per call (the clock's own cost).
    fn net(self, overhead: Duration) -> Duration {
        let calls = u32::try_from(self.calls).unwrap_or(u32::MAX);
        self.time.saturating_sub(overhead * calls)
    }
}

/// What times the engine's calls (`CLOCK`).
#[derive(Clone, Copy, PartialEq)]
enum Clock {
    Wall,
    /// The thread's CPU time.
    Cpu,
}

impl Clock {
    fn from_env() -> anyhow::Result<Clock> {
        match std::env::var("CLOCK").as_deref() {
            Ok("wall") | Err(_) => Ok(Clock::Wall),
            Ok("cpu") => Ok(Clock::Cpu),
            Ok(other) => anyhow::bail!("CLOCK={other}: wall or cpu"),
        }
    }

    /// The time since `origin` (wall) or the thread's CPU time so far.
    fn read(self, origin: Instant) -> Duration {
        match self {
            Clock::Wall => origin.elapsed(),
            Clock::Cpu => {
                let mut ts = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                // SAFETY: `ts` is a valid timespec for the call to fill.
                unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
                Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
            }
        }
    }

    /// What an empty enter/exit pair measures: the clock's cost inside the
    /// window. The least of 20 batches' means, so a preemption does not
    /// count.
    fn overhead(self) -> Duration {
        let mut c = Counting::new(self);
        (0..20)
            .map(|_| {
                let before = c.spent.time;
                for _ in 0..10_000 {
                    c.enter();
                    c.exit();
                }
                (c.spent.time - before) / 10_000
            })
            .min()
            .unwrap_or_default()
    }
}

/// Counts the engine's time and allocations (`Spent`) around its calls.
struct Counting {
    clock: Clock,
    origin: Instant,
    spent: Spent,
    start: Option<(Duration, u64, u64)>,
}

impl Counting {
    fn new(clock: Clock) -> Counting {
        Counting {
            clock,
            origin: Instant::now(),
            spent: Spent::default(),
            start: None,
        }
    }
}

impl Meter for Counting {
    fn enter(&mut self) {
        let allocs = ALLOCS.load(Ordering::Relaxed);
        let bytes = ALLOC_BYTES.load(Ordering::Relaxed);
        COUNTING.store(true, Ordering::Relaxed);
        self.start = Some((self.clock.read(self.origin), allocs, bytes));
    }

    fn exit(&mut self) {
        if let Some((start, allocs, bytes)) = self.start.take() {
            self.spent.time += self.clock.read(self.origin) - start;
            self.spent.calls += 1;
            COUNTING.store(false, Ordering::Relaxed);
            self.spent.allocs += ALLOCS.load(Ordering::Relaxed) - allocs;
            self.spent.alloc_bytes += ALLOC_BYTES.load(Ordering::Relaxed) - bytes;
        }
    }
}

struct Row {
    calls: u32,
    forwarded: u64,
    media: Spent,
    idle: Spent,
    idle_seconds: f64,
    idle_wakeups: u64,
    heap_per_call: f64,
}

fn measure<R: Relay>(
    calls: u32,
    seconds: u64,
    clock: Clock,
    make: impl FnOnce(std::net::SocketAddr) -> anyhow::Result<R>,
) -> anyhow::Result<Row> {
    LIVE_BYTES.store(0, Ordering::Relaxed);
    let mut sim = Sim::with_relay(Counting::new(clock), make)?;
    // Calls join over a second, as they would: each connection's timers
    // then run in their own phases, not all at one instant.
    let gap = Duration::from_secs(1) / calls.max(1);
    for n in 0..calls {
        sim.add_call(n)?;
        sim.run_for(gap, None);
    }
    sim.connect_all()?;
    // Media: warm up a second (streams open, maps built), then measure.
    let mut media = Media::new(sim.now);
    sim.run_for(Duration::from_secs(1), Some(&mut media));
    let (before, received) = (sim.meter.spent, sim.received());
    sim.run_for(Duration::from_secs(seconds), Some(&mut media));
    let forwarded = sim.received() - received;
    let media_spent = sim.meter.spent.since(before);
    // Then idle: connected, streams known, no media (after 2 s to settle).
    sim.run_for(Duration::from_secs(2), None);
    let (before, wakeups) = (sim.meter.spent, sim.wakeups);
    sim.run_for(Duration::from_secs(seconds), None);
    let idle = sim.meter.spent.since(before);
    let idle_wakeups = sim.wakeups - wakeups;
    anyhow::ensure!(forwarded > 0, "nothing was forwarded");
    anyhow::ensure!(sim.engine.forwarded() > 0, "the engine forwarded nothing");
    let heap_per_call = LIVE_BYTES.load(Ordering::Relaxed) as f64 / f64::from(calls);
    // The engine and peers are freed outside the meter, uncounted.
    drop(sim);
    Ok(Row {
        calls,
        forwarded,
        media: media_spent,
        idle,
        idle_seconds: seconds as f64,
        idle_wakeups,
        heap_per_call,
    })
}

/// The engines to compare.
#[derive(Clone, Copy, PartialEq)]
enum Contender {
    Duet,
    Str0m,
}

impl Contender {
    fn title(self) -> &'static str {
        match self {
            Contender::Duet => "Duet's engine (rtc 0.21.1)",
            Contender::Str0m => "str0m 0.25 relay (RTP mode)",
        }
    }

    fn measure(self, calls: u32, seconds: u64, clock: Clock) -> anyhow::Result<Row> {
        match self {
            Contender::Duet => measure(calls, seconds, clock, |addr| {
                Ok(InProcessEngine::new(addr)?)
            }),
            #[cfg(feature = "compare-str0m")]
            Contender::Str0m => measure(calls, seconds, clock, Str0mRelay::new),
            #[cfg(not(feature = "compare-str0m"))]
            Contender::Str0m => {
                anyhow::bail!("the str0m relay needs `--features compare-str0m`")
            }
        }
    }
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // useful either: the loads come from the environment.
    let calls: Vec<u32> = std::env::var("CALLS")
        .unwrap_or_else(|_| "1 8 64".to_owned())
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let seconds: u64 = std::env::var("SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let engines = match std::env::var("ENGINE").as_deref() {
        Ok("duet") => vec![Contender::Duet],
        Ok("str0m") => vec![Contender::Str0m],
        Ok("both") => vec![Contender::Duet, Contender::Str0m],
        // Both when the str0m relay is built in, else Duet's engine alone.
        Err(_) if cfg!(feature = "compare-str0m") => vec![Contender::Duet, Contender::Str0m],
        Err(_) => vec![Contender::Duet],
        Ok(other) => anyhow::bail!("ENGINE={other}: duet, str0m or both"),
    };
    let clock = Clock::from_env()?;
    // The wall clock's cost (a few tens of ns) is left in, as it always
    // was; the CPU clock's (a system call) is taken out.
    let overhead = match clock {
        Clock::Wall => Duration::ZERO,
        Clock::Cpu => clock.overhead(),
    };
    // Each load through each engine in turn, so both see the same machine.
    let mut rows: Vec<(Contender, Row)> = Vec::new();
    for &n in &calls {
        for &engine in &engines {
            rows.push((engine, engine.measure(n, seconds, clock)?));
        }
    }
    if clock == Clock::Cpu {
        println!();
        println!(
            "Thread CPU time, less {} ns per call into the engine (the clock's own cost).",
            overhead.as_nanos()
        );
    }
    for &engine in &engines {
        println!();
        println!("{}:", engine.title());
        println!();
        print_header();
        for (_, r) in rows.iter().filter(|(e, _)| *e == engine) {
            print_row(r, seconds, overhead);
        }
    }
    Ok(())
}

fn print_header() {
    println!(
        "| calls | forwarded pkt/s | engine µs/pkt | allocs/pkt | alloc bytes/pkt | idle call % of a core | idle allocs/call/s | idle timer wake-ups/s | engine heap KiB/call |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
}

fn print_row(r: &Row, seconds: u64, overhead: Duration) {
    let pkts = r.forwarded as f64;
    let idle_per_call = r.idle.net(overhead).as_secs_f64() / (r.idle_seconds * f64::from(r.calls));
    println!(
        "| {} | {:.0} | {:.2} | {:.1} | {:.0} | {:.4} % | {:.0} | {:.1} | {:.0} |",
        r.calls,
        pkts / seconds as f64,
        r.media.net(overhead).as_secs_f64() * 1e6 / pkts,
        r.media.allocs as f64 / pkts,
        r.media.alloc_bytes as f64 / pkts,
        idle_per_call * 100.0,
        r.idle.allocs as f64 / (r.idle_seconds * f64::from(r.calls)),
        r.idle_wakeups as f64 / r.idle_seconds,
        r.heap_per_call / 1024.0,
    );
}
