//! Transport-agnostic device-CLI dialog (being written).
