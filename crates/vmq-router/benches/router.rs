//! Criterion benchmarks of the router (placeholder, filled in below).
fn main() {}
