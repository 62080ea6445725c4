//! Human-readable output: tables, times, money. `--json` output never goes through here.

use serde_json::Value;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A plain-text table with a header row; columns as wide as their widest cell.
pub fn table(columns: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (header, _))| {
            rows.iter()
                .filter_map(|row| row.get(i))
                .map(|cell| cell.chars().count())
                .chain([header.chars().count()])
                .max()
                .unwrap_or_default()
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(columns)
            .zip(&widths)
            .map(|((cell, (_, align)), width)| match align {
                Align::Left => format!("{cell:<width$}"),
                Align::Right => format!("{cell:>width$}"),
            })
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(columns.iter().map(|(h, _)| *h).collect())];
    out.extend(
        rows.iter()
            .map(|row| line(row.iter().map(String::as_str).collect())),
    );
    out.join("\n")
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
    let Some(ms) = value.as_u64() else {
        return "-".to_owned();
    };
    let secs = ms / 1000;
    let (days, of_day) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Days since 1970-01-01 to a calendar date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
