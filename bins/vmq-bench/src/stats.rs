//! Counting, without sockets: what one subscriber makes of each message it receives
//! ([`SubscriberTally`]: new, duplicate, out of order, warm-up, foreign, with per-publisher
//! sequence tracking in [`SeqTracker`]), what a publisher counts ([`PublisherTally`]), latency
//! histograms, and the final [`Summary`] of a run (expected, lost, percentiles, throughput).

use std::collections::HashMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::payload::Header;
use crate::topology;

/// The highest latency a histogram holds (60 s, in nanoseconds); longer ones are recorded as
/// this.
pub const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// An empty latency histogram (nanoseconds from 1 to [`MAX_LATENCY_NS`], 3 significant
/// digits). Fails only if hdrhistogram refuses these constant bounds.
pub fn new_histogram() -> Result<Histogram<u64>, hdrhistogram::CreationError> {
    Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3)
}

/// Records one latency in nanoseconds (at least 1, at most [`MAX_LATENCY_NS`]).
pub fn record_latency(h: &mut Histogram<u64>, ns: u64) {
    h.saturating_record(ns.clamp(1, MAX_LATENCY_NS));
}

/// The value at percentile `p` (0..=100) in nanoseconds, `None` when the histogram is empty.
pub fn percentile_ns(h: &Histogram<u64>, p: f64) -> Option<u64> {
    (!h.is_empty()).then(|| h.value_at_percentile(p))
}

/// How a message arrived compared with what the same subscriber already got from the same
/// publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// First time seen, and no higher sequence number was seen before it.
    InOrder,
    /// First time seen, but after a higher sequence number.
    OutOfOrder,
    /// Seen before.
    Duplicate,
}

/// The sequence numbers one subscriber has seen from one publisher (a bit set from 0).
#[derive(Debug, Default, Clone)]
pub struct SeqTracker {
    seen: Vec<u64>,
    highest: Option<u64>,
}

impl SeqTracker {
    /// Notes `seq` and says how it arrived.
    pub fn observe(&mut self, seq: u64) -> Arrival {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if word >= self.seen.len() {
            self.seen.resize(word + 1, 0);
        }
        let mask = 1u64 << bit;
        if self.seen[word] & mask != 0 {
            return Arrival::Duplicate;
        }
        self.seen[word] |= mask;
        match self.highest {
            Some(h) if seq < h => Arrival::OutOfOrder,
            _ => {
                self.highest = Some(seq);
                Arrival::InOrder
            }
        }
    }
}

/// What subscribers counted (also the sum over all of them).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReceiveCounts {
    /// Measured messages received, duplicates included.
    pub received: u64,
    /// Measured messages received for the first time.
    pub unique: u64,
    /// Measured messages received again.
    pub duplicates: u64,
    /// Measured messages that arrived after a later one of the same publisher.
    pub out_of_order: u64,
    /// Messages sent during the warm-up (not counted elsewhere).
    pub warmup: u64,
    /// Messages that were not vmq-bench messages (the workers count them as errors too).
    pub foreign: u64,
}

impl ReceiveCounts {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &ReceiveCounts) {
        self.received += other.received;
        self.unique += other.unique;
        self.duplicates += other.duplicates;
        self.out_of_order += other.out_of_order;
        self.warmup += other.warmup;
        self.foreign += other.foreign;
    }
}

/// What became of one received message, for the live counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Sent during the warm-up: tracked for ordering, not counted.
    Warmup,
    /// A measured message seen for the first time, with its latency in nanoseconds.
    New {
        /// Receive time minus send time.
        latency_ns: u64,
    },
    /// A measured message seen before.
    Duplicate,
    /// Not a vmq-bench message.
    Foreign,
}

/// One subscriber's accounting.
#[derive(Debug, Default, Clone)]
pub struct SubscriberTally {
    /// The counters.
    pub counts: ReceiveCounts,
    trackers: HashMap<u32, SeqTracker>,
}

impl SubscriberTally {
    /// Accounts for a message whose payload is `payload`, received at `now_ns`; messages sent
    /// before `measure_from_ns` belong to the warm-up.
    pub fn on_message(&mut self, payload: &[u8], now_ns: u64, measure_from_ns: u64) -> Delivery {
        let Ok(h) = Header::read(payload) else {
            self.counts.foreign += 1;
            return Delivery::Foreign;
        };
        let arrival = self.trackers.entry(h.publisher).or_default().observe(h.seq);
        if h.sent_ns < measure_from_ns {
            self.counts.warmup += 1;
            return Delivery::Warmup;
        }
        self.counts.received += 1;
        match arrival {
            Arrival::Duplicate => {
                self.counts.duplicates += 1;
                Delivery::Duplicate
            }
            Arrival::OutOfOrder | Arrival::InOrder => {
                self.counts.unique += 1;
                if arrival == Arrival::OutOfOrder {
                    self.counts.out_of_order += 1;
                }
                Delivery::New {
                    latency_ns: now_ns.saturating_sub(h.sent_ns),
                }
            }
        }
    }
}

/// What one publisher counted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PublisherTally {
    /// Measured messages sent (after the warm-up).
    pub sent: u64,
    /// Messages sent during the warm-up.
    pub sent_warmup: u64,
    /// Messages (warm-up included) whose QoS 1/2 flow completed (PUBACK / PUBCOMP).
    pub acked: u64,
}

/// Latency percentiles of a run, in microseconds (`None` without samples).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencyUs {
    /// Number of latency samples (first arrivals of measured messages).
    pub samples: u64,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// 99.9th percentile.
    pub p99_9: Option<f64>,
    /// Highest.
    pub max: Option<f64>,
    /// Mean.
    pub mean: Option<f64>,
}

/// Nanoseconds as microseconds rounded to 0.1.
pub fn ns_to_us(ns: u64) -> f64 {
    (ns as f64 / 100.0).round() / 10.0
}

impl LatencyUs {
    /// The percentiles of `h`.
    pub fn of(h: &Histogram<u64>) -> LatencyUs {
        let p = |q: f64| percentile_ns(h, q).map(ns_to_us);
        LatencyUs {
            samples: h.len(),
            p50: p(50.0),
            p90: p(90.0),
            p99: p(99.0),
            p99_9: p(99.9),
            max: (!h.is_empty()).then(|| ns_to_us(h.max())),
            mean: (!h.is_empty()).then(|| (h.mean() / 100.0).round() / 10.0),
        }
    }
}

/// Everything a run measured, as reported and as checked by requirements.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Clients connected at the start (publishers + subscribers).
    pub connected: u64,
    /// Length of the measured window in seconds (the warm-up excluded).
    pub measured_s: f64,
    /// Measured messages published.
    pub sent: u64,
    /// Publishes whose QoS 1/2 flow completed (warm-up included; 0 at QoS 0).
    pub acked: u64,
    /// Measured messages received, duplicates included.
    pub received: u64,
    /// Measured messages received at least once (per subscriber).
    pub unique: u64,
    /// Deliveries expected: for each publish, the subscribers whose filter matches.
    pub expected: u64,
    /// Expected deliveries that never arrived: `expected - unique`.
    pub lost: u64,
    /// `lost` as a percentage of `expected`.
    pub loss_pct: f64,
    /// Measured messages received more than once.
    pub duplicates: u64,
    /// Measured messages that arrived after a later one of the same publisher.
    pub out_of_order: u64,
    /// Errors (refused publishes, lost connections, foreign messages, ...).
    pub errors: u64,
    /// Latency percentiles.
    pub latency_us: LatencyUs,
    /// Measured messages published per second.
    pub sent_rate: f64,
    /// Measured messages received (first arrivals) per second.
    pub recv_rate: f64,
    /// The latency histogram (nanoseconds), for percentile requirements.
    #[serde(skip)]
    pub histogram: Histogram<u64>,
}

/// The inputs of [`Summary::build`].
#[derive(Debug)]
pub struct RunTotals<'a> {
    /// Clients connected at the start.
    pub connected: u64,
    /// The measured window in seconds.
    pub measured_s: f64,
    /// Per publisher (by index).
    pub publishers: &'a [PublisherTally],
    /// Per publisher: subscribers reached by one publish.
    pub fanout: &'a [u32],
    /// Summed over subscribers.
    pub received: ReceiveCounts,
    /// Errors counted by the workers (foreign messages included).
    pub errors: u64,
}

impl Summary {
    /// Computes the summary of a run.
    pub fn build(t: RunTotals<'_>, histogram: Histogram<u64>) -> Summary {
        let sent_each: Vec<u64> = t.publishers.iter().map(|p| p.sent).collect();
        let expected = topology::expected(&sent_each, t.fanout);
        let sent: u64 = sent_each.iter().sum();
        let lost = expected.saturating_sub(t.received.unique);
        let per_s = |n: u64| {
            if t.measured_s > 0.0 {
                n as f64 / t.measured_s
            } else {
                0.0
            }
        };
        Summary {
            connected: t.connected,
            measured_s: t.measured_s,
            sent,
            acked: t.publishers.iter().map(|p| p.acked).sum(),
            received: t.received.received,
            unique: t.received.unique,
            expected,
            lost,
            loss_pct: if expected > 0 {
                lost as f64 * 100.0 / expected as f64
            } else {
                0.0
            },
            duplicates: t.received.duplicates,
            out_of_order: t.received.out_of_order,
            errors: t.errors,
            latency_us: LatencyUs::of(&histogram),
            sent_rate: per_s(sent),
            recv_rate: per_s(t.received.unique),
            histogram,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use crate::payload;

    fn message(publisher: u32, seq: u64, sent_ns: u64) -> Vec<u8> {
        let mut p = payload::template(32);
        Header {
            publisher,
            seq,
            sent_ns,
        }
        .write(&mut p);
        p
    }

    #[test]
    fn tracker_sees_order_gaps_and_duplicates() {
        let mut t = SeqTracker::default();
        assert_eq!(t.observe(0), Arrival::InOrder);
        assert_eq!(t.observe(2), Arrival::InOrder); // a gap is not disorder
        assert_eq!(t.observe(1), Arrival::OutOfOrder);
        assert_eq!(t.observe(1), Arrival::Duplicate);
        assert_eq!(t.observe(2), Arrival::Duplicate);
        assert_eq!(t.observe(1000), Arrival::InOrder);
        assert_eq!(t.observe(999), Arrival::OutOfOrder);
        assert_eq!(t.observe(1000), Arrival::Duplicate);
    }

    #[test]
    fn subscriber_counts_each_kind() {
        let mut s = SubscriberTally::default();
        let measure_from = 100;
        // (publisher, seq, sent at, received at, verdict)
        let cases = [
            (0, 0, 50, 60, Delivery::Warmup),
            (0, 2, 150, 170, Delivery::New { latency_ns: 20 }),
            (0, 1, 120, 180, Delivery::New { latency_ns: 60 }),
            (0, 2, 150, 190, Delivery::Duplicate),
            // Another publisher's sequence is independent.
            (1, 0, 150, 200, Delivery::New { latency_ns: 50 }),
        ];
        for (publisher, seq, sent, now, verdict) in cases {
            let m = message(publisher, seq, sent);
            assert_eq!(s.on_message(&m, now, measure_from), verdict, "seq {seq}");
        }
        assert_eq!(
            s.on_message(b"not ours", 200, measure_from),
            Delivery::Foreign
        );
        assert_eq!(
            s.counts,
            ReceiveCounts {
                received: 4,
                unique: 3,
                duplicates: 1,
                out_of_order: 1,
                warmup: 1,
                foreign: 1,
            }
        );
        let mut sum = ReceiveCounts::default();
        sum.add(&s.counts);
        sum.add(&s.counts);
        assert_eq!(sum.unique, 6);
        assert_eq!(sum.foreign, 2);
    }

    #[test]
    fn summary_of_a_lossy_fanout() {
        let mut h = new_histogram().unwrap();
        for us in 1..=1000u64 {
            record_latency(&mut h, us * 1000);
        }
        let publishers = [PublisherTally {
            sent: 100,
            sent_warmup: 10,
            acked: 110,
        }];
        let received = ReceiveCounts {
            received: 299,
            unique: 297,
            duplicates: 2,
            out_of_order: 1,
            warmup: 30,
            foreign: 1,
        };
        let s = Summary::build(
            RunTotals {
                connected: 4,
                measured_s: 2.0,
                publishers: &publishers,
                fanout: &[3],
                received,
                errors: 2,
            },
            h,
        );
        assert_eq!(s.sent, 100);
        assert_eq!(s.expected, 300);
        assert_eq!(s.lost, 3);
        assert!((s.loss_pct - 1.0).abs() < 1e-9);
        assert_eq!(s.errors, 2);
        assert_eq!(s.sent_rate, 50.0);
        assert_eq!(s.recv_rate, 148.5);
        assert_eq!(s.latency_us.samples, 1000);
        let p50 = s.latency_us.p50.unwrap();
        assert!((499.0..=501.0).contains(&p50), "{p50}");
        let p99 = s.latency_us.p99.unwrap();
        assert!((989.0..=991.0).contains(&p99), "{p99}");
        assert!((999.0..=1001.0).contains(&s.latency_us.max.unwrap()));
    }

    #[test]
    fn no_samples_no_percentiles() {
        let l = LatencyUs::of(&new_histogram().unwrap());
        assert_eq!(l.samples, 0);
        assert_eq!(l.p99, None);
        assert_eq!(l.max, None);
    }

    #[test]
    fn latencies_are_clamped_into_the_histogram() {
        let mut h = new_histogram().unwrap();
        record_latency(&mut h, 0);
        record_latency(&mut h, u64::MAX);
        assert_eq!(h.len(), 2);
        assert_eq!(percentile_ns(&h, 0.0), Some(1));
        assert!(h.max() >= MAX_LATENCY_NS);
    }

    #[test]
    fn microseconds_round_to_a_tenth() {
        assert_eq!(ns_to_us(123_456), 123.5);
        assert_eq!(ns_to_us(1_000), 1.0);
    }
}
