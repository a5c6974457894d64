//! Warning templates (in progress).
