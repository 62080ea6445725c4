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
    fn durations_and_money() {
        assert_eq!(millis(&json!(850)), "850 ms");
        assert_eq!(millis(&json!(12_340)), "12.3 s");
        assert_eq!(cost(&json!(0.00123)), "$0.0012");
    }
}
