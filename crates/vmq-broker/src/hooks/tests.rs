//! Unit tests of the chain semantics.
