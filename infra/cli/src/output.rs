//! Human-readable output: tables, times, money. `--json` output never goes through here.

use serde_json::Value;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A plain-text table with a header row; columns as wide as their widest cell, two spaces
/// apart, no borders (it goes into terminals and logs alike).
pub fn table(columns: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(columns.iter().map(|(header, _)| *header));
    for row in rows {
        table.add_row(row);
    }
    for (column, (_, align)) in table.column_iter_mut().zip(columns) {
        column.set_padding((0, 2));
        column.set_cell_alignment(match align {
            Align::Left => comfy_table::CellAlignment::Left,
            Align::Right => comfy_table::CellAlignment::Right,
        });
    }
    table
        .lines()
        .map(|line| line.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn cost(value: &Value) -> String {
    format!("${:.4}", value.as_f64().unwrap_or_default())
}

pub fn count(value: &Value) -> String {
    value.as_u64().unwrap_or_default().to_string()
}

pub fn millis(value: &Value) -> String {
    match value.as_u64() {
        Some(ms) if ms >= 10_000 => format!("{:.1} s", ms as f64 / 1000.0),
        Some(ms) => format!("{ms} ms"),
        None => "-".to_owned(),
    }
}

/// Epoch milliseconds as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn timestamp(value: &Value) -> String {
    const FORMAT: &[time::format_description::FormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    value
        .as_u64()
        .and_then(|ms| {
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
        })
        .and_then(|at| at.format(FORMAT).ok())
        .unwrap_or_else(|| "-".to_owned())
}

/// Prints exactly one JSON document.
pub fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// The longest summary value shown on one line of a terminal.
const SUMMARY_VALUE_CHARS: usize = 100;

/// A gate's declared summary (`summary_fields` of an approval), one aligned line per field:
/// a string as it is, anything else as its JSON, a dash where there is no value.
pub fn summary_lines(approval: &Value, indent: &str) -> Vec<String> {
    let fields: Vec<(String, String)> = approval["summary_fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|field| {
            let value = match field["value"].as_str() {
                None => "—".to_owned(),
                Some(json) => match serde_json::from_str::<Value>(json) {
                    Ok(Value::String(text)) => text,
                    _ => json.to_owned(),
                },
            };
            let value: String = value.split_whitespace().collect::<Vec<_>>().join(" ");
            let value = match value.char_indices().nth(SUMMARY_VALUE_CHARS) {
                Some((cut, _)) => format!("{}…", &value[..cut]),
                None => value,
            };
            (text(&field["label"]), value)
        })
        .collect();
    let width = fields
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    fields
        .into_iter()
        .map(|(label, value)| {
            let pad = " ".repeat(width - label.chars().count());
            format!("{indent}{label}:{pad} {value}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_columns() {
        let out = table(
            &[("step", Align::Left), ("cost", Align::Right)],
            &[
                vec!["analyze".into(), "$0.1".into()],
                vec!["qa".into(), "$10.25".into()],
            ],
        );
        assert_eq!(out, "step       cost\nanalyze    $0.1\nqa       $10.25");
    }

    #[test]
    fn timestamps_are_utc_dates() {
        assert_eq!(timestamp(&json!(0)), "1970-01-01 00:00:00");
        assert_eq!(
            timestamp(&json!(1_732_147_200_000u64)),
            "2024-11-21 00:00:00"
        );
        assert_eq!(timestamp(&json!(951_825_600_000u64)), "2000-02-29 12:00:00");
        assert_eq!(timestamp(&Value::Null), "-");
    }

    #[test]
    fn a_gate_summary_prints_one_aligned_line_per_field() {
        let approval = json!({ "summary_fields": [
            { "label": "Total (USD)", "value": "12500.5" },
            { "label": "Requester", "value": "\"ada\\nlovelace\"" },
            { "label": "Lines", "value": "[\"a\",\"b\"]" },
            { "label": "Note" },
            { "label": "Body", "value": serde_json::to_string(&"x".repeat(300)).unwrap_or_default() },
        ]});
        let lines = summary_lines(&approval, "  ");
        assert_eq!(lines[0], "  Total (USD): 12500.5");
        assert_eq!(lines[1], "  Requester:   ada lovelace");
        assert_eq!(lines[2], "  Lines:       [\"a\",\"b\"]");
        assert_eq!(lines[3], "  Note:        —");
        assert_eq!(lines[4].chars().count(), 2 + 13 + SUMMARY_VALUE_CHARS + 1);
        assert!(summary_lines(&json!({}), "").is_empty());
    }

    #[test]
    fn durations_and_money() {
        assert_eq!(millis(&json!(850)), "850 ms");
        assert_eq!(millis(&json!(12_340)), "12.3 s");
        assert_eq!(cost(&json!(0.00123)), "$0.0012");
    }
}
