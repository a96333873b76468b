//! Criterion bench: enqueue + take throughput of one queue (placeholder, filled in below).
fn main() {}
