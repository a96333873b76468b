//! The sled 0.34.7 backend (feature `sled`, on by default). All records live in sled's
//! default tree so that one [`sled::Batch`] covers messages, queue entries, refcounts and
//! metadata atomically. Durability comes from [`sled::Db::flush`]; sled also flushes in the
//! background every `flush_every_ms`, which only narrows the window for writes nobody has
//! acknowledged yet.

use std::ops::ControlFlow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::engine::{EngineBatch, EngineOp, KvEngine, Visit};
use crate::error::{Error, Result};

/// sled settings taken from [`crate::StoreOptions`].
#[derive(Debug, Clone)]
pub(crate) struct SledSettings {
    pub cache_capacity: u64,
    pub flush_every_ms: Option<u64>,
    pub high_throughput: bool,
}

/// The sled engine.
pub struct SledEngine {
    db: sled::Db,
    path: PathBuf,
    location: String,
}

impl std::fmt::Debug for SledEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledEngine")
            .field("path", &self.path)
            .finish()
    }
}

impl SledEngine {
    /// Opens (or creates) a sled database in `path`. A sled panic while reading corrupt
    /// files is caught and reported as [`Error::Open`] naming the path.
    pub(crate) fn open(path: &Path, s: &SledSettings) -> Result<Self> {
        let open_err = |reason: String| Error::Open {
            path: path.to_path_buf(),
            reason,
        };
        std::fs::create_dir_all(path).map_err(|e| open_err(format!("create directory: {e}")))?;
        let config = sled::Config::new()
            .path(path)
            .cache_capacity(s.cache_capacity)
            .flush_every_ms(s.flush_every_ms)
            .mode(if s.high_throughput {
                sled::Mode::HighThroughput
            } else {
                sled::Mode::LowSpace
            });
        let db = match catch_unwind(AssertUnwindSafe(|| config.open())) {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => return Err(open_err(e.to_string())),
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "unknown panic".to_owned());
                return Err(open_err(format!("sled panicked while recovering: {msg}")));
            }
        };
        Ok(SledEngine {
            db,
            path: path.to_path_buf(),
            location: path.display().to_string(),
        })
    }

    fn err(&self, e: sled::Error) -> Error {
        match e {
            sled::Error::Corruption { at, .. } => Error::CorruptRecord {
                location: self.location.clone(),
                key: format!("sled log position {at:?}"),
                reason: "sled found a corrupt page".to_owned(),
            },
            other => Error::Backend {
                location: self.location.clone(),
                reason: other.to_string(),
            },
        }
    }
}

impl KvEngine for SledEngine {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.db
            .get(key)
            .map(|v| v.map(|v| Bytes::copy_from_slice(&v)))
            .map_err(|e| self.err(e))
    }

    fn apply(&self, batch: EngineBatch) -> Result<()> {
        let mut b = sled::Batch::default();
        for op in batch {
            match op {
                EngineOp::Put(k, v) => b.insert(k, v),
                EngineOp::Delete(k) => b.remove(k),
            }
        }
        self.db.apply_batch(b).map_err(|e| self.err(e))
    }

    fn scan(&self, prefix: &[u8], from: &[u8], visit: Visit<'_>) -> Result<()> {
        for item in self.db.range(from..) {
            let (k, v) = item.map_err(|e| self.err(e))?;
            if !k.starts_with(prefix) {
                break;
            }
            if let ControlFlow::Break(()) = visit(&k, Bytes::copy_from_slice(&v))? {
                break;
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        self.db.flush().map(|_| ()).map_err(|e| self.err(e))
    }

    fn size_on_disk(&self) -> Result<u64> {
        self.db.size_on_disk().map_err(|e| self.err(e))
    }

    fn path(&self) -> Option<&Path> {
        Some(&self.path)
    }
}
