//! Which recipients to warn together (placeholder, filled below).
