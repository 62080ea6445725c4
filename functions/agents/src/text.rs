//! Model-written text held to what the code promises downstream, and data laid out for
//! prompts.

/// `text` on one line: runs of whitespace (newlines included) become one space.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` on one line and at most `max` characters, cut at the last word that fits (or
/// mid-word when a single word is longer).
pub(crate) fn clip(text: &str, max: usize) -> String {
    let text = one_line(text);
    let Some((cut, _)) = text.char_indices().nth(max) else {
        return text;
    };
    let head = &text[..cut];
    let head = match head.rfind(' ') {
        // The cut fell between words: keep the whole head.
        _ if text[cut..].starts_with(' ') => head,
        Some(space) if space > 0 => &head[..space],
        _ => head,
    };
    head.trim_end_matches([' ', ',', ';', ':', '-', '—'])
        .to_owned()
}

/// The non-blank items, each on one line, without repeats (ignoring case), at most `max`.
pub(crate) fn tidy(items: Vec<String>, max: usize) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for item in items {
        let item = one_line(&item);
        if !item.is_empty() && !kept.iter().any(|k| k.eq_ignore_ascii_case(&item)) {
            kept.push(item);
        }
    }
    kept.truncate(max);
    kept
}

/// A rate as a percentage with `decimals` places: `0.0512` → `5.12%`.
pub(crate) fn percent(rate: f64, decimals: usize) -> String {
    format!("{:.*}%", decimals, rate * 100.0)
}

/// An integer with thousands separators: `120345` → `120,345`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_keeps_whole_words_on_one_line() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("Spring  picks\nfor you", 40), "Spring picks for you");
        assert_eq!(
            clip("Spring picks for loyal readers", 18),
            "Spring picks for"
        );
        assert_eq!(clip("Spring picks, for you", 13), "Spring picks");
        assert_eq!(clip("Supercalifragilistic", 5), "Super");
        assert_eq!(clip("ab cd", 2), "ab");
    }

    #[test]
    fn lists_lose_blanks_and_repeats() {
        let items = vec![
            " a ".into(),
            "".into(),
            "A".into(),
            "b\nc".into(),
            "d".into(),
        ];
        assert_eq!(tidy(items, 2), ["a", "b c"]);
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(percent(0.0512, 2), "5.12%");
        assert_eq!(thousands(120_345), "120,345");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
