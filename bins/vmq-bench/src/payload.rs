//! The header every benchmark payload starts with: a magic tag, the publisher's index, the
//! message's sequence number (per publisher, from 0) and the send time in nanoseconds since the
//! run's start (a monotonic clock shared by all workers of the process). The rest of the payload
//! is filler up to the configured size. Receivers decode the header to measure latency, loss,
//! duplicates and ordering.

/// The four bytes a benchmark payload starts with.
pub const MAGIC: [u8; 4] = *b"vmqB";

/// Bytes taken by the header: magic (4), publisher (4), sequence (8), send time (8), all
/// big-endian.
pub const HEADER_LEN: usize = 24;

/// The decoded header of one benchmark message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The publisher's index (0-based).
    pub publisher: u32,
    /// The message's sequence number, per publisher, from 0.
    pub seq: u64,
    /// When it was sent, in nanoseconds since the run's start.
    pub sent_ns: u64,
}

/// Why a payload is not a benchmark message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Shorter than [`HEADER_LEN`].
    TooShort(usize),
    /// Does not start with [`MAGIC`].
    BadMagic,
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderError::TooShort(n) => write!(
                f,
                "a {n}-byte payload is not a vmq-bench message (too short)"
            ),
            HeaderError::BadMagic => f.write_str("a payload that is not a vmq-bench message"),
        }
    }
}

impl Header {
    /// Writes the header into the first [`HEADER_LEN`] bytes of `out`; `out` shorter than that is
    /// left untouched and `false` is returned.
    pub fn write(&self, out: &mut [u8]) -> bool {
        let Some(h) = out.get_mut(..HEADER_LEN) else {
            return false;
        };
        h[..4].copy_from_slice(&MAGIC);
        h[4..8].copy_from_slice(&self.publisher.to_be_bytes());
        h[8..16].copy_from_slice(&self.seq.to_be_bytes());
        h[16..24].copy_from_slice(&self.sent_ns.to_be_bytes());
        true
    }

    /// Reads the header at the start of `payload`.
    pub fn read(payload: &[u8]) -> Result<Header, HeaderError> {
        let h = payload
            .get(..HEADER_LEN)
            .ok_or(HeaderError::TooShort(payload.len()))?;
        if h[..4] != MAGIC {
            return Err(HeaderError::BadMagic);
        }
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[i..i + 8]);
            u64::from_be_bytes(b)
        };
        let mut p = [0u8; 4];
        p.copy_from_slice(&h[4..8]);
        Ok(Header {
            publisher: u32::from_be_bytes(p),
            seq: u64_at(8),
            sent_ns: u64_at(16),
        })
    }
}

/// A payload of `size` bytes (at least [`HEADER_LEN`]) with a zeroed header and printable
/// filler: the template a publisher re-stamps for every message.
pub fn template(size: usize) -> Vec<u8> {
    let size = size.max(HEADER_LEN);
    let mut p = vec![0u8; size];
    for (i, b) in p.iter_mut().enumerate().skip(HEADER_LEN) {
        *b = b'a' + (i % 26) as u8;
    }
    p
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_in_a_template() {
        let mut p = template(64);
        assert_eq!(p.len(), 64);
        let h = Header {
            publisher: 7,
            seq: u64::MAX - 1,
            sent_ns: 123_456_789,
        };
        assert!(h.write(&mut p));
        assert_eq!(&p[..4], b"vmqB");
        assert_eq!(Header::read(&p), Ok(h));
        assert_eq!(p[HEADER_LEN], b'a' + (HEADER_LEN % 26) as u8);
    }

    #[test]
    fn the_header_alone_is_a_valid_payload() {
        let mut p = template(1);
        assert_eq!(p.len(), HEADER_LEN);
        let h = Header {
            publisher: 0,
            seq: 0,
            sent_ns: 0,
        };
        assert!(h.write(&mut p));
        assert_eq!(Header::read(&p), Ok(h));
    }

    #[test]
    fn foreign_payloads_are_refused() {
        assert_eq!(Header::read(b"hello"), Err(HeaderError::TooShort(5)));
        assert_eq!(Header::read(&[0u8; 40]), Err(HeaderError::BadMagic));
        let mut short = [0u8; 10];
        let h = Header {
            publisher: 1,
            seq: 1,
            sent_ns: 1,
        };
        assert!(!h.write(&mut short));
        assert_eq!(short, [0u8; 10]);
    }
}
