//! VerneMQ's human-readable output: tables with `+---+` borders and centred cells, as
//! `vmq-admin` prints them.

use serde_json::Value;

/// A cell's text: strings without quotes, `null` as empty.
pub fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Renders a table; an empty table renders as nothing (VerneMQ prints no table then).
pub fn render(columns: &[String], rows: &[Vec<Value>]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let text: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(cell).collect()).collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            text.iter()
                .filter_map(|r| r.get(i))
                .flat_map(|s| s.lines())
                .map(|l| l.chars().count())
                .chain(std::iter::once(c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let border: String = widths
        .iter()
        .map(|w| "-".repeat(*w))
        .collect::<Vec<_>>()
        .join("+");
    let border = format!("+{border}+\n");
    let line = |cells: &[String]| -> String {
        let inner: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(i, w)| centre(cells.get(i).map_or("", String::as_str), *w))
            .collect();
        format!("|{}|\n", inner.join("|"))
    };
    let mut out = border.clone();
    out.push_str(&line(columns));
    out.push_str(&border);
    for row in &text {
        // A multi-line cell (plugin hooks) spans several lines.
        let height = row
            .iter()
            .map(|c| c.lines().count().max(1))
            .max()
            .unwrap_or(1);
        for l in 0..height {
            let cells: Vec<String> = row
                .iter()
                .map(|c| c.lines().nth(l).unwrap_or("").to_string())
                .collect();
            out.push_str(&line(&cells));
        }
    }
    out.push_str(&border);
    out
}

fn centre(s: &str, width: usize) -> String {
    let len = s.chars().count();
    let pad = width.saturating_sub(len);
    let left = pad / 2;
    format!("{}{}{}", " ".repeat(left), s, " ".repeat(pad - left))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_vernemq() {
        let t = render(
            &["client_id".into(), "is_online".into()],
            &[vec!["client2".into(), true.into()]],
        );
        assert_eq!(
            t,
            "+---------+---------+\n|client_id|is_online|\n+---------+---------+\n| client2 |  true   |\n+---------+---------+\n"
        );
    }
}
