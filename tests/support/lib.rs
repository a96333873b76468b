//! Support code shared by the workspace integration tests.
