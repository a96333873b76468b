//! Hashing and randomness primitives: a zero-sized, process-randomly-seeded `BuildHasher` for
//! maps keyed by client-controlled strings (HashDoS), and a small seedable PRNG owned by the
//! caller (no global RNG lock on the hot path).

use std::hash::{BuildHasher, Hash};
use std::sync::OnceLock;

static SEEDS: OnceLock<ahash::RandomState> = OnceLock::new();

fn seeds() -> &'static ahash::RandomState {
    SEEDS.get_or_init(ahash::RandomState::new)
}

/// A zero-sized `BuildHasher` that uses one random seed per process.
///
/// Zero-sized so that every trie node's map costs no hasher state; randomly seeded (ahash's
/// runtime RNG) so that clients cannot craft colliding topic levels.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Seeded;

impl BuildHasher for Seeded {
    type Hasher = ahash::AHasher;

    #[inline]
    fn build_hasher(&self) -> Self::Hasher {
        seeds().build_hasher()
    }
}

/// Hash of a value with the process seed (used to pick shards).
#[inline]
pub(crate) fn hash_one<T: Hash + ?Sized>(value: &T) -> u64 {
    seeds().hash_one(value)
}

/// A small, fast, seedable pseudo-random generator (SplitMix64 step followed by a
/// multiply-xorshift finaliser). Not cryptographic: it only spreads shared-subscription
/// deliveries over group members.
///
/// Each caller owns one (it lives in [`crate::Matches`]), so there is no shared state and no
/// lock. Seed it with [`FastRng::new`] in tests for reproducible choices.
#[derive(Clone, Debug)]
pub struct FastRng {
    state: u64,
}

impl FastRng {
    /// A generator with the given seed: the same seed gives the same sequence.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator seeded from the process's random hash seed and `salt`; different salts (for
    /// example a counter or a thread id) give independent sequences.
    pub fn from_entropy(salt: u64) -> Self {
        Self::new(hash_one(&salt))
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value uniformly distributed in `0..n` (`n > 0`; returns 0 when `n == 0`).
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        // Lemire's multiply-shift reduction; the bias is below 2^-32 for any realistic n.
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

impl Default for FastRng {
    fn default() -> Self {
        Self::from_entropy(0)
    }
}
