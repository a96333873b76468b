//! Startup with a large store: writes N messages (default 200 000) spread over S
//! subscribers (default 1 000) into a sled store, drops it, then measures the time to open
//! it again and to iterate every queue (what the broker does at startup), and the size on
//! disk. Run: `cargo run --release -p vmq-store --example large_store [N] [S] [DIR]`.

use std::time::Instant;

use bytes::Bytes;
use vmq_store::{
    Batch, BatchWrite, MessageStore, Store, StoreOptions, StoredMessage, SubscriberKey,
};

fn main() -> Result<(), vmq_store::Error> {
    let mut args = std::env::args().skip(1);
    let n: u128 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let subs: u128 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let tmp = tempfile::tempdir().map_err(|e| vmq_store::Error::Invalid(e.to_string()))?;
    let dir = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let opts = StoreOptions {
        flush_every_ms: None,
        ..StoreOptions::default()
    };
    let payload = Bytes::from(vec![0x42; 128]);
    let t = Instant::now();
    {
        let store = Store::open(&dir, &opts)?;
        let mut batch = Batch::with_capacity(1024);
        for i in 0..n {
            let sub = SubscriberKey::new("", format!("client-{}", i % subs));
            batch.put_message(
                StoredMessage {
                    msg_id: i,
                    topic: format!("t/{}", i % 97),
                    payload: payload.clone(),
                    qos: 1,
                    ..Default::default()
                },
                [sub],
            );
            if batch.len() == 1024 {
                store.write_batch(&batch)?;
                store.flush()?;
                batch.clear();
            }
        }
        store.write_batch(&batch)?;
        store.flush()?;
        println!(
            "wrote {n} messages for {subs} subscribers in {:.2?} ({:.0} msg/s), size on disk {} MiB",
            t.elapsed(),
            n as f64 / t.elapsed().as_secs_f64(),
            store.size_on_disk()? >> 20
        );
    }
    let t = Instant::now();
    let store = Store::open(&dir, &opts)?;
    let opened = t.elapsed();
    let t = Instant::now();
    let (mut queues, mut msgs) = (0u64, 0u64);
    store.for_each_queue(&mut |_, q| {
        queues += 1;
        msgs += q.len() as u64;
    })?;
    let iterated = t.elapsed();
    println!(
        "reopen {opened:.2?}; iterate {queues} queues / {msgs} messages {iterated:.2?} ({:.0} msg/s)",
        msgs as f64 / iterated.as_secs_f64()
    );
    Ok(())
}
