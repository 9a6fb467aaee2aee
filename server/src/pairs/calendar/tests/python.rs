//! The calendar files as a parser that is not ours reads them.

use std::path::Path;
use std::process::Command;

use chrono_tz::{Africa, America, Asia, Australia, Europe};

use super::*;

const WEEK: i64 = 7 * 24 * 60 * 60 * 1000;

/// The files as an independent parser (PyPI's `icalendar`, with
/// `recurring-ical-events` expanding the series) reads them: see
/// tests/fixtures/calendar/check_ics.py. tests/run.sh installs both and
/// names their folder in DUET_TEST_PYTHONPATH. Without them the test
/// fails, saying so: a skipped check would look like a passed one.
#[test]
fn icalendar_reads_our_files() {
    let berlin = berlin_weekly();
    let ny = schedule(utc_ms(2027, 3, 20, 14, 0), America::New_York, None);
    let sydney = schedule(
        utc_ms(2027, 1, 14, 23, 0),
        Australia::Sydney,
        Some(Recurrence::Weekly),
    );
    let tokyo = schedule(
        utc_ms(2027, 3, 20, 1, 0),
        Asia::Tokyo,
        Some(Recurrence::Monthly),
    );
    let casablanca = schedule(utc_ms(2020, 3, 1, 9, 0), Africa::Casablanca, None);
    let dublin = schedule(utc_ms(2027, 3, 1, 9, 0), Europe::Dublin, None);
    let mut invites = vec![invite(&berlin)];
    for (n, s) in [&ny, &sydney, &tokyo, &casablanca, &dublin]
        .into_iter()
        .enumerate()
    {
        let mut i = invite(s);
        i.uid = format!("event-{n}@duet.example.org");
        invites.push(i);
    }
    invites[1].status = InviteStatus::Cancelled;
    invites[1].sequence = 7;

    let dir = tempfile::tempdir().unwrap();
    let invite_path = dir.path().join("invite.ics");
    let feed_path = dir.path().join("feed.ics");
    std::fs::write(&invite_path, invite_ics(&invites[0])).unwrap();
    std::fs::write(&feed_path, feed_ics("Ann & Bob", &invites)).unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/calendar/check_ics.py");
    let mut python = Command::new("python3");
    python.arg(&script).arg(&invite_path).arg(&feed_path);
    // Where tests/run.sh installed the parser; a developer may instead have
    // it in the system's Python.
    if let Some(dir) = std::env::var_os("DUET_TEST_PYTHONPATH") {
        let mut path = vec![std::path::PathBuf::from(dir)];
        path.extend(
            std::env::var_os("PYTHONPATH")
                .iter()
                .flat_map(std::env::split_paths),
        );
        python.env("PYTHONPATH", std::env::join_paths(path).unwrap());
    }
    let out = python
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): this test needs it with PyPI's icalendar and recurring-ical-events; tests/run.sh installs them")
        });
    assert!(
        out.status.success(),
        "check_ics.py failed (tests/run.sh installs what it needs):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let invite = &got["invite"];
    assert_eq!(invite["method"], "REQUEST");
    let event = &invite["events"][0];
    assert_eq!(
        event["uid"],
        "0b7e6a52-4a4f-4d4e-9a53-1f3c5d2e8a10@duet.example.org"
    );
    assert_eq!(event["sequence"], 3);
    assert_eq!(event["status"], "CONFIRMED");
    assert_eq!(event["rrule"], "FREQ=WEEKLY");
    assert_eq!(event["summary"], "Mentoring: Ann and Bob");
    assert_eq!(
        event["attendees"],
        serde_json::json!(["mailto:ann@example.org", "mailto:bob@example.org"])
    );
    // 16 and 23 March at 08:00Z, then 07:00Z after Berlin's change; 6
    // April is skipped.
    assert_eq!(
        event["starts_utc"],
        serde_json::json!([
            "2027-03-16T08:00:00Z",
            "2027-03-23T08:00:00Z",
            "2027-03-30T07:00:00Z",
            "2027-04-13T07:00:00Z"
        ])
    );
    assert_eq!(
        event["starts_berlin"],
        serde_json::json!(["09:00", "09:00", "09:00", "09:00"])
    );
    let expected: Vec<i64> = berlin
        .occurrences_between(berlin.starts_at_ms, berlin.starts_at_ms + 5 * WEEK, 4)
        .iter()
        .map(|o| o.start_ms / 1000)
        .collect();
    assert_eq!(event["starts_unix"], serde_json::json!(expected));

    let feed = &got["feed"];
    assert_eq!(feed["method"], "PUBLISH");
    assert_eq!(feed["name"], "Ann & Bob");
    let statuses: Vec<(String, String, i64)> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["uid"].as_str().unwrap().to_owned(),
                e["status"].as_str().unwrap().to_owned(),
                e["sequence"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(statuses.len(), 6);
    assert_eq!(
        statuses[1],
        ("event-0@duet.example.org".into(), "CANCELLED".into(), 7)
    );
    // Every VTIMEZONE, read as its own definition (not looked up by name),
    // gives the tz database's offsets over two years of each series and
    // the rest of the year of each single event.
    let zones = feed["timezones"].as_object().unwrap();
    assert_eq!(zones.len(), 6, "{zones:?}");
    for (name, check) in zones {
        assert!(check["checked"].as_i64().unwrap() > 1000, "{name}: {check}");
        assert_eq!(
            check["mismatches"],
            serde_json::json!([]),
            "{name}: {check}"
        );
    }
}
