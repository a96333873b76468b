//! Criterion benchmarks of the router's hot paths: match at 10 k / 100 k / 1 M subscriptions
//! (80 % exact, 15 % `+`, 5 % `#`), subscribe + unsubscribe rate, bytes per subscription
//! (counted by a wrapping global allocator), retained lookup with a wildcard over 1 M
//! retained topics, and matching on two threads while a third changes subscriptions.
//!
//! Sizes and times are modest on purpose (shared 2-core machines); set `ROUTER_BENCH_MAX` to
//! e.g. `100000` to skip the 1 M cases.

#![allow(missing_docs)] // criterion_group! generates undocumented functions
#![allow(clippy::unwrap_used)] // benchmark set-up may unwrap

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use vmq_router::{FastRng, Matches, RetainedStore, SubscriptionTrie, TrieConfig};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// Per-subscription data of the size the broker will store (QoS, flags, subscription id).
#[derive(Clone, Copy)]
struct Opts {
    _qos: u8,
    _flags: u8,
    _sub_id: u32,
}

type Trie = SubscriptionTrie<Arc<str>, Opts>;

const OPTS: Opts = Opts {
    _qos: 1,
    _flags: 0,
    _sub_id: 0,
};

/// A random topic `s<0..1000>/d<0..1000>/c<0..100>/m<0..10>` (10⁹ distinct topics).
fn topic(rng: &mut FastRng) -> String {
    format!(
        "s{}/d{}/c{}/m{}",
        rng.below(1000),
        rng.below(1000),
        rng.below(100),
        rng.below(10)
    )
}

/// The i-th filter of the benchmark mix: 80 % exact, 15 % with one `+`, 5 % ending in `#`.
fn filter(rng: &mut FastRng, i: usize) -> String {
    let t = topic(rng);
    match i % 20 {
        0 => {
            // `#` after 2 or 3 levels.
            let keep = 2 + rng.below(2);
            let prefix: Vec<&str> = t.split('/').take(keep).collect();
            format!("{}/#", prefix.join("/"))
        }
        1..=3 => {
            let at = rng.below(4);
            t.split('/')
                .enumerate()
                .map(|(j, l)| if j == at { "+" } else { l })
                .collect::<Vec<_>>()
                .join("/")
        }
        _ => t,
    }
}

fn max_size() -> usize {
    std::env::var("ROUTER_BENCH_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// A trie with `n` subscriptions (one client each) and a set of query topics, half of which
/// hit an exact subscription.
fn build(n: usize) -> (Trie, Vec<String>) {
    let trie = Trie::new(TrieConfig::default());
    let mut rng = FastRng::new(n as u64);
    let mut exact = Vec::new();
    for i in 0..n {
        let f = filter(&mut rng, i);
        let key: Arc<str> = Arc::from(format!("client-{i}"));
        trie.subscribe("", &f, key, OPTS).unwrap();
        if i % 20 >= 4 && exact.len() < 5000 {
            exact.push(f);
        }
    }
    let mut queries = Vec::new();
    for i in 0..10_000 {
        if i % 2 == 0 {
            queries.push(exact[i % exact.len()].clone());
        } else {
            queries.push(topic(&mut rng));
        }
    }
    (trie, queries)
}

fn sizes() -> Vec<usize> {
    [10_000, 100_000, 1_000_000]
        .into_iter()
        .filter(|&n| n <= max_size())
        .collect()
}

fn bench_match(c: &mut Criterion) {
    let mut g = c.benchmark_group("match");
    g.throughput(Throughput::Elements(1));
    for n in sizes() {
        let region = Region::new(GLOBAL);
        let (trie, queries) = build(n);
        let stats = region.change();
        let bytes = stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
            + stats.bytes_reallocated as i64;
        // Query topics are part of the measured region; subtract their rough size.
        let query_bytes: usize = queries.iter().map(|q| q.capacity() + 24).sum();
        println!(
            "memory: {n} subscriptions, {:.0} bytes/subscription (heap incl. Arc<str> client ids)",
            (bytes - query_bytes as i64) as f64 / n as f64
        );
        let mut out = Matches::with_seed(1);
        let mut i = 0;
        let mut matched = 0usize;
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                i = (i + 1) % queries.len();
                trie.matches("", black_box(&queries[i]), &mut out);
                matched += out.len();
            })
        });
        black_box(matched);
    }
    g.finish();
}

fn bench_sub_unsub(c: &mut Criterion) {
    let mut g = c.benchmark_group("subscribe_unsubscribe");
    g.throughput(Throughput::Elements(2));
    let (trie, _) = build(100_000.min(max_size()));
    let mut rng = FastRng::new(77);
    let filters: Vec<String> = (0..10_000).map(|i| filter(&mut rng, i)).collect();
    let key: Arc<str> = Arc::from("bench-client");
    let mut i = 0;
    g.bench_function("pair_on_100k", |b| {
        b.iter(|| {
            i = (i + 1) % filters.len();
            trie.subscribe("", &filters[i], key.clone(), OPTS).unwrap();
            trie.unsubscribe("", &filters[i], &key)
        })
    });
    g.finish();
}

fn bench_retained(c: &mut Criterion) {
    let n = max_size();
    let store: RetainedStore<Arc<str>> = RetainedStore::new();
    let mut rng = FastRng::new(5);
    let region = Region::new(GLOBAL);
    for _ in 0..n {
        let t = topic(&mut rng);
        let msg: Arc<str> = Arc::from(t.as_str());
        store.set("", &t, msg, None).unwrap();
    }
    let stats = region.change();
    println!(
        "memory: {} retained topics, {:.0} bytes/topic (incl. Arc<str> message)",
        store.len(),
        (stats.bytes_allocated as f64 - stats.bytes_deallocated as f64
            + stats.bytes_reallocated as f64)
            / store.len() as f64
    );
    let now = Instant::now();
    let mut out = Vec::new();
    let mut g = c.benchmark_group("retained_lookup");
    // About 1 000 matches of 1 M: one `s` level fixed, then `+`, `+`, fixed `m`.
    g.bench_function(BenchmarkId::new("s/+/+/m", n), |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % 1000;
            out.clear();
            store.lookup("", &format!("s{i}/+/+/m3"), now, &mut out);
            out.len()
        })
    });
    g.bench_function(BenchmarkId::new("s/d/#", n), |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 7) % 1000;
            out.clear();
            store.lookup("", &format!("s{i}/d{i}/#"), now, &mut out);
            out.len()
        })
    });
    g.finish();
}

/// Two matching threads for `dur`, optionally with a third thread subscribing and
/// unsubscribing; returns matches per second.
fn concurrent_rate(
    trie: &Arc<Trie>,
    queries: &Arc<Vec<String>>,
    churn: bool,
    dur: Duration,
) -> (f64, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let changes = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for t in 0..2 {
        let (trie, queries, stop) = (trie.clone(), queries.clone(), stop.clone());
        handles.push(std::thread::spawn(move || {
            let mut out = Matches::with_seed(t);
            let mut n = 0u64;
            let mut i = t as usize * 5000;
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..64 {
                    i = (i + 1) % queries.len();
                    trie.matches("", &queries[i], &mut out);
                    black_box(out.len());
                }
                n += 64;
            }
            n
        }));
    }
    let churner = churn.then(|| {
        let (trie, stop, changes) = (trie.clone(), stop.clone(), changes.clone());
        std::thread::spawn(move || {
            let mut rng = FastRng::new(9);
            let filters: Vec<String> = (0..20_000).map(|i| filter(&mut rng, i)).collect();
            let key: Arc<str> = Arc::from("churn");
            let mut i = 0;
            // 100 subscribe + unsubscribe pairs per millisecond: 200 k changes/s.
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                for _ in 0..100 {
                    i = (i + 1) % filters.len();
                    trie.subscribe("", &filters[i], key.clone(), OPTS).unwrap();
                    trie.unsubscribe("", &filters[i], &key);
                }
                changes.fetch_add(200, Ordering::Relaxed);
                if let Some(rest) = Duration::from_millis(1).checked_sub(start.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
        })
    });
    std::thread::sleep(dur);
    stop.store(true, Ordering::Relaxed);
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    if let Some(h) = churner {
        let _ = h.join();
    }
    (
        total as f64 / dur.as_secs_f64(),
        changes.load(Ordering::Relaxed),
    )
}

fn bench_concurrent(c: &mut Criterion) {
    let n = 1_000_000.min(max_size());
    let (trie, queries) = build(n);
    let (trie, queries) = (Arc::new(trie), Arc::new(queries));
    let dur = Duration::from_secs(3);
    let (quiet, _) = concurrent_rate(&trie, &queries, false, dur);
    let (busy, changes) = concurrent_rate(&trie, &queries, true, dur);
    let (quiet2, _) = concurrent_rate(&trie, &queries, false, dur);
    let baseline = (quiet + quiet2) / 2.0;
    println!(
        "concurrent: 2 matching threads on {n} subscriptions: {:.0} matches/s alone, {:.0} matches/s \
         while a third thread made {:.0} subscription changes/s: {:.0} % of throughput",
        baseline,
        busy,
        changes as f64 / dur.as_secs_f64(),
        100.0 * busy / baseline
    );
    // Keep criterion's report shape: a trivial measurement so the group exists.
    c.bench_function("concurrent/ratio_printed_above", |b| {
        b.iter(|| black_box(busy / baseline))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench_match, bench_sub_unsub, bench_retained, bench_concurrent
}
criterion_main!(benches);
