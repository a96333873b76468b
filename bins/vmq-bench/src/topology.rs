//! Who publishes where and who receives what, without sockets: topic patterns (`bench/%i`, where
//! `%i` is the worker's index), how many subscribers each publisher's messages reach (plain
//! filters each count once, a `$share/<group>/...` group counts once), the expected count of a
//! run, and the send schedule of a rate-limited publisher ([`Pacer`]).

use std::collections::HashMap;

/// Replaces `%i` in `pattern` by `index` (and `%%` by `%`).
pub fn expand(pattern: &str, index: u32) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('%', Some('i')) => {
                chars.next();
                out.push_str(&index.to_string());
            }
            ('%', Some('%')) => {
                chars.next();
                out.push('%');
            }
            _ => out.push(c),
        }
    }
    out
}

/// For each topic, the number of deliveries one publish to it makes: the subscriptions in
/// `filters` (one per subscriber) that match it, where all matching members of one shared group
/// (`$share/<group>/<filter>`) count once. An invalid filter or topic is an error naming it.
///
/// Exact filters (no wildcard, not shared) are looked up by topic, so pairs and fanout cost one
/// lookup per topic; only wildcard and shared filters, each distinct one once, are matched one
/// by one.
pub fn fanout(topics: &[String], filters: &[String]) -> Result<Vec<u32>, String> {
    let mut exact: HashMap<&str, u32> = HashMap::new();
    // (share group, filter) -> subscribers with exactly this subscription
    let mut others: HashMap<(Option<&str>, &str), u32> = HashMap::new();
    for f in filters {
        let s = vmq_router::parse_subscription(f, usize::MAX)
            .map_err(|e| format!("invalid topic filter `{f}`: {e}"))?;
        if s.share_group.is_none() && !vmq_router::has_wildcard(s.filter) {
            *exact.entry(s.filter).or_default() += 1;
        } else {
            *others.entry((s.share_group, s.filter)).or_default() += 1;
        }
    }
    topics
        .iter()
        .map(|topic| {
            vmq_router::validate_topic_name(topic, usize::MAX)
                .map_err(|e| format!("invalid topic `{topic}`: {e}"))?;
            let mut n = exact.get(topic.as_str()).copied().unwrap_or(0);
            let mut groups: Vec<&str> = Vec::new();
            for (&(group, filter), &count) in &others {
                if !vmq_router::filter_matches(filter, topic) {
                    continue;
                }
                match group {
                    None => n += count,
                    Some(g) if !groups.contains(&g) => {
                        groups.push(g);
                        n += 1;
                    }
                    Some(_) => {}
                }
            }
            Ok(n)
        })
        .collect()
}

/// The deliveries expected when publisher `i` sent `sent[i]` messages, each reaching
/// `fanout[i]` subscribers.
pub fn expected(sent: &[u64], fanout: &[u32]) -> u64 {
    sent.iter()
        .zip(fanout)
        .map(|(&s, &f)| s.saturating_mul(u64::from(f)))
        .sum()
}

/// The rate of one publisher: `per_publisher` if given, otherwise `total` shared evenly by
/// `publishers`; 0 means as fast as possible.
pub fn publisher_rate(total: Option<f64>, per_publisher: Option<f64>, publishers: u32) -> f64 {
    match (per_publisher, total) {
        (Some(r), _) => r,
        (None, Some(t)) if publishers > 0 => t / f64::from(publishers),
        _ => 0.0,
    }
}

/// When a rate-limited publisher's messages are due: message `k` at
/// `phase_ns + k / rate`. Publishers get different phases so that their sends spread over the
/// period instead of all firing at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacer {
    /// Messages per second; 0 = unlimited.
    rate: f64,
    /// When message 0 is due, in nanoseconds since the run's start.
    phase_ns: u64,
}

impl Pacer {
    /// Publisher `index` of `count` sending at `rate` msg/s (0 = unlimited).
    pub fn new(rate: f64, index: u32, count: u32) -> Pacer {
        let phase_ns = if rate > 0.0 && count > 0 {
            (1e9 / rate * f64::from(index) / f64::from(count)) as u64
        } else {
            0
        };
        Pacer { rate, phase_ns }
    }

    /// True when there is no rate limit.
    pub fn unlimited(&self) -> bool {
        self.rate <= 0.0
    }

    /// How many messages are due by `now_ns` (all of them, `u64::MAX`, when unlimited).
    pub fn due_by(&self, now_ns: u64) -> u64 {
        if self.unlimited() {
            return u64::MAX;
        }
        match now_ns.checked_sub(self.phase_ns) {
            None => 0,
            Some(t) => (t as f64 * self.rate / 1e9) as u64 + 1,
        }
    }

    /// When message `k` is due, in nanoseconds since the run's start (0 when unlimited).
    pub fn due_at(&self, k: u64) -> u64 {
        if self.unlimited() {
            return 0;
        }
        self.phase_ns + (k as f64 * 1e9 / self.rate).ceil() as u64
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn patterns_expand_the_index() {
        assert_eq!(expand("bench/%i", 3), "bench/3");
        assert_eq!(expand("a/%i/b/%i", 12), "a/12/b/12");
        assert_eq!(expand("shared/topic", 5), "shared/topic");
        assert_eq!(expand("100%%/%x", 1), "100%/%x");
        assert_eq!(expand("%", 1), "%");
    }

    #[test]
    fn pairs_fan_out_to_one() {
        let topics: Vec<String> = (0..4).map(|i| expand("bench/%i", i)).collect();
        let filters: Vec<String> = (0..4).map(|i| expand("bench/%i", i)).collect();
        assert_eq!(fanout(&topics, &filters).unwrap(), vec![1, 1, 1, 1]);
        assert_eq!(expected(&[10, 20, 0, 5], &[1, 1, 1, 1]), 35);
    }

    #[test]
    fn fanout_reaches_every_subscriber() {
        let topics = strings(&["bench/all"]);
        let filters = vec!["bench/all".to_string(); 50];
        assert_eq!(fanout(&topics, &filters).unwrap(), vec![50]);
        assert_eq!(expected(&[100], &[50]), 5000);
    }

    #[test]
    fn fanin_and_wildcards() {
        let topics: Vec<String> = (0..3).map(|i| expand("bench/%i", i)).collect();
        let filters = strings(&["bench/#", "bench/+", "bench/1", "other/#", "#", "bench/#"]);
        assert_eq!(fanout(&topics, &filters).unwrap(), vec![4, 5, 4]);
    }

    #[test]
    fn shared_groups_count_once() {
        let topics = strings(&["bench/x"]);
        let filters = strings(&[
            "$share/g1/bench/x",
            "$share/g1/bench/+",
            "$share/g2/bench/#",
            "$share/g2/bench/#",
            "$share/g3/nomatch",
            "$share/g4/bench/x",
            "bench/x",
            "bench/x",
        ]);
        assert_eq!(fanout(&topics, &filters).unwrap(), vec![5]);
    }

    #[test]
    fn dollar_topics_skip_leading_wildcards() {
        let topics = strings(&["$bench/x"]);
        let filters = strings(&["#", "+/x", "$bench/#", "$bench/x"]);
        assert_eq!(fanout(&topics, &filters).unwrap(), vec![2]);
    }

    #[test]
    fn large_pairs_are_cheap() {
        let n = 20_000;
        let topics: Vec<String> = (0..n).map(|i| expand("bench/%i", i)).collect();
        let t = std::time::Instant::now();
        assert!(fanout(&topics, &topics).unwrap().iter().all(|&f| f == 1));
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn invalid_topics_and_filters_are_named() {
        let e = fanout(&strings(&["a/+"]), &[]).unwrap_err();
        assert!(e.contains("`a/+`"), "{e}");
        let e = fanout(&strings(&["a"]), &strings(&["a/#/b"])).unwrap_err();
        assert!(e.contains("`a/#/b`"), "{e}");
    }

    #[test]
    fn rates_split_or_apply_per_publisher() {
        assert_eq!(publisher_rate(Some(1000.0), None, 4), 250.0);
        assert_eq!(publisher_rate(Some(1000.0), Some(10.0), 4), 10.0);
        assert_eq!(publisher_rate(None, Some(10.0), 4), 10.0);
        assert_eq!(publisher_rate(None, None, 4), 0.0);
        assert_eq!(publisher_rate(Some(100.0), None, 0), 0.0);
    }

    #[test]
    fn pacer_schedules_at_the_rate() {
        let p = Pacer::new(1000.0, 0, 1);
        assert_eq!(p.due_by(0), 1);
        assert_eq!(p.due_by(999_999), 1);
        assert_eq!(p.due_by(1_000_000), 2);
        assert_eq!(p.due_by(1_000_000_000), 1001);
        assert_eq!(p.due_at(0), 0);
        assert_eq!(p.due_at(5), 5_000_000);
        // Due counts and due times agree.
        for k in 0..100 {
            assert_eq!(p.due_by(p.due_at(k)), k + 1);
        }
    }

    #[test]
    fn pacer_phases_spread_publishers() {
        let a = Pacer::new(10.0, 0, 2);
        let b = Pacer::new(10.0, 1, 2);
        assert_eq!(a.due_at(0), 0);
        assert_eq!(b.due_at(0), 50_000_000);
        assert_eq!(b.due_by(49_999_999), 0);
        assert_eq!(b.due_by(50_000_000), 1);
    }

    #[test]
    fn unlimited_pacer_is_always_due() {
        let p = Pacer::new(0.0, 3, 4);
        assert!(p.unlimited());
        assert_eq!(p.due_by(0), u64::MAX);
        assert_eq!(p.due_at(1_000), 0);
    }
}
