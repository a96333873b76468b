//! Space reclamation: a steady enqueue-and-ack load must not grow the store. Each cycle
//! writes a batch of messages for two subscribers, flushes, acks them all and flushes.

#![allow(clippy::unwrap_used)] // tests may unwrap

use bytes::Bytes;
use vmq_store::{
    Batch, BatchWrite, MessageStore, Store, StoreOptions, StoredMessage, SubscriberKey,
};

const PAYLOAD: usize = 1024;
const PER_CYCLE: u128 = 16;

fn cycle(s: &Store, c: u128, subs: &[SubscriberKey], batch: &mut Batch) {
    let payload = Bytes::from(vec![0x5a; PAYLOAD]);
    batch.clear();
    for i in 0..PER_CYCLE {
        let m = StoredMessage {
            msg_id: c * PER_CYCLE + i,
            topic: "space/test".into(),
            payload: payload.clone(),
            qos: 1,
            ..Default::default()
        };
        batch.put_message(m, subs.iter().cloned());
    }
    s.write_batch(batch).unwrap();
    s.flush().unwrap();
    batch.clear();
    for i in 0..PER_CYCLE {
        for sub in subs {
            batch.delete_entry(sub.clone(), c * PER_CYCLE + i);
        }
    }
    s.write_batch(batch).unwrap();
    s.flush().unwrap();
}

/// Runs `warmup` then `cycles` cycles; returns (size after warm-up, max size seen, final).
fn run(s: &Store, warmup: u128, cycles: u128) -> (u64, u64, u64) {
    let subs = [SubscriberKey::new("", "a"), SubscriberKey::new("", "b")];
    let mut batch = Batch::new();
    for c in 0..warmup {
        cycle(s, c, &subs, &mut batch);
    }
    let after_warmup = s.size_on_disk().unwrap();
    let mut max = after_warmup;
    for c in warmup..warmup + cycles {
        cycle(s, c, &subs, &mut batch);
        if c % 100 == 0 {
            max = max.max(s.size_on_disk().unwrap());
        }
    }
    assert_eq!(s.message_count().unwrap(), 0);
    assert!(s.verify().unwrap().is_clean());
    (after_warmup, max, s.size_on_disk().unwrap())
}

fn dir_size(p: &std::path::Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        let md = e.metadata().unwrap();
        n += if md.is_dir() {
            dir_size(&e.path())
        } else {
            md.len()
        };
    }
    n
}

#[test]
fn memory_store_returns_to_empty() {
    let s = Store::memory();
    let base = s.size_on_disk().unwrap();
    let (_, _, end) = run(&s, 10, 500);
    // Only the sequence counter is left over.
    assert!(end <= base + 64, "{base} -> {end}");
}

#[test]
fn sled_store_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        cache_capacity: 16 << 20,
        flush_every_ms: None,
        ..StoreOptions::default()
    };
    let s = Store::open(dir.path(), &opts).unwrap();
    // 1_200 cycles write 19_200 messages of 1 KiB (about 19 MiB of payload, more counting
    // index entries and deletes) while the live data is never over 16 messages.
    let (warm, max, end) = run(&s, 200, 1_000);
    let files = dir_size(dir.path());
    eprintln!(
        "sled size_on_disk: after 200 cycles {warm} B, max {max} B, after 1200 cycles {end} B \
         (files in the directory: {files} B)"
    );
    assert!(files < 40 << 20, "files {files}");
    // Bounded: far below the 40 MiB written, and not growing with the cycle count beyond a
    // small multiple of the warmed-up size.
    assert!(end < 3 * warm.max(4 << 20), "{warm} -> {end}");
    assert!(max < 40 << 20, "max {max}");
}
