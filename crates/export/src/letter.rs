//! The printable letter.

use tocsin_domain::Timestamp;
use tocsin_domain::delivery::Party;
use tocsin_domain::time::TimeZoneName;

use crate::ApprovedWarning;

/// Marks the start of the exact warning text in a letter.
pub const BEGIN: &str = "----- BEGIN WARNING TEXT -----";
/// Marks the end of the exact warning text in a letter.
pub const END: &str = "----- END WARNING TEXT -----";

/// What a letter says besides the warning.
#[derive(Clone, Debug)]
pub struct Letter<'a> {
    /// Our element that sends it (the first hop's sender).
    pub sender: &'a Party,
    /// The recipient (the route's recipient).
    pub recipient: &'a Party,
    /// The relays between them, in order (a protecting power), if any.
    pub via: &'a [Party],
    /// The date of the letter.
    pub date: Timestamp,
    /// The recipient's time zone: the date is stated as they know it.
    pub time_zone: &'a TimeZoneName,
    pub warning: &'a ApprovedWarning,
}

fn party(p: &Party) -> String {
    let name = shown(p.name.as_str());
    match p.country {
        Some(c) => format!("{name}, {}", c.name()),
        None => name,
    }
}

/// A name as printed: a direction control (a right-to-left override, say)
/// is shown as its code point instead of turning what follows around, so
/// the printed name reads as it is stored.
fn shown(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(c) = tocsin_domain::text::bidi_control(rest) {
        let i = rest.find(c).unwrap_or(rest.len());
        out.push_str(&rest[..i]);
        out.push_str(&format!("<U+{:04X}>", c as u32));
        rest = &rest[i + c.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// The letter as plain text (lines end with `\n`).
///
/// The warning text appears unchanged between the [`BEGIN`] and [`END`]
/// lines: it starts after the newline that ends the `BEGIN` line and ends
/// before the newline that starts the `END` line. Its SHA-256 in the
/// footer is of exactly those bytes.
pub fn letter(l: &Letter<'_>) -> String {
    let date = l
        .date
        .to_zoned(l.time_zone.zone())
        .strftime("%-d %B %Y, %H:%M (UTC%:z)")
        .to_string();
    let mut s = String::new();
    s.push_str("Duty to warn: warning of a threat to life\n\n");
    s.push_str(&format!("From:    {}\n", party(l.sender)));
    s.push_str(&format!("To:      {}\n", party(l.recipient)));
    for v in l.via {
        s.push_str(&format!("Via:     {}\n", party(v)));
    }
    s.push_str(&format!("Date:    {date}, {}\n", l.time_zone));
    s.push('\n');
    s.push_str(BEGIN);
    s.push('\n');
    s.push_str(l.warning.text().as_str());
    s.push('\n');
    s.push_str(END);
    s.push_str("\n\n");
    if !l.warning.warning().is_first() {
        s.push_str(&format!("Warning: {}\n", l.warning.warning()));
    }
    s.push_str(&format!("Warning version: {}\n", l.warning.version()));
    s.push_str(&format!(
        "SHA-256 of the warning text (UTF-8, between the markers): {}\n",
        l.warning.sha256()
    ));
    s
}

/// The exact warning text of a letter made by [`letter`], if the markers are there.
pub fn text_of(letter: &str) -> Option<&str> {
    let start = letter.find(&format!("{BEGIN}\n"))? + BEGIN.len() + 1;
    let end = letter.rfind(&format!("\n{END}\n"))?;
    letter.get(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_domain::delivery::{PartyKind, WarningText};
    use tocsin_domain::text::Name;

    #[test]
    fn direction_controls_in_names_are_printed_as_code_points() {
        assert_eq!(
            shown("Embassy \u{202E}eciffo\u{202C} security"),
            "Embassy <U+202E>eciffo<U+202C> security"
        );
        assert_eq!(shown("وزارت امور خارجه"), "وزارت امور خارجه");
    }

    #[test]
    fn the_text_is_unchanged_between_the_markers() {
        for raw in [
            "One line.",
            "Two\nlines.",
            "Ends with a newline.\n",
            "  Leading spaces & <tags>\r\nCRLF.",
        ] {
            let text = WarningText::new(raw).unwrap();
            let w = ApprovedWarning::new(text.clone(), 2, &text.sha256()).unwrap();
            let us = Party {
                name: Name::new("Us").unwrap(),
                kind: PartyKind::OwnElement,
                country: None,
            };
            let out = letter(&Letter {
                sender: &us,
                recipient: &us,
                via: &[],
                date: "2024-03-07T08:15:00Z".parse().unwrap(),
                time_zone: &TimeZoneName::new("Europe/Moscow").unwrap(),
                warning: &w,
            });
            assert_eq!(text_of(&out), Some(raw), "{out}");
            assert!(out.contains("7 March 2024, 11:15 (UTC+03:00), Europe/Moscow"));
            assert!(out.contains(&text.sha256()));
            assert!(out.contains("Warning version: 2\n"));
            assert!(!out.contains("Warning: W"), "W1 reads as it always did");
            let w2 = letter(&Letter {
                warning: &w.clone().of_warning("W2".parse().unwrap()),
                sender: &us,
                recipient: &us,
                via: &[],
                date: "2024-03-07T08:15:00Z".parse().unwrap(),
                time_zone: &TimeZoneName::new("Europe/Moscow").unwrap(),
            });
            assert!(w2.contains("Warning: W2\nWarning version: 2\n"), "{w2}");
            assert_eq!(text_of(&w2), Some(raw));
        }
    }
}
