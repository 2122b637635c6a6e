//! Charts as server-rendered inline SVG: no script, no data in a script, and
//! the colours come from the stylesheet through whitelisted classes.

use maud::{Markup, html};

/// One segment of a stacked bar: a class from a fixed set, a value, and the
/// label read out on hover and by screen readers.
#[derive(Debug, Clone)]
pub struct Segment {
    /// `pass`, `fail`, `warn` or `other` (the stylesheet colours these).
    pub class: &'static str,
    /// Size.
    pub value: u64,
    /// What it counts.
    pub label: &'static str,
}

/// A horizontal stacked bar, full width, for one total (e.g. a framework's
/// requirements by status).
pub fn stacked_bar(segments: &[Segment], aria: &str) -> Markup {
    let total: u64 = segments.iter().map(|s| s.value).sum();
    // (segment, x, width), left to right.
    let mut x = 0.0;
    let placed: Vec<(&Segment, f64, f64)> = segments
        .iter()
        .filter(|s| s.value > 0)
        .map(|s| {
            let w = 100.0 * s.value as f64 / total as f64;
            x += w;
            (s, x - w, w)
        })
        .collect();
    html! {
        svg.bar viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label=(aria) {
            @if total == 0 {
                rect.other x="0" y="0" width="100" height="6" {}
            }
            @for (s, x, w) in &placed {
                rect class=(s.class) x=(fmt(*x)) y="0" width=(fmt(*w)) height="6" {
                    title { (s.label) ": " (s.value) }
                }
            }
        }
    }
}

/// One column of a trend chart: a label (the scan's date) and its stacked
/// segments.
#[derive(Debug, Clone)]
pub struct Column {
    /// Shown under the column.
    pub label: String,
    /// Stacked from the bottom.
    pub segments: Vec<Segment>,
}

/// Columns of stacked bars on a shared scale, oldest on the left.
pub fn trend(columns: &[Column], aria: &str) -> Markup {
    const H: f64 = 120.0;
    const W: f64 = 28.0;
    const GAP: f64 = 12.0;
    let max = columns
        .iter()
        .map(|c| c.segments.iter().map(|s| s.value).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let width = (columns.len() as f64 * (W + GAP)).max(W + GAP) + GAP;
    html! {
        svg.trend viewBox={ "0 0 " (fmt(width)) " " (fmt(H + 34.0)) } role="img" aria-label=(aria) {
            line.axis x1="0" y1=(fmt(H)) x2=(fmt(width)) y2=(fmt(H)) {}
            text.tick x="2" y="10" { (max) }
            @for (i, c) in columns.iter().enumerate() {
                @let x = GAP + i as f64 * (W + GAP);
                g {
                    @for (s, y, h) in stack(c, max, H) {
                        rect class=(s.class) x=(fmt(x)) y=(fmt(y)) width=(fmt(W)) height=(fmt(h)) {
                            title { (c.label) " · " (s.label) ": " (s.value) }
                        }
                    }
                    text.tick x=(fmt(x + W / 2.0)) y=(fmt(H + 14.0)) text-anchor="middle" { (c.label) }
                }
            }
        }
    }
}

/// A column's segments stacked from the bottom of a chart `height` high:
/// (segment, top, height).
fn stack(c: &Column, max: u64, height: f64) -> Vec<(&Segment, f64, f64)> {
    let mut y = height;
    c.segments
        .iter()
        .filter(|s| s.value > 0)
        .map(|s| {
            let h = height * s.value as f64 / max as f64;
            y -= h;
            (s, y, h)
        })
        .collect()
}

/// SVG coordinates with at most two decimals.
fn fmt(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_proportional_and_skip_empty_segments() {
        let svg = stacked_bar(
            &[
                Segment {
                    class: "pass",
                    value: 3,
                    label: "passing",
                },
                Segment {
                    class: "fail",
                    value: 1,
                    label: "failing",
                },
                Segment {
                    class: "warn",
                    value: 0,
                    label: "partial",
                },
            ],
            "requirements",
        )
        .into_string();
        assert!(
            svg.contains(r#"<rect class="pass" x="0" y="0" width="75""#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"<rect class="fail" x="75" y="0" width="25""#),
            "{svg}"
        );
        assert!(!svg.contains("partial"), "{svg}");
    }

    #[test]
    fn trend_columns_share_a_scale() {
        let col = |label: &str, pass, fail| Column {
            label: label.into(),
            segments: vec![
                Segment {
                    class: "pass",
                    value: pass,
                    label: "pass",
                },
                Segment {
                    class: "fail",
                    value: fail,
                    label: "fail",
                },
            ],
        };
        let svg = trend(&[col("a", 2, 2), col("<b>", 1, 0)], "trend").into_string();
        // The tallest column fills the height; the other is a quarter.
        assert!(svg.contains(r#"y="60" width="28" height="60""#), "{svg}");
        assert!(svg.contains(r#"y="90" width="28" height="30""#), "{svg}");
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"), "{svg}");
    }
}
