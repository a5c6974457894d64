//! The dashboard's charts as inline SVG, drawn on the server (no script):
//! bars with labelled axes, a title and a one-sentence summary for a
//! screen reader, and the same figures as a table the page shows under
//! each chart. Pure: counts in, markup out.
//!
//! * [`durations`]: a histogram of time to decide or time to warn, one bar
//!   per bucket of the store's counters (one minute doubling to 46 days).
//! * [`weeks`]: cases opened per week, each bar stacked by determination.

use std::fmt::Write;

use tocsin_store::counts::Determined;

/// The drawing's size (the SVG scales to its box).
const W: f64 = 560.0;
const H: f64 = 240.0;
/// The plot area inside it.
const LEFT: f64 = 52.0;
const RIGHT: f64 = 552.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 190.0;

/// A chart as the dashboard template shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chart {
    /// The element id (`chart-decide`).
    pub id: String,
    pub title: String,
    /// One sentence for those who do not see the drawing.
    pub summary: String,
    /// The drawing, escaped markup.
    pub svg: String,
    /// The series of a stacked chart with their CSS classes (empty for a
    /// histogram).
    pub legend: Vec<(String, String)>,
    /// The table alternative: its column headings and rows.
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Text for SVG and HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

/// The top of the y axis: the smallest 1, 2 or 5 times a power of ten at
/// least `max` (at least 1).
pub fn axis_top(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let top = step.saturating_mul(m);
            if top >= max {
                return top;
            }
        }
        if step > u64::MAX / 10 {
            return u64::MAX;
        }
        step *= 10;
    }
}

/// A bucket's upper bound in seconds as a short label (`4m`, `17h`,
/// `3d`) and in words (`at most 4 minutes`); `None` is the last bucket.
pub fn bucket_label(le: Option<u64>, previous: Option<u64>) -> (String, String) {
    let Some(s) = le else {
        let words = match previous {
            Some(p) => format!("more than {}", duration_words(p)),
            None => "any".to_owned(),
        };
        let short = previous.map_or_else(|| "all".to_owned(), |p| format!(">{}", short(p)));
        return (short, words);
    };
    (short(s), format!("at most {}", duration_words(s)))
}

fn short(s: u64) -> String {
    if s < 3_600 * 2 {
        format!("{}m", (s + 30) / 60)
    } else if s < 86_400 * 2 {
        format!("{}h", (s + 1_800) / 3_600)
    } else {
        format!("{}d", (s + 43_200) / 86_400)
    }
}

fn duration_words(s: u64) -> String {
    let (n, unit) = if s < 3_600 * 2 {
        ((s + 30) / 60, "minute")
    } else if s < 86_400 * 2 {
        ((s + 1_800) / 3_600, "hour")
    } else {
        ((s + 43_200) / 86_400, "day")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The frame of a chart: the SVG element with its title and summary, the
/// y axis with three ticks, the x axis and the two axis labels.
fn frame(out: &mut String, id: &str, title: &str, summary: &str, top: u64, x_label: &str) {
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {W} {H}" role="img" aria-labelledby="{id}-t {id}-d" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        esc(title),
        esc(summary)
    );
    let ticks = if top >= 2 {
        vec![0, top / 2, top]
    } else {
        vec![0, top]
    };
    for tick in ticks {
        let y = y_of(tick, top);
        let _ = write!(
            out,
            r##"<line class="grid" x1="{LEFT}" x2="{RIGHT}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{tick}</text>"##,
            LEFT - 6.0,
            y + 4.0
        );
    }
    let _ = write!(
        out,
        r##"<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{BOTTOM}" stroke="#444"/><line class="axis" x1="{LEFT}" x2="{RIGHT}" y1="{BOTTOM}" y2="{BOTTOM}" stroke="#444"/><text class="label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text class="label" x="14" y="{:.1}" text-anchor="middle" transform="rotate(-90 14 {:.1})">cases</text>"##,
        (LEFT + RIGHT) / 2.0,
        H - 8.0,
        esc(x_label),
        (TOP + BOTTOM) / 2.0,
        (TOP + BOTTOM) / 2.0,
    );
}

fn y_of(v: u64, top: u64) -> f64 {
    BOTTOM - (BOTTOM - TOP) * (v as f64) / (top.max(1) as f64)
}

/// One bar's slot: its left edge and width, for bar `i` of `n`.
fn slot(i: usize, n: usize) -> (f64, f64) {
    let each = (RIGHT - LEFT) / n.max(1) as f64;
    (LEFT + each * i as f64 + each * 0.15, each * 0.7)
}

fn x_label(out: &mut String, i: usize, n: usize, text: &str) {
    let (x, w) = slot(i, n);
    let _ = write!(
        out,
        r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        x + w / 2.0,
        BOTTOM + 16.0,
        esc(text)
    );
}

fn cases(n: u64) -> String {
    format!("{n} case{}", if n == 1 { "" } else { "s" })
}

fn count(n: i64) -> u64 {
    n.max(0) as u64
}

/// A histogram of durations: `buckets` as the store counts them (upper
/// bound in seconds, `None` last for beyond the last bound).
pub fn durations(id: &str, title: &str, buckets: &[(Option<u64>, i64)]) -> Chart {
    let mut labels = Vec::with_capacity(buckets.len());
    let mut previous = None;
    for (le, _) in buckets {
        labels.push(bucket_label(*le, previous));
        previous = le.or(previous);
    }
    let total: u64 = buckets.iter().map(|(_, n)| count(*n)).sum();
    let max = buckets.iter().map(|(_, n)| count(*n)).max().unwrap_or(0);
    let summary = if total == 0 {
        "No case you may see has this measure yet.".to_owned()
    } else {
        let (i, _) = buckets
            .iter()
            .enumerate()
            .max_by_key(|(i, (_, n))| (count(*n), std::cmp::Reverse(*i)))
            .unwrap_or((0, &(None, 0)));
        let median = median_bucket(buckets, total);
        format!(
            "{}. The most common: {} ({}); half took {}.",
            cases(total),
            labels[i].1,
            cases(max),
            labels[median].1
        )
    };
    let top = axis_top(max);
    let mut svg = String::new();
    frame(
        &mut svg,
        id,
        title,
        &summary,
        top,
        "at most (m minutes, h hours, d days)",
    );
    let n = buckets.len();
    for (i, ((_, c), (short, words))) in buckets.iter().zip(&labels).enumerate() {
        let c = count(*c);
        let (x, w) = slot(i, n);
        if c > 0 {
            let y = y_of(c, top);
            let _ = write!(
                svg,
                r##"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="#0b4f8a"><title>{}: {c}</title></rect>"##,
                BOTTOM - y,
                esc(words)
            );
        }
        // Every other label when they would crowd (the table has all).
        if n <= 12 || i % 2 == 1 {
            x_label(&mut svg, i, n, short);
        }
    }
    svg.push_str("</svg>");
    Chart {
        id: id.to_owned(),
        title: title.to_owned(),
        summary,
        svg,
        legend: vec![],
        head: vec!["Took".to_owned(), "Cases".to_owned()],
        rows: buckets
            .iter()
            .zip(&labels)
            .map(|((_, c), (_, words))| vec![words.clone(), count(*c).to_string()])
            .collect(),
    }
}

/// The bucket that holds the middle case.
fn median_bucket(buckets: &[(Option<u64>, i64)], total: u64) -> usize {
    let mut seen = 0u64;
    for (i, (_, n)) in buckets.iter().enumerate() {
        seen += count(*n);
        if seen * 2 >= total {
            return i;
        }
    }
    buckets.len().saturating_sub(1)
}

/// A determination's words and CSS class.
pub fn determined_words(d: Determined) -> (&'static str, &'static str) {
    match d {
        Determined::Duty => ("duty to warn", "duty"),
        Determined::NoDuty => ("threshold not met", "noduty"),
        Determined::MoreInformation => ("needs more information", "moreinfo"),
        Determined::Undetermined => ("not determined", "pending"),
    }
}

/// The fill of a determination's bars (the stylesheet's key colours).
fn fill(d: Determined) -> &'static str {
    match d {
        Determined::Duty => "#a40000",
        Determined::NoDuty => "#1d6b2c",
        Determined::MoreInformation => "#b35c00",
        Determined::Undetermined => "#6b6b6b",
    }
}

/// Cases opened per week, stacked by determination: `weeks` as the store
/// counts them (the week's Monday, `2024-01-01`, and a count per
/// [`Determined::ALL`]).
pub fn weeks(id: &str, title: &str, weeks: &[(String, [i64; 4])]) -> Chart {
    let totals: Vec<u64> = weeks
        .iter()
        .map(|(_, c)| c.iter().map(|n| count(*n)).sum())
        .collect();
    let total: u64 = totals.iter().sum();
    let max = totals.iter().copied().max().unwrap_or(0);
    let summary = if total == 0 {
        format!(
            "No case you may see was opened in these {} weeks.",
            weeks.len()
        )
    } else {
        let by: Vec<String> = Determined::ALL
            .iter()
            .enumerate()
            .map(|(k, d)| {
                let n: u64 = weeks.iter().map(|(_, c)| count(c[k])).sum();
                format!("{n} {}", determined_words(*d).0)
            })
            .collect();
        format!(
            "{} opened in {} weeks, at most {max} in one week: {}.",
            cases(total),
            weeks.len(),
            by.join(", ")
        )
    };
    let top = axis_top(max);
    let mut svg = String::new();
    frame(
        &mut svg,
        id,
        title,
        &summary,
        top,
        "week starting (month-day, UTC)",
    );
    let n = weeks.len();
    for (i, (week, c)) in weeks.iter().enumerate() {
        let (x, w) = slot(i, n);
        let mut base = 0u64;
        for (k, d) in Determined::ALL.iter().enumerate() {
            let v = count(c[k]);
            if v == 0 {
                continue;
            }
            let (y0, y1) = (y_of(base, top), y_of(base + v, top));
            let (words, class) = determined_words(*d);
            let _ = write!(
                svg,
                r#"<rect class="bar {class}" x="{x:.1}" y="{y1:.1}" width="{w:.1}" height="{:.1}" fill="{}"><title>{}: {v} {}</title></rect>"#,
                y0 - y1,
                fill(*d),
                esc(week),
                words
            );
            base += v;
        }
        x_label(&mut svg, i, n, week.get(5..).unwrap_or(week));
    }
    svg.push_str("</svg>");
    let mut head = vec!["Week starting".to_owned()];
    head.extend(
        Determined::ALL
            .iter()
            .map(|d| determined_words(*d).0.to_owned()),
    );
    head.push("All".to_owned());
    Chart {
        id: id.to_owned(),
        title: title.to_owned(),
        summary,
        svg,
        legend: Determined::ALL
            .iter()
            .map(|d| {
                let (w, c) = determined_words(*d);
                (w.to_owned(), c.to_owned())
            })
            .collect(),
        head,
        rows: weeks
            .iter()
            .zip(&totals)
            .map(|((week, c), t)| {
                let mut row = vec![week.clone()];
                row.extend(c.iter().map(|n| count(*n).to_string()));
                row.push(t.to_string());
                row
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(counts: &[i64]) -> Vec<(Option<u64>, i64)> {
        let mut b: Vec<(Option<u64>, i64)> = tocsin_store::counts::BUCKETS
            .iter()
            .map(|b| (Some(*b), 0))
            .chain([(None, 0)])
            .collect();
        for (slot, n) in b.iter_mut().zip(counts) {
            slot.1 = *n;
        }
        b
    }

    #[test]
    fn the_axis_ends_on_a_round_number() {
        assert_eq!(axis_top(0), 1);
        assert_eq!(axis_top(1), 1);
        assert_eq!(axis_top(3), 5);
        assert_eq!(axis_top(7), 10);
        assert_eq!(axis_top(11), 20);
        assert_eq!(axis_top(99_999), 100_000);
        assert_eq!(axis_top(u64::MAX), u64::MAX);
    }

    #[test]
    fn buckets_read_as_short_labels_and_words() {
        assert_eq!(
            bucket_label(Some(60), None),
            ("1m".into(), "at most 1 minute".into())
        );
        assert_eq!(bucket_label(Some(7_680), Some(3_840)).0, "2h");
        assert_eq!(bucket_label(Some(245_760), None).0, "3d");
        assert_eq!(
            bucket_label(None, Some(3_932_160)),
            (">46d".into(), "more than 46 days".into())
        );
    }

    #[test]
    fn a_histogram_draws_one_bar_per_counted_bucket_with_its_table() {
        let c = durations("chart-decide", "Time to decide", &hist(&[0, 3, 1]));
        assert_eq!(c.svg.matches("<rect").count(), 2);
        assert!(c.svg.starts_with("<svg ") && c.svg.ends_with("</svg>"));
        assert!(
            c.svg
                .contains(r#"aria-labelledby="chart-decide-t chart-decide-d""#)
        );
        assert!(
            c.svg
                .contains("<title id=\"chart-decide-t\">Time to decide</title>")
        );
        // The tallest bar reaches the top of the axis (5 for a count of 3).
        assert!(c.svg.contains(">5</text>"), "{}", c.svg);
        assert_eq!(c.rows.len(), 18);
        assert_eq!(c.rows[1], vec!["at most 2 minutes", "3"]);
        assert_eq!(
            c.summary,
            "4 cases. The most common: at most 2 minutes (3 cases); half took at most 2 minutes."
        );
    }

    #[test]
    fn an_empty_chart_says_so_and_draws_no_bar() {
        let c = durations("d", "T", &hist(&[]));
        assert!(!c.svg.contains("<rect"));
        assert!(c.summary.starts_with("No case"));
        let w = weeks("w", "W", &[("2024-01-01".into(), [0; 4])]);
        assert!(!w.svg.contains("<rect"));
        assert!(w.summary.starts_with("No case"));
    }

    #[test]
    fn weeks_stack_by_determination_with_a_legend_and_totals() {
        let w = weeks(
            "chart-weeks",
            "Cases per week",
            &[
                ("2024-01-01".into(), [2, 1, 0, 1]),
                ("2024-01-08".into(), [0, 0, 0, 0]),
            ],
        );
        assert_eq!(w.svg.matches("<rect").count(), 3);
        assert!(w.svg.contains(r#"class="bar duty""#));
        assert!(w.svg.contains(">01-01</text>") && w.svg.contains(">01-08</text>"));
        assert_eq!(w.legend.len(), 4);
        assert_eq!(w.head.len(), 6);
        assert_eq!(w.rows[0], vec!["2024-01-01", "2", "1", "0", "1", "4"]);
        assert!(w.summary.starts_with("4 cases opened in 2 weeks"));
    }

    #[test]
    fn text_is_escaped() {
        let c = durations("x", "<script>&", &hist(&[1]));
        assert!(c.svg.contains("&lt;script&gt;&amp;"));
        assert!(!c.svg.contains("<script>"));
    }
}
