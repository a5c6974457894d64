//! Route planning (in progress).
