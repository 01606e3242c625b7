//! Async engine (being written).
