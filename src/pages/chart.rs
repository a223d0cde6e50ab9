//! Bar charts as inline SVG, drawn on the server: no script, no external
//! asset. Widths are percentages, so a chart fills a phone or a desktop
//! without scaling its text; colours come from the page's style sheet.

use std::fmt::{self, Write as _};

/// SVG markup made here, where every text is escaped, so a template may
/// insert it as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Svg(String);

impl fmt::Display for Svg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl askama::filters::HtmlSafe for Svg {}

/// One bar: what it stands for, and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub label: String,
    pub value: u64,
}

/// Text for XML content and attribute values.
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

/// `value` as a percentage of `max` (0 when `max` is 0).
fn percent(value: u64, max: u64) -> f64 {
    if max == 0 {
        0.0
    } else {
        value as f64 * 100.0 / max as f64
    }
}

/// The opening tag, labelled for assistive technology, and its title
/// (which browsers also show on hover).
fn open(title: &str, height: u32) -> String {
    let title = escape(title);
    format!(
        r#"<svg class="chart" width="100%" height="{height}" role="img" aria-label="{title}"><title>{title}</title>"#
    )
}

const ROW_HEIGHT: u32 = 44;
const BAR_HEIGHT: u32 = 18;

/// Horizontal bars, one row each: the label and value above a bar whose
/// length is its share of the largest value.
pub fn bars(title: &str, bars: &[Bar]) -> Svg {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0);
    let rows = u32::try_from(bars.len()).unwrap_or(u32::MAX).max(1);
    let mut svg = open(title, rows * ROW_HEIGHT);
    for (row, bar) in (0u32..).zip(bars) {
        let top = row * ROW_HEIGHT;
        let _ = write!(
            svg,
            r#"<text class="label" x="0" y="{}">{}: {}</text><rect class="track" x="0" y="{}" width="100%" height="{BAR_HEIGHT}"/><rect class="bar" x="0" y="{}" width="{:.3}%" height="{BAR_HEIGHT}"/>"#,
            top + 16,
            escape(&bar.label),
            bar.value,
            top + 22,
            top + 22,
            percent(bar.value, max),
        );
    }
    svg.push_str("</svg>");
    Svg(svg)
}

const PLOT_TOP: u32 = 22;
const PLOT_HEIGHT: u32 = 140;
/// Fewer columns than this keep this share of the width each, rather than
/// growing into slabs.
const MIN_SLOTS: usize = 14;

/// Vertical columns for a series (days, in order), the largest value
/// written at the top with its `unit`; each column's title says its label
/// and value. Below,
/// the first and last labels: at both ends when the columns span the width,
/// else as one range.
pub fn columns(title: &str, unit: &str, columns: &[Bar]) -> Svg {
    let max = columns.iter().map(|b| b.value).max().unwrap_or(0);
    let baseline = PLOT_TOP + PLOT_HEIGHT;
    let unit = escape(unit);
    let mut svg = open(title, baseline + 22);
    let _ = write!(
        svg,
        r#"<text class="label" x="0" y="14">highest: {max} {unit}</text><line class="axis" x1="0" y1="{baseline}" x2="100%" y2="{baseline}"/>"#,
    );
    let slot = 100.0 / columns.len().max(MIN_SLOTS) as f64;
    for (i, column) in columns.iter().enumerate() {
        let height = (percent(column.value, max) * f64::from(PLOT_HEIGHT) / 100.0).round();
        let _ = write!(
            svg,
            r#"<rect class="bar" x="{:.3}%" y="{}" width="{:.3}%" height="{height}"><title>{}: {}</title></rect>"#,
            i as f64 * slot + slot * 0.1,
            f64::from(baseline) - height,
            slot * 0.8,
            escape(&column.label),
            column.value,
        );
    }
    let y = baseline + 18;
    match columns {
        [] => {}
        [only] => {
            let _ = write!(
                svg,
                r#"<text class="label" x="0" y="{y}">{}</text>"#,
                escape(&only.label)
            );
        }
        [first, .., last] if columns.len() < MIN_SLOTS => {
            let _ = write!(
                svg,
                r#"<text class="label" x="0" y="{y}">{} to {}</text>"#,
                escape(&first.label),
                escape(&last.label),
            );
        }
        [first, .., last] => {
            let _ = write!(
                svg,
                r#"<text class="label" x="0" y="{y}">{}</text><text class="label end" x="100%" y="{y}">{}</text>"#,
                escape(&first.label),
                escape(&last.label),
            );
        }
    }
    svg.push_str("</svg>");
    Svg(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: u64) -> Bar {
        Bar {
            label: label.into(),
            value,
        }
    }

    #[test]
    fn bars_are_shares_of_the_largest() {
        let svg = bars("Active", &[bar("a", 4), bar("b", 1), bar("c", 0)]).0;
        assert!(svg.starts_with(r#"<svg class="chart" width="100%" height="132" role="img" aria-label="Active"><title>Active</title>"#));
        assert!(svg.contains(r#">a: 4</text>"#));
        assert!(svg.contains(r#"class="bar" x="0" y="22" width="100.000%""#));
        assert!(svg.contains(r#"class="bar" x="0" y="66" width="25.000%""#));
        assert!(svg.contains(r#"class="bar" x="0" y="110" width="0.000%""#));
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn columns_span_the_width_and_scale_to_the_plot() {
        let days: Vec<Bar> = (0..20).map(|i| bar(&format!("d{i}"), i % 3)).collect();
        let svg = columns("Per day", "reports a day", &days).0;
        assert!(svg.contains("highest: 2 reports a day"));
        // Twenty slots of 5%, each column 80% of its slot.
        assert!(
            svg.contains(r#"x="0.500%" y="162" width="4.000%" height="0"><title>d0: 0</title>"#)
        );
        assert!(
            svg.contains(r#"x="5.500%" y="92" width="4.000%" height="70"><title>d1: 1</title>"#)
        );
        assert!(
            svg.contains(r#"x="10.500%" y="22" width="4.000%" height="140"><title>d2: 2</title>"#)
        );
        assert!(svg.contains(r#">d0</text><text class="label end" x="100%" y="180">d19</text>"#));
    }

    #[test]
    fn a_few_columns_keep_their_width_and_name_their_range() {
        let svg = columns("Per day", "reports", &[bar("d1", 2), bar("d2", 1)]).0;
        let slot = 100.0 / 14.0;
        assert!(svg.contains(&format!(r#"width="{:.3}%" height="140""#, slot * 0.8)));
        assert!(svg.contains(r#"y="180">d1 to d2</text>"#));
        let one = columns("Per day", "reports", &[bar("d1", 2)]).0;
        assert!(one.contains(r#"y="180">d1</text>"#));
    }

    #[test]
    fn empty_charts_and_zero_maxima_draw_nothing_wrong() {
        assert!(!bars("none", &[]).0.contains("NaN"));
        assert!(!columns("none", "x", &[]).0.contains("NaN"));
        assert!(!columns("zeros", "x", &[bar("a", 0)]).0.contains("NaN"));
    }

    #[test]
    fn text_is_escaped() {
        let svg = bars("<b>&\"'", &[bar("<script>", 1)]).0;
        assert!(!svg.contains("<b>") && !svg.contains("<script>"));
        assert!(svg.contains("&lt;b&gt;&amp;&quot;&#39;"));
        assert!(svg.contains("&lt;script&gt;: 1"));
    }
}
