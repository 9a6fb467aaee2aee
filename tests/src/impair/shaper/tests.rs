use std::time::Duration;

use super::*;
use crate::impair::scenario::Scenario;

const N: usize = 100_000;

/// Pushes `n` packets of `len` bytes, one every `every`, and returns the verdicts.
fn run(shaper: &mut Shaper, n: usize, len: usize, every: Duration) -> Vec<Verdict> {
    (0..n).map(|i| shaper.push(every * i as u32, len)).collect()
}

fn loss_rate(verdicts: &[Verdict]) -> f64 {
    let lost = verdicts
        .iter()
        .filter(|v| matches!(v, Verdict::Drop(DropReason::Loss)))
        .count();
    lost as f64 / verdicts.len() as f64
}

/// Lengths of the runs of consecutive losses.
fn bursts(verdicts: &[Verdict]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut run = 0;
    for v in verdicts {
        if matches!(v, Verdict::Drop(DropReason::Loss)) {
            run += 1;
        } else if run > 0 {
            out.push(run);
            run = 0;
        }
    }
    if run > 0 {
        out.push(run);
    }
    out
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn a_clean_link_delivers_everything_at_once() {
    let mut s = Shaper::new(LinkShape::clean(), 1);
    for i in 0..1000 {
        assert_eq!(s.push(ms(i), 1200), Verdict::Deliver { at: ms(i) });
    }
    assert_eq!(s.stats().delivered, 1000);
    assert_eq!(s.stats().dropped(), 0);
}

#[test]
fn random_loss_matches_p() {
    for p in [0.02, 0.05, 0.3] {
        let mut s = Shaper::new(LinkShape::clean().with_loss(Loss::Random { p }), 7);
        let rate = loss_rate(&run(&mut s, N, 100, ms(1)));
        // Binomial standard deviation at p = 0.3 is ~0.0015; 0.005 is over 3 of them.
        assert!((rate - p).abs() < 0.005, "p = {p}, measured {rate}");
        // Independent losses: bursts are short (mean 1 / (1 - p)).
        let b = bursts(&run(&mut s, N, 100, ms(1)));
        let mean = b.iter().sum::<usize>() as f64 / b.len() as f64;
        assert!(
            (mean - 1.0 / (1.0 - p)).abs() < 0.05,
            "p = {p}, bursts {mean}"
        );
    }
}

#[test]
fn gilbert_elliott_loses_its_mean_in_bursts() {
    let loss = Loss::GilbertElliott {
        p_good_to_bad: 0.01,
        p_bad_to_good: 0.25,
        loss_in_good: 0.0,
        loss_in_bad: 1.0,
    };
    let mut s = Shaper::new(LinkShape::clean().with_loss(loss), 11);
    let verdicts = run(&mut s, N, 100, ms(1));
    let rate = loss_rate(&verdicts);
    // Mean 0.01 / 0.26 ≈ 3.85 %; bursts make it noisier than random loss.
    assert!(
        (rate - loss.mean()).abs() < 0.006,
        "mean {}, measured {rate}",
        loss.mean()
    );
    let b = bursts(&verdicts);
    let mean = b.iter().sum::<usize>() as f64 / b.len() as f64;
    assert!((mean - 4.0).abs() < 0.3, "mean burst {mean}, want 1/0.25");
    // Random loss at the same rate would almost never lose 10 in a row; bursts of 4 on average
    // do so several times in 100k packets.
    assert!(
        b.iter().any(|&n| n >= 10),
        "longest burst {:?}",
        b.iter().max()
    );
}

#[test]
fn the_bursty_scenario_loses_about_three_percent() {
    let shape = Scenario::by_name("bursty").expect("bursty").mentor.up;
    let mut s = Shaper::new(shape, 3);
    let verdicts = run(&mut s, N, 100, ms(1));
    let rate = loss_rate(&verdicts);
    assert!((0.025..0.035).contains(&rate), "measured {rate}");
    let b = bursts(&verdicts);
    let mean = b.iter().sum::<usize>() as f64 / b.len() as f64;
    assert!(mean > 2.5, "mean burst {mean}");
}

#[test]
fn a_rate_cap_delivers_the_cap_and_drops_the_excess() {
    // 1 Mbit/s offered (1250-byte packets every 10 ms) into a 500 kbit/s link for 10 s.
    let mut s = Shaper::new(LinkShape::clean().with_rate(500), 5);
    let verdicts = run(&mut s, 1000, 1250, ms(10));
    let delivered_bits = s.stats().delivered_bytes as f64 * 8.0;
    let kbps = delivered_bits / 10.0 / 1000.0;
    assert!((475.0..=525.0).contains(&kbps), "delivered {kbps} kbit/s");
    assert_eq!(s.stats().dropped_queue, s.stats().dropped());
    assert!(s.stats().dropped_queue >= 450, "{:?}", s.stats());
    // Nothing waits longer than the queue allows, plus its own transmission (20 ms).
    for (i, v) in verdicts.iter().enumerate() {
        if let Verdict::Deliver { at } = v {
            let wait = *at - ms(10) * i as u32;
            assert!(wait <= ms(220), "packet {i} waited {wait:?}");
        }
    }
}

#[test]
fn under_the_cap_nothing_is_dropped_and_each_packet_takes_its_transmission_time() {
    let mut s = Shaper::new(LinkShape::clean().with_rate(1000), 5);
    // 1000 bytes at 1 Mbit/s take 8 ms; sent every 10 ms they never queue.
    for i in 0..100 {
        let now = ms(10 * i);
        assert_eq!(s.push(now, 1000), Verdict::Deliver { at: now + ms(8) });
    }
}

#[test]
fn delay_and_jitter_stay_in_bounds_and_never_reorder() {
    let shape = LinkShape::clean().with_delay(75, 30);
    // 2 packets per millisecond (jitter would reorder them without the guard), then one per
    // 20 ms (where the guard rarely bites and the spread shows).
    for (seed, spacing) in [(9, Duration::from_micros(500)), (10, ms(20))] {
        let mut s = Shaper::new(shape, seed);
        let mut last = Duration::ZERO;
        let (mut early, mut late) = (0, 0);
        for i in 0..N as u32 {
            let now = spacing * i;
            let Verdict::Deliver { at } = s.push(now, 200) else {
                panic!("a lossless link dropped packet {i}");
            };
            assert!(at >= last, "packet {i} overtook the one before");
            let delay = at - now;
            assert!(delay >= ms(45) && delay <= ms(105), "packet {i}: {delay:?}");
            early += usize::from(delay < ms(60));
            late += usize::from(delay > ms(90));
            last = at;
        }
        if spacing == ms(20) {
            // The jitter is real: delays spread over the whole range.
            assert!(
                early > N / 20 && late > N / 20,
                "{early} early, {late} late"
            );
        }
    }
}

#[test]
fn an_outage_drops_everything_until_it_ends() {
    let mut s = Shaper::new(LinkShape::clean().with_delay(20, 0), 1);
    s.set_outage(ms(1000));
    for i in 0..100 {
        assert_eq!(s.push(ms(10 * i), 100), Verdict::Drop(DropReason::Outage));
    }
    assert_eq!(s.push(ms(1000), 100), Verdict::Deliver { at: ms(1020) });
    assert_eq!(s.stats().dropped_outage, 100);
    assert_eq!(s.stats().delivered, 1);
}

#[test]
fn one_seed_gives_one_outcome() {
    let shape = LinkShape::clean()
        .with_loss(Loss::Random { p: 0.1 })
        .with_delay(50, 20)
        .with_rate(300);
    let mut a = Shaper::new(shape, 42);
    let mut b = Shaper::new(shape, 42);
    let mut c = Shaper::new(shape, 43);
    let va = run(&mut a, 10_000, 500, ms(5));
    assert_eq!(va, run(&mut b, 10_000, 500, ms(5)));
    assert_ne!(va, run(&mut c, 10_000, 500, ms(5)));
}

#[test]
fn changing_the_shape_keeps_order() {
    let mut s = Shaper::new(LinkShape::clean().with_delay(200, 0), 1);
    let Verdict::Deliver { at: first } = s.push(ms(0), 100) else {
        panic!("dropped");
    };
    s.set_shape(LinkShape::clean());
    let Verdict::Deliver { at: second } = s.push(ms(1), 100) else {
        panic!("dropped");
    };
    assert_eq!(first, ms(200));
    assert!(second >= first);
}
