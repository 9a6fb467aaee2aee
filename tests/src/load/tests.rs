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
