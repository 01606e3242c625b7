//! fanout-parse's tests: ntc-templates' own test cases on the shipped
//! templates, template selection by the index, and every error path.

mod errors;
mod ntc_cases;
mod selection;
