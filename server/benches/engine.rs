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

use sim::{Media, Meter, Sim};

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

/// The engine's share of the run: wall time inside its calls (one thread,
/// nothing else runs) and its allocations.
#[derive(Default, Clone, Copy)]
struct Spent {
    time: Duration,
    allocs: u64,
    alloc_bytes: u64,
}

impl Spent {
    fn since(self, before: Spent) -> Spent {
        Spent {
            time: self.time - before.time,
            allocs: self.allocs - before.allocs,
            alloc_bytes: self.alloc_bytes - before.alloc_bytes,
        }
    }
}

/// Counts the engine's time and allocations (`Spent`) around its calls.
#[derive(Default)]
struct Counting {
    spent: Spent,
    start: Option<(Instant, u64, u64)>,
}

impl Meter for Counting {
    fn enter(&mut self) {
        let allocs = ALLOCS.load(Ordering::Relaxed);
        let bytes = ALLOC_BYTES.load(Ordering::Relaxed);
        COUNTING.store(true, Ordering::Relaxed);
        self.start = Some((Instant::now(), allocs, bytes));
    }

    fn exit(&mut self) {
        if let Some((start, allocs, bytes)) = self.start.take() {
            self.spent.time += start.elapsed();
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

fn measure(calls: u32, seconds: u64) -> anyhow::Result<Row> {
    LIVE_BYTES.store(0, Ordering::Relaxed);
    let mut sim = Sim::new(Counting::default())?;
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
    anyhow::ensure!(
        sim.engine.counters().rtp_forwarded > 0,
        "the engine forwarded nothing"
    );
    Ok(Row {
        calls,
        forwarded,
        media: media_spent,
        idle,
        idle_seconds: seconds as f64,
        idle_wakeups,
        heap_per_call: LIVE_BYTES.load(Ordering::Relaxed) as f64 / f64::from(calls),
    })
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
    println!(
        "| calls | forwarded pkt/s | engine µs/pkt | allocs/pkt | alloc bytes/pkt | idle call % of a core | idle allocs/call/s | idle timer wake-ups/s | engine heap KiB/call |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in calls {
        let r = measure(n, seconds)?;
        let pkts = r.forwarded as f64;
        let idle_per_call = r.idle.time.as_secs_f64() / (r.idle_seconds * f64::from(r.calls));
        println!(
            "| {} | {:.0} | {:.2} | {:.1} | {:.0} | {:.4} % | {:.0} | {:.1} | {:.0} |",
            r.calls,
            pkts / seconds as f64,
            r.media.time.as_secs_f64() * 1e6 / pkts,
            r.media.allocs as f64 / pkts,
            r.media.alloc_bytes as f64 / pkts,
            idle_per_call * 100.0,
            r.idle.allocs as f64 / (r.idle_seconds * f64::from(r.calls)),
            r.idle_wakeups as f64 / r.idle_seconds,
            r.heap_per_call / 1024.0,
        );
    }
    Ok(())
}
