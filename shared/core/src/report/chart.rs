//! Horizontal bar charts as inline SVG text: no script, no external image, so a mail
//! client or a browser shows them from the message alone.

use std::fmt::Write;

use html_escape::{encode_double_quoted_attribute, encode_text};

/// One bar: what it is, its length, and the value as the reader sees it.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub shown: String,
}

const WIDTH: f64 = 640.0;
const LABEL_WIDTH: f64 = 180.0;
const VALUE_WIDTH: f64 = 160.0;
const ROW: f64 = 28.0;
const BAR: f64 = 18.0;
const PADDING: f64 = 8.0;
const POSITIVE: &str = "#2f6fde";
const NEGATIVE: &str = "#d64545";

/// A chart with one row per bar. Bars start at zero: negative values go left of it. The
/// axis runs over `range` (a scale of known ends, such as sentiment's -1..1), or else from
/// the bars' lowest value (or zero) to their highest.
pub fn bar_chart(title: &str, bars: &[Bar], range: Option<(f64, f64)>) -> String {
    let height = 2.0 * PADDING + ROW * bars.len().max(1) as f64;
    let (low, high) = range.unwrap_or_else(|| {
        let low = bars.iter().map(|b| b.value).fold(0.0, f64::min);
        (low, bars.iter().map(|b| b.value).fold(0.0, f64::max))
    });
    let span = if high - low > 0.0 { high - low } else { 1.0 };
    let plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    let x = |value: f64| LABEL_WIDTH + (value - low) / span * plot;
    let zero = x(0.0);
    let title_attribute = encode_double_quoted_attribute(title);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{title_attribute}\" \
         font-family=\"Arial, Helvetica, sans-serif\" font-size=\"13\">\n<title>{}</title>\n",
        encode_text(title)
    );
    for (row, bar) in bars.iter().enumerate() {
        let top = PADDING + ROW * row as f64;
        let middle = top + ROW / 2.0 + 4.0;
        let end = x(bar.value);
        let (left, right) = (end.min(zero), end.max(zero));
        let fill = if bar.value < 0.0 { NEGATIVE } else { POSITIVE };
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{middle:.1}\" text-anchor=\"end\" fill=\"#1f2933\">{}</text>\
             <rect x=\"{left:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{BAR}\" rx=\"2\" fill=\"{fill}\"/>\
             <text x=\"{:.1}\" y=\"{middle:.1}\" fill=\"#3e4c59\">{}</text>",
            LABEL_WIDTH - 8.0,
            encode_text(&bar.label),
            top + (ROW - BAR) / 2.0,
            right - left,
            right + 6.0,
            encode_text(&bar.shown),
        );
    }
    let _ = writeln!(
        svg,
        "<line x1=\"{zero:.1}\" y1=\"{PADDING}\" x2=\"{zero:.1}\" y2=\"{:.1}\" stroke=\"#9aa5b1\"/>\n</svg>",
        height - PADDING
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_from_zero_and_their_text_escaped() {
        let svg = bar_chart(
            "Tickets <by> \"channel\"",
            &[
                Bar {
                    label: "A & B".into(),
                    value: 4.0,
                    shown: "4".into(),
                },
                Bar {
                    label: "C".into(),
                    value: -2.0,
                    shown: "-2".into(),
                },
            ],
            None,
        );
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("<title>Tickets &lt;by&gt; \"channel\"</title>"), "{svg}");
        assert!(
            svg.contains("aria-label=\"Tickets &lt;by&gt; &quot;channel&quot;\""),
            "{svg}"
        );
        assert!(svg.contains(">A &amp; B</text>"));
        // 300 px for a span of 6: the positive bar 4/6 of it from zero, the negative 2/6.
        assert!(svg.contains("<rect x=\"280.0\" y=\"13.0\" width=\"200.0\""), "{svg}");
        assert!(svg.contains("<rect x=\"180.0\" y=\"41.0\" width=\"100.0\""), "{svg}");
        assert!(svg.contains(NEGATIVE));
        assert!(!svg.contains("<script") && !svg.contains("href"));
        // On a fixed -1..1 scale, 0.5 is a quarter of the width right of the middle.
        let bar = |value| Bar {
            label: "x".into(),
            value,
            shown: String::new(),
        };
        let svg = bar_chart("Sentiment", &[bar(0.5)], Some((-1.0, 1.0)));
        assert!(svg.contains("<rect x=\"330.0\" y=\"13.0\" width=\"75.0\""), "{svg}");
    }
}
