//! Standard output that may be cut short. `tocsin … | head -1` closes the
//! pipe after the first line; a later write then fails with
//! `BrokenPipe`. `println!` would panic on it (exit 101); these functions
//! return the error instead, the command stops there, and
//! [`is_closed_pipe`] lets `main` exit 0 quietly, as Unix tools do.

use std::fmt::Display;
use std::io::{self, Write};

/// Writes `s` and a newline to standard output.
pub fn line(s: impl Display) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{s}")?;
    out.flush()
}

/// Writes `s` to standard output, with no newline added.
pub fn text(s: impl Display) -> io::Result<()> {
    let mut out = io::stdout().lock();
    write!(out, "{s}")?;
    out.flush()
}

/// Whether `e` is (or was caused by) writing to a closed pipe.
pub fn is_closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_found_in_the_cause_chain() {
        let e = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(is_closed_pipe(&e));
        assert!(is_closed_pipe(&e.context("printing the policy")));
        let other = anyhow::Error::new(io::Error::from(io::ErrorKind::NotFound));
        assert!(!is_closed_pipe(&other));
        assert!(!is_closed_pipe(&anyhow::anyhow!("broken pipe")));
    }
}
