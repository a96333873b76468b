//! [`StoreOptions`], the [`Backend`] choice, and the mapping of VerneMQ's
//! `leveldb.maximum_memory*` keys to sled's cache capacity.

/// Which engine holds the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Backend {
    /// sled 0.34.7 under `<data_dir>/store-sled` (feature `sled`, the default).
    #[cfg(feature = "sled")]
    #[default]
    Sled,
    /// In memory; nothing survives the process. The data dir is not touched.
    #[cfg_attr(not(feature = "sled"), default)]
    Memory,
}

impl Backend {
    /// The sub-directory of `setup.data_dir` the backend uses (`None` for memory).
    pub fn dir_name(self) -> Option<&'static str> {
        match self {
            #[cfg(feature = "sled")]
            Backend::Sled => Some("store-sled"),
            Backend::Memory => None,
        }
    }
}

/// The default cache capacity when nothing is configured: 256 MiB.
pub const DEFAULT_CACHE_CAPACITY: u64 = 256 << 20;

/// The smallest cache capacity [`cache_capacity_from_vernemq`] returns: 16 MiB.
pub const MIN_CACHE_CAPACITY: u64 = 16 << 20;

/// VerneMQ's default for `leveldb.maximum_memory.percent`.
pub const DEFAULT_MAXIMUM_MEMORY_PERCENT: u64 = 70;

/// How to open a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// The engine.
    pub backend: Backend,
    /// sled's `cache_capacity` in bytes: an upper bound on its page cache (sled's own
    /// bookkeeping comes on top). See [`cache_capacity_from_vernemq`].
    pub cache_capacity: u64,
    /// sled's background flush period in milliseconds (`None`: only explicit flushes). The
    /// broker's guarantees come from explicit [`crate::BatchWrite::flush`] calls either way.
    pub flush_every_ms: Option<u64>,
    /// sled's `Mode::HighThroughput` instead of `Mode::LowSpace` (the default: reclaims
    /// space more eagerly).
    pub high_throughput: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            backend: Backend::default(),
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            flush_every_ms: Some(500),
            high_throughput: false,
        }
    }
}

impl StoreOptions {
    /// Options for the memory backend.
    pub fn memory() -> Self {
        StoreOptions {
            backend: Backend::Memory,
            ..Self::default()
        }
    }
}

/// Maps VerneMQ's eleveldb memory settings to sled's `cache_capacity`:
///
/// - `leveldb.maximum_memory` (bytes), when set, wins, as in eleveldb;
/// - otherwise `leveldb.maximum_memory.percent` (default 70) of `total_ram_bytes` (the
///   broker reads `MemTotal` from `/proc/meminfo`; this crate does no such I/O);
/// - otherwise (RAM unknown) [`DEFAULT_CACHE_CAPACITY`].
///
/// The result is at least [`MIN_CACHE_CAPACITY`]. In VerneMQ the budget covers every
/// leveldb instance of the node (message store partitions and metadata); here one sled
/// cache serves all of them, so the meaning is the same. sled treats it as a cap on cached
/// pages, not a reservation, but its real memory use can exceed it by its own overhead:
/// 70 % of RAM is eleveldb's default for a dedicated node, and a smaller value is usually
/// wiser on a shared machine.
pub fn cache_capacity_from_vernemq(
    maximum_memory: Option<u64>,
    maximum_memory_percent: Option<u64>,
    total_ram_bytes: Option<u64>,
) -> u64 {
    let bytes = match (maximum_memory, total_ram_bytes) {
        (Some(b), _) => b,
        (None, Some(ram)) => {
            let pct = maximum_memory_percent
                .unwrap_or(DEFAULT_MAXIMUM_MEMORY_PERCENT)
                .min(100);
            // u128 so that a large RAM times a percentage cannot overflow.
            u64::try_from(u128::from(ram) * u128::from(pct) / 100).unwrap_or(u64::MAX)
        }
        (None, None) => DEFAULT_CACHE_CAPACITY,
    };
    bytes.max(MIN_CACHE_CAPACITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping() {
        assert_eq!(
            cache_capacity_from_vernemq(Some(1 << 30), Some(10), Some(1 << 34)),
            1 << 30
        );
        assert_eq!(
            cache_capacity_from_vernemq(None, Some(10), Some(1000 << 20)),
            100 << 20
        );
        assert_eq!(
            cache_capacity_from_vernemq(None, None, Some(1000 << 20)),
            700 << 20
        );
        assert_eq!(
            cache_capacity_from_vernemq(None, None, None),
            DEFAULT_CACHE_CAPACITY
        );
        assert_eq!(
            cache_capacity_from_vernemq(Some(1), None, None),
            MIN_CACHE_CAPACITY
        );
    }
}
