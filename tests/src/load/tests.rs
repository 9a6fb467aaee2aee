use super::*;

#[test]
fn derives_the_websocket_url() {
    assert_eq!(
        ws_url_for("http://127.0.0.1:8080/"),
        "ws://127.0.0.1:8080/api/v1/ws"
    );
    assert_eq!(
        ws_url_for("https://duet.example"),
        "wss://duet.example/api/v1/ws"
    );
    assert_eq!(ws_url_for("10.0.0.1:80"), "ws://10.0.0.1:80/api/v1/ws");
}

#[test]
fn parses_shapes() {
    assert_eq!(Shape::parse("320x240"), Some(Shape::Small));
    assert_eq!(Shape::parse("640x480@30"), Some(Shape::Large));
    assert_eq!(Shape::parse("1280x720"), None);
    for name in Shape::NAMES {
        let shape = Shape::parse(name).expect("a listed name parses");
        assert!(crate::ivf::fixture_path(shape.fixture()).exists());
    }
}

#[test]
fn parses_peer_kinds_and_defaults_to_webrtc() {
    assert_eq!(PeerKind::default(), PeerKind::Webrtc);
    assert_eq!(LoadConfig::new("http://x", "k").peers, PeerKind::Webrtc);
    for name in PeerKind::NAMES {
        let kind = PeerKind::parse(name).expect("a listed name parses");
        assert_eq!(kind.name(), name);
    }
    assert_eq!(PeerKind::parse("browser"), None);
}

/// A `/proc/<pid>/stat` line whose command name holds spaces and both parentheses, so a
/// parser that splits on whitespace, or stops at the first `)`, reads the wrong fields.
const STAT: &str = "4242 (duet (serve) ) x) R 1 4242 4242 0 -1 4194560 1234 0 0 0 \
                    1234 567 0 0 20 0 12 0 100 123456789 2048 18446744073709551615";

#[test]
fn parses_user_and_kernel_cpu_apart() {
    let cpu = procstat::cpu_times(STAT).expect("parsed");
    assert_eq!(cpu.user, Duration::from_millis(12_340));
    assert_eq!(cpu.system, Duration::from_millis(5_670));
    assert_eq!(cpu.total(), Duration::from_millis(18_010));
    assert_eq!(procstat::cpu_time(STAT).expect("parsed"), cpu.total());

    // A stime that is not a number is an error naming the field, not a zero.
    let bad = STAT.replace(" 567 ", " 5x7 ");
    let err = procstat::cpu_times(&bad).expect_err("stime is not a number");
    assert!(matches!(
        err,
        procstat::ProcError::BadNumber { field: "stime", .. }
    ));
    // A line cut after utime has no stime.
    let cut = &STAT[..STAT.find(" 567 ").expect("stime in the sample")];
    assert!(matches!(
        procstat::cpu_times(cut),
        Err(procstat::ProcError::MissingField("stime"))
    ));
}

#[test]
fn server_report_splits_cpu_per_packet() {
    let at = |user_ms: u64, system_ms: u64, rss_kib: u64| ProcSample {
        cpu: procstat::CpuTimes {
            user: Duration::from_millis(user_ms),
            system: Duration::from_millis(system_ms),
        },
        rss_kib,
        // The code paged in is 1,000 KiB of the growth.
        anon_kib: rss_kib.saturating_sub(1000),
    };
    // 300 ms user and 100 ms kernel over 2 s while 20,000 packets were forwarded.
    let r = server_report(
        7,
        [at(0, 0, 1000), at(1000, 500, 2000), at(1300, 600, 5000)],
        20_000,
        2.0,
        4,
    );
    assert_eq!((r.duet_user_us, r.duet_system_us), (300_000, 100_000));
    assert_eq!(r.cpu_us, r.duet_user_us + r.duet_system_us);
    assert_eq!(r.duet_user_us_per_packet, 15.0);
    assert_eq!(r.duet_system_us_per_packet, 5.0);
    assert_eq!(r.cpu_us_per_packet, 20.0);
    assert_eq!(r.cpu_percent, 20.0);
    assert_eq!(r.rss_per_call_kib, 1000.0);
    assert_eq!(r.anon_per_call_kib, 1000.0);

    // The existing fields stay for the scripts that parse them; the split comes beside them.
    let json = serde_json::to_value(&r).expect("serializes");
    for key in [
        "cpu_us",
        "cpu_us_per_packet",
        "cpu_percent",
        "duet_user_us",
        "duet_system_us",
        "duet_user_us_per_packet",
        "duet_system_us_per_packet",
    ] {
        assert!(json.get(key).is_some(), "{key} in the JSON");
    }

    // Nothing forwarded: per-packet costs are 0, not NaN (which JSON cannot carry).
    let idle = server_report(7, [at(0, 0, 1), at(0, 0, 1), at(10, 10, 1)], 0, 1.0, 1);
    assert_eq!(idle.duet_user_us_per_packet, 0.0);
    assert_eq!(idle.duet_system_us_per_packet, 0.0);
}

#[test]
fn idle_cost_is_a_share_of_one_core_per_call() {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    // 32 idle calls took 80 ms of CPU over 5 s: 1.6 % of a core, 0.05 % per call.
    let idle = IdleCost::new(80_000, 5.0, 32);
    assert_eq!(idle.idle_cpu_us, 80_000);
    assert_eq!(idle.idle_window_s, 5.0);
    assert!(
        close(idle.idle_percent_per_call, 0.05),
        "{}",
        idle.idle_percent_per_call
    );
    // The target, 0.1 % of a core per call, is 1 ms of CPU per call-second.
    let at_target = IdleCost::new(1_000 * 10 * 4, 4.0, 10);
    assert!(close(at_target.idle_percent_per_call, 0.1));
    // Nothing spent is 0, not NaN; so is a degenerate window or call count.
    assert_eq!(IdleCost::new(0, 5.0, 1).idle_percent_per_call, 0.0);
    assert!(
        IdleCost::new(10_000, 0.0, 0)
            .idle_percent_per_call
            .is_finite()
    );
}

#[test]
fn an_idle_call_costs_what_it_adds_to_the_empty_server() {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    // 8 idle calls: 2 % of a core over 5 s; the empty server 0.8 % over 5 s.
    let empty = EmptyCost {
        empty_cpu_us: 40_000,
        empty_window_s: 5.0,
    };
    let idle = IdleCost::new(100_000, 5.0, 8).above(empty, 8);
    assert!(close(idle.idle_percent_per_call, 0.25));
    let above = idle.idle_percent_per_call_above_empty.expect("computed");
    assert!(close(above, 0.15), "{above}");
    // Windows of other lengths compare as rates, not as totals.
    let long_empty = EmptyCost {
        empty_cpu_us: 80_000,
        empty_window_s: 10.0,
    };
    let same = IdleCost::new(100_000, 5.0, 8).above(long_empty, 8);
    assert_eq!(same.idle_percent_per_call_above_empty, Some(above));
    // An empty window that read a tick higher is zero, never a negative cost.
    let noisy = IdleCost::new(10_000, 5.0, 1).above(
        EmptyCost {
            empty_cpu_us: 20_000,
            empty_window_s: 5.0,
        },
        1,
    );
    assert_eq!(noisy.idle_percent_per_call_above_empty, Some(0.0));
    let json = serde_json::to_value(&idle).expect("serializes");
    assert_eq!(json["empty_cpu_us"], 40_000);
    assert!(json.get("idle_percent_per_call_above_empty").is_some());
    // Without an empty window the fields are absent.
    let json = serde_json::to_value(IdleCost::new(1, 1.0, 1)).expect("serializes");
    assert!(json.get("empty_cpu_us").is_none());
    assert!(json.get("idle_percent_per_call_above_empty").is_none());
}

#[test]
fn idle_cost_sits_beside_the_other_server_fields() {
    let at = |cpu_ms: u64| ProcSample {
        cpu: procstat::CpuTimes {
            user: Duration::from_millis(cpu_ms),
            system: Duration::ZERO,
        },
        rss_kib: 1,
        anon_kib: 1,
    };
    let measured = server_report(7, [at(0), at(0), at(10)], 100, 1.0, 2);
    let keys = ["idle_cpu_us", "idle_window_s", "idle_percent_per_call"];

    // Skipped (`--idle 0`): the fields are absent, as in reports from before them.
    let json = serde_json::to_value(&measured).expect("serializes");
    for key in keys {
        assert!(json.get(key).is_none(), "{key} without an idle window");
    }

    let with_idle = ServerReport {
        idle: Some(IdleCost::new(2_000, 2.0, 2)),
        ..measured
    };
    let json = serde_json::to_value(&with_idle).expect("serializes");
    for key in keys {
        assert!(json.get(key).is_some(), "{key} in the JSON");
    }
    assert_eq!(json["idle_percent_per_call"], 0.05);
    // The media window's fields are all still there.
    assert_eq!(json["cpu_us"], 10_000);
    assert!(json.get("rss_per_call_kib").is_some());
}
