//! The key-value engine interface under [`crate::Store`]: ordered keys, atomic batches,
//! prefix scans, flush. The refcounting, queue and metadata logic lives once in the store;
//! a backend only implements [`KvEngine`]. This is the room for a `fjall` backend: one file
//! implementing this trait (a single keyspace partition, `Batch::commit`, `persist(SyncAll)`
//! for [`KvEngine::flush`]) behind a cargo feature, and one arm in [`crate::Backend`].

use std::ops::ControlFlow;
use std::path::Path;

use bytes::Bytes;

use crate::error::Result;

/// One change in an [`EngineBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineOp {
    /// Insert or overwrite `key` with `value`.
    Put(Vec<u8>, Vec<u8>),
    /// Remove `key` (a no-op when absent).
    Delete(Vec<u8>),
}

/// Changes applied atomically, in order, by [`KvEngine::apply`].
pub type EngineBatch = Vec<EngineOp>;

/// The visitor of [`KvEngine::scan`]: gets each key and value in key order and says whether
/// to go on.
pub type Visit<'a> = &'a mut dyn FnMut(&[u8], Bytes) -> Result<ControlFlow<()>>;

/// An ordered key-value engine. Implementations must be safe to share between threads.
pub trait KvEngine: Send + Sync + 'static {
    /// Reads one value.
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>>;

    /// Applies `batch` atomically: after a crash either all of it or none of it is present
    /// (once flushed), and readers never see half of it.
    fn apply(&self, batch: EngineBatch) -> Result<()>;

    /// Visits the entries whose key starts with `prefix`, in key order, starting at the first
    /// key `>= from` (pass `prefix` to start at the beginning).
    fn scan(&self, prefix: &[u8], from: &[u8], visit: Visit<'_>) -> Result<()>;

    /// Makes every write applied before this call durable.
    fn flush(&self) -> Result<()>;

    /// Bytes used on disk (for the memory engine: bytes of live keys and values).
    fn size_on_disk(&self) -> Result<u64>;

    /// The directory holding the data, if any (named in errors).
    fn path(&self) -> Option<&Path>;
}
