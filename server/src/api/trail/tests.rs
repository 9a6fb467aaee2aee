//! Tests of `trail`.

use super::*;

#[test]
fn csv_quotes_and_defuses_formulas() {
    assert_eq!(cell("plain"), "plain");
    assert_eq!(cell("a,b"), "\"a,b\"");
    assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    assert_eq!(cell("-5"), "-5");
    assert_eq!(cell("\t=1+1"), "'\t=1+1");
    assert_eq!(cell("\r=1+1"), "\"'\r=1+1\"");
    let rows = vec![json!({"seq": 1, "action": "consent", "detail": "x\ny"})];
    let csv = to_csv(&rows);
    let mut lines = csv.split("\r\n");
    assert_eq!(lines.next(), Some(COLUMNS.join(",").as_str()));
    assert_eq!(lines.next(), Some("1,,,,consent,,,,,,\"x\ny\""));
}
