//! Embedding only `vmq-router`: a toy in-process pub/sub with MQTT 5-style subscription
//! options, a shared subscription, and retained messages. No broker, no codec, no runtime.
//!
//! Run with `cargo run -p vmq-router --example embed_router`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vmq_router::{
    validate_topic_name, Matches, NodeName, RetainedStore, SharedPolicy, SubscriptionTrie,
    TrieConfig,
};

/// Per-subscription data an embedder might keep.
#[derive(Clone, Debug)]
struct Options {
    qos: u8,
    subscription_id: Option<u32>,
}

fn main() -> Result<(), vmq_router::RouterError> {
    let trie: SubscriptionTrie<Arc<str>, Options> = SubscriptionTrie::new(TrieConfig {
        local_node: NodeName::new("node-a"),
        policy: SharedPolicy::PreferLocal,
        max_depth: 10,
    });
    let retained: RetainedStore<(Arc<str>, &'static str)> = RetainedStore::new();

    let alice: Arc<str> = Arc::from("alice");
    let bob: Arc<str> = Arc::from("bob");
    let opts = |qos, id| Options {
        qos,
        subscription_id: id,
    };
    trie.subscribe("", "home/+/temperature", alice.clone(), opts(0, Some(1)))?;
    trie.subscribe("", "home/#", alice.clone(), opts(2, Some(7)))?;
    trie.subscribe("", "home/kitchen/temperature", bob.clone(), opts(1, None))?;
    for worker in ["w1", "w2", "w3"] {
        trie.subscribe(
            "",
            "$share/loggers/home/#",
            Arc::from(worker),
            opts(1, None),
        )?;
    }

    let now = Instant::now();
    retained.set(
        "",
        "home/kitchen/temperature",
        (Arc::from("home/kitchen/temperature"), "21.5"),
        None,
    )?;
    retained.set(
        "",
        "home/hall/temperature",
        (Arc::from("home/hall/temperature"), "19.0"),
        Some(now + Duration::from_secs(60)),
    )?;

    // Which loggers are connected right now: the embedder knows, the router asks.
    let online: HashSet<&str> = ["w2", "w3"].into_iter().collect();
    let presence = |k: &Arc<str>| online.contains(&**k);

    let topic = "home/kitchen/temperature";
    validate_topic_name(topic, 10)?;
    let mut out = Matches::new();
    for _ in 0..3 {
        trie.matches_with("", topic, &presence, &mut out);
        for deliveries in out.by_subscriber() {
            let who = &deliveries[0].key;
            let qos = deliveries.iter().map(|m| m.value.qos).max().unwrap_or(0);
            let ids: Vec<u32> = deliveries
                .iter()
                .filter_map(|m| m.value.subscription_id)
                .collect();
            println!("deliver {topic} to {who} at QoS {qos}, subscription ids {ids:?}");
        }
    }

    let mut found = Vec::new();
    retained.lookup("", "home/+/temperature", now, &mut found);
    println!("retained for home/+/temperature now: {:?}", found);
    found.clear();
    retained.expire(now + Duration::from_secs(61));
    retained.lookup(
        "",
        "home/+/temperature",
        now + Duration::from_secs(61),
        &mut found,
    );
    println!("after expiry: {:?} ({} stored)", found, retained.len());
    println!("{} subscriptions", trie.len());
    Ok(())
}
