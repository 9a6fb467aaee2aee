//! CSV export on arbitrary text (names, details, ids are user input):
//! every cell reads back as exactly what was stored (with a leading `'`
//! when a spreadsheet would run it as a formula), rows never split or
//! merge, and no cell starts a formula.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{COLUMNS, cell, to_csv};
use crate::tests_fuzz::config;

/// An RFC 4180 reader: records of fields, CRLF between records, quoted
/// fields with doubled quotes. Fails on anything a CSV reader would reject.
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => {
                quoted = false;
                if !matches!(chars.peek(), None | Some(',') | Some('\r')) {
                    return Err("text after a closing quote".into());
                }
            }
            (true, c) => field.push(c),
            (false, '"') if at_field_start => {
                quoted = true;
                at_field_start = false;
                continue;
            }
            (false, '"') => return Err("a quote inside an unquoted field".into()),
            (false, ',') => {
                record.push(std::mem::take(&mut field));
                at_field_start = true;
                continue;
            }
            (false, '\r') => {
                if chars.next() != Some('\n') {
                    return Err("CR without LF".into());
                }
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                at_field_start = true;
                continue;
            }
            (false, '\n') => return Err("a bare LF outside quotes".into()),
            (false, c) => field.push(c),
        }
        at_field_start = false;
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    if !field.is_empty() || !record.is_empty() {
        return Err("last record not terminated".into());
    }
    Ok(records)
}

/// OWASP's CSV-injection starters, tab and carriage return included.
fn is_formula(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err()
}

/// Text with the characters that matter to CSV and spreadsheets often.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,40}", "[=+@\"',\t\r\n a-z0-9-]{0,20}", any::<String>(),]
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn a_cell_reads_back_as_its_text(s in text()) {
        let line = format!("{}\r\n", cell(&s));
        let records = parse_csv(&line).map_err(TestCaseError::fail)?;
        prop_assert_eq!(records.len(), 1);
        prop_assert_eq!(records[0].len(), 1);
        let got = &records[0][0];
        if is_formula(&s) {
            prop_assert_eq!(got, &format!("'{s}"));
        } else {
            prop_assert_eq!(got, &s);
        }
        prop_assert!(!is_formula(got));
    }

    #[test]
    fn rows_keep_their_shape(rows in proptest::collection::vec(
        proptest::collection::vec(
            prop_oneof![
                text().prop_map(Value::String),
                any::<i64>().prop_map(|n| json!(n)),
                Just(Value::Null),
                text().prop_map(|s| json!({ "nested": s })),
            ],
            COLUMNS.len(),
        ),
        0..8,
    )) {
        let rows: Vec<Value> = rows
            .into_iter()
            .map(|cells| Value::Object(
                COLUMNS.iter().map(|c| c.to_string()).zip(cells).collect(),
            ))
            .collect();
        let csv = to_csv(&rows);
        let records = parse_csv(&csv).map_err(TestCaseError::fail)?;
        prop_assert_eq!(records.len(), rows.len() + 1);
        for record in &records {
            prop_assert_eq!(record.len(), COLUMNS.len());
            for field in record {
                prop_assert!(!is_formula(field), "a cell starts a formula: {:?}", field);
            }
        }
    }
}
