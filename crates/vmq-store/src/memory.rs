//! The memory backend: a `BTreeMap` behind a read-write lock. Always available; for tests,
//! embedding and brokers without persistence. Nothing survives the process and
//! [`KvEngine::flush`] is a no-op.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;

use bytes::Bytes;
use parking_lot::RwLock;

use crate::engine::{EngineBatch, EngineOp, KvEngine, Visit};
use crate::error::Result;

/// The in-memory engine.
#[derive(Debug, Default)]
pub struct MemoryEngine {
    map: RwLock<BTreeMap<Vec<u8>, Bytes>>,
}

impl MemoryEngine {
    /// An empty engine.
    pub fn new() -> Self {
        Self::default()
    }
}

impl KvEngine for MemoryEngine {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(self.map.read().get(key).cloned())
    }

    fn apply(&self, batch: EngineBatch) -> Result<()> {
        let mut map = self.map.write();
        for op in batch {
            match op {
                EngineOp::Put(k, v) => {
                    map.insert(k, Bytes::from(v));
                }
                EngineOp::Delete(k) => {
                    map.remove(&k);
                }
            }
        }
        Ok(())
    }

    fn scan(&self, prefix: &[u8], from: &[u8], visit: Visit<'_>) -> Result<()> {
        // Visit in chunks so that the lock is not held while the visitor runs (it may read).
        let mut start: Vec<u8> = from.to_vec();
        let mut inclusive = true;
        loop {
            let chunk: Vec<(Vec<u8>, Bytes)> = {
                let map = self.map.read();
                let lower = if inclusive {
                    Bound::Included(start.as_slice())
                } else {
                    Bound::Excluded(start.as_slice())
                };
                map.range::<[u8], _>((lower, Bound::Unbounded))
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .take(256)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            };
            let Some((last, _)) = chunk.last() else {
                return Ok(());
            };
            let last = last.clone();
            let full = chunk.len() == 256;
            for (k, v) in chunk {
                if visit(&k, v)?.is_break() {
                    return Ok(());
                }
            }
            if !full {
                return Ok(());
            }
            start = last;
            inclusive = false;
        }
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64> {
        Ok(self
            .map
            .read()
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum())
    }

    fn path(&self) -> Option<&Path> {
        None
    }
}
