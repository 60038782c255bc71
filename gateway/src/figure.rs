//! Figures as a person reads them: the numbers drawn as a bar chart on the
//! server (SVG, no script library), the same numbers in a table beside it
//! (the chart is a picture of the table, so a screen reader reads the
//! table), and the table as a CSV file to download.
//!
//! A figure holds counts only: a category per row (a school, a month, a
//! kind of request) and one or more series (requested, allocated), never a
//! pupil. The CSV is what Dutch spreadsheets open without an import step:
//! UTF-8 with a byte-order mark, `;` between fields (the decimal comma
//! needs the comma), quoted by the `csv` crate where a field needs it.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// One figure: a caption, the category column's heading, the series'
/// names and a row per category.
#[derive(Debug, Clone)]
pub(crate) struct Figure {
    /// Used in the page's ids and the CSV's file name: ASCII, no spaces.
    pub(crate) id: &'static str,
    /// The caption, in Dutch ("Aanvragen per maand").
    pub(crate) caption: String,
    /// The heading of the category column ("Maand", "School").
    pub(crate) category: String,
    /// The series' names ("Aangevraagd", "Toegekend"); at most four.
    pub(crate) series: Vec<String>,
    pub(crate) rows: Vec<Row>,
}

/// One category's values, one per series.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) label: String,
    pub(crate) values: Vec<i64>,
}

/// Height of one bar, and the gap between a category's bars and the next.
const BAR: u32 = 14;
const GAP: u32 = 10;
/// Where the bars start (the labels are left of it) and their full length.
const LABEL_WIDTH: u32 = 250;
const BAR_WIDTH: u32 = 320;
/// Room for the value after the longest bar.
const VALUE_WIDTH: u32 = 70;
/// The series' colours: distinguishable in grey scale and for the common
/// colour-vision deficiencies (Okabe–Ito), each on white at ≥ 3:1.
const FILLS: [&str; 4] = ["#0072b2", "#d55e00", "#009e73", "#cc79a7"];

impl Figure {
    /// The largest value of the figure (at least 1, the chart's scale).
    fn scale(&self) -> i64 {
        self.rows
            .iter()
            .flat_map(|r| r.values.iter().copied())
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// The bar chart as an inline SVG element: horizontal bars, one group
    /// per row, a legend when there is more than one series. The table
    /// beside it carries the numbers for assistive technology; the SVG is
    /// an image with a title that says so.
    pub(crate) fn svg(&self) -> String {
        let n = self.series.len().max(1) as u32;
        let legend = if self.series.len() > 1 { 24 } else { 0 };
        let group = n * BAR + GAP;
        let height = legend + (self.rows.len() as u32).max(1) * group + GAP;
        let width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH;
        let scale = self.scale();
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"figuur\" role=\"img\" \
             aria-labelledby=\"{id}-titel\" viewBox=\"0 0 {width} {height}\" \
             width=\"{width}\" height=\"{height}\" font-size=\"13\">\
             <title id=\"{id}-titel\">{caption} (de getallen staan in de tabel)</title>",
            id = self.id,
            caption = escape(&self.caption),
        );
        if self.series.len() > 1 {
            let mut x = LABEL_WIDTH;
            for (i, name) in self.series.iter().enumerate() {
                out.push_str(&format!(
                    "<rect x=\"{x}\" y=\"4\" width=\"12\" height=\"12\" fill=\"{}\"/>\
                     <text x=\"{}\" y=\"14\" fill=\"#1a1a1a\">{}</text>",
                    FILLS[i % FILLS.len()],
                    x + 16,
                    escape(name)
                ));
                x += 24 + 8 * name.chars().count() as u32;
            }
        }
        for (r, row) in self.rows.iter().enumerate() {
            let top = legend + r as u32 * group + GAP;
            let middle = top + (n * BAR) / 2 + 4;
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{middle}\" text-anchor=\"end\" fill=\"#1a1a1a\">{}</text>",
                LABEL_WIDTH - 8,
                escape(&shorten(&row.label, 32))
            ));
            for (s, value) in row.values.iter().enumerate().take(n as usize) {
                let y = top + s as u32 * BAR;
                let length = bar_length(*value, scale);
                out.push_str(&format!(
                    "<rect x=\"{LABEL_WIDTH}\" y=\"{y}\" width=\"{length}\" height=\"{}\" fill=\"{}\"/>\
                     <text x=\"{}\" y=\"{}\" fill=\"#1a1a1a\">{}</text>",
                    BAR - 2,
                    FILLS[s % FILLS.len()],
                    LABEL_WIDTH + length + 4,
                    y + BAR - 3,
                    value
                ));
            }
        }
        out.push_str("</svg>");
        out
    }

    /// The table as CSV: a header line (the category and the series), then
    /// a line per row.
    pub(crate) fn csv(&self) -> Result<Vec<u8>, csv::Error> {
        let mut out = csv::WriterBuilder::new()
            .delimiter(b';')
            .from_writer(Vec::from("\u{feff}".as_bytes()));
        out.write_record(
            std::iter::once(self.category.as_str()).chain(self.series.iter().map(String::as_str)),
        )?;
        for row in &self.rows {
            out.write_record(
                std::iter::once(row.label.clone()).chain(row.values.iter().map(i64::to_string)),
            )?;
        }
        out.into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))
    }
}

/// The length of a bar for `value` on a scale whose largest value is
/// `scale`: at least 1 pixel for anything above zero, so a small count is
/// seen.
fn bar_length(value: i64, scale: i64) -> u32 {
    if value <= 0 {
        return 0;
    }
    let length =
        (value.saturating_mul(i64::from(BAR_WIDTH)) / scale).clamp(1, i64::from(BAR_WIDTH));
    u32::try_from(length).unwrap_or(BAR_WIDTH)
}

/// A label cut to `max` characters with an ellipsis (the table has it whole).
fn shorten(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        return label.to_owned();
    }
    let mut s: String = label.chars().take(max - 1).collect();
    s.push('…');
    s
}

/// Text for SVG: the five characters XML gives meaning to.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A CSV download named `<name>.csv`; the name is ASCII (a figure's id and
/// a date), never a pupil's.
pub(crate) fn download(name: &str, bytes: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{name}.csv\"");
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn figure() -> Figure {
        Figure {
            id: "per-maand",
            caption: "Aanvragen per maand".into(),
            category: "Maand".into(),
            series: vec!["Aangevraagd".into(), "Toegekend".into()],
            rows: vec![
                Row {
                    label: "september 2026".into(),
                    values: vec![40, 30],
                },
                Row {
                    label: "oktober <2026> & \"later\"".into(),
                    values: vec![10, 0],
                },
            ],
        }
    }

    #[test]
    fn the_chart_is_an_image_whose_bars_follow_the_numbers() {
        let svg = figure().svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title id=\"per-maand-titel\">Aanvragen per maand"));
        // The largest value fills the bar; the others are in proportion;
        // zero draws nothing.
        assert!(svg.contains(&format!("width=\"{BAR_WIDTH}\"")));
        assert!(svg.contains(&format!("width=\"{}\"", BAR_WIDTH * 30 / 40)));
        assert!(svg.contains(&format!("width=\"{}\"", BAR_WIDTH * 10 / 40)));
        assert!(svg.contains("width=\"0\""));
        // A legend names both series.
        assert!(svg.contains(">Aangevraagd</text>") && svg.contains(">Toegekend</text>"));
        // Text is escaped: no raw markup from a label.
        assert!(svg.contains("oktober &lt;2026&gt; &amp; &quot;later&quot;"));
        assert!(!svg.contains("<2026>"));
    }

    #[test]
    fn an_empty_figure_draws_an_empty_chart() {
        let mut f = figure();
        f.rows.clear();
        let svg = f.svg();
        assert!(svg.contains("viewBox"));
        // The legend's two squares, no bar.
        assert_eq!(svg.matches("<rect").count(), 2);
    }

    #[test]
    fn a_small_count_is_still_seen() {
        assert_eq!(bar_length(1, 100_000), 1);
        assert_eq!(bar_length(0, 10), 0);
        assert_eq!(bar_length(-3, 10), 0);
        assert_eq!(bar_length(10, 10), BAR_WIDTH);
    }

    #[test]
    fn the_csv_opens_in_a_dutch_spreadsheet() {
        let bytes = figure().csv().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with('\u{feff}'));
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines[0], "Maand;Aangevraagd;Toegekend");
        assert_eq!(lines[1], "september 2026;40;30");
        // A field with a quote is quoted, its quote doubled.
        assert_eq!(lines[2], "\"oktober <2026> & \"\"later\"\"\";10;0");
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn a_long_label_is_shortened_on_the_chart_only() {
        assert_eq!(shorten("kort", 28), "kort");
        let long = "Openbare basisschool De Linde te Tiel-Oost";
        let s = shorten(long, 28);
        assert_eq!(s.chars().count(), 28);
        assert!(s.ends_with('…'));
    }
}
