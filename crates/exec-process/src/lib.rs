//! Process executor (being written).
