//! What the user sees, as plain functions of the numbers: the progress line printed once a
//! second, the final summary as a table, and the same as JSON (`--json`).

use serde_json::json;

use crate::config::Scenario;
use crate::require::Outcome;
use crate::stats::Summary;

/// The live counters at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Nanoseconds since the run's start.
    pub at_ns: u64,
    /// Messages published (warm-up included).
    pub sent: u64,
    /// Messages received (warm-up and duplicates included).
    pub received: u64,
    /// Deliveries the publishes so far should make.
    pub expected: u64,
    /// Errors so far.
    pub errors: u64,
}

/// A latency for the progress line: `850us`, `12.3ms`, `1.25s`, `-` when unknown.
fn latency(ns: Option<u64>) -> String {
    match ns {
        None => "-".into(),
        Some(v) if v < 1_000_000 => format!("{}us", (v as f64 / 1e3).round()),
        Some(v) if v < 1_000_000_000 => format!("{:.1}ms", v as f64 / 1e6),
        Some(v) => format!("{:.2}s", v as f64 / 1e9),
    }
}

/// One progress line: elapsed time, phase, rates since `prev`, deliveries still in flight
/// (expected but not received yet), latency so far and errors.
pub fn progress_line(
    prev: &Snapshot,
    cur: &Snapshot,
    phase: &str,
    p50_ns: Option<u64>,
    p99_ns: Option<u64>,
) -> String {
    let dt = cur.at_ns.saturating_sub(prev.at_ns) as f64 / 1e9;
    let rate = |a: u64, b: u64| {
        if dt > 0.0 {
            (b.saturating_sub(a) as f64 / dt).round() as u64
        } else {
            0
        }
    };
    format!(
        "{:>6.1}s {:<7} sent/s {:>8}  recv/s {:>8}  inflight {:>7}  p50 {:>8}  p99 {:>8}  errors {}",
        cur.at_ns as f64 / 1e9,
        phase,
        rate(prev.sent, cur.sent),
        rate(prev.received, cur.received),
        cur.expected.saturating_sub(cur.received),
        latency(p50_ns),
        latency(p99_ns),
        cur.errors,
    )
}

fn us(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into())
}

/// The final summary as a human-readable table, with the requirements' outcomes and the first
/// errors seen.
pub fn table(sc: &Scenario, s: &Summary, outcomes: &[Outcome], errors_seen: &[String]) -> String {
    let mut out = String::new();
    let mut line = |l: String| {
        out.push_str(&l);
        out.push('\n');
    };
    line(format!(
        "vmq-bench: {} clients connected to {} ({} publishers, {} subscribers), MQTT {}, QoS {} \
         (subscriptions {}), {}-byte payloads, {} measured",
        s.connected,
        sc.addr(),
        sc.publishers,
        sc.subscribers,
        sc.mqtt_version,
        sc.qos,
        sc.sub_qos,
        sc.payload_size,
        sc.duration,
    ));
    line(format!(
        "  sent          {:>12}   {:>10.1} msg/s",
        s.sent, s.sent_rate
    ));
    line(format!(
        "  received      {:>12}   {:>10.1} msg/s (first arrivals)",
        s.received, s.recv_rate
    ));
    line(format!("  expected      {:>12}", s.expected));
    line(format!(
        "  lost          {:>12}   {:>10.3} %",
        s.lost, s.loss_pct
    ));
    line(format!("  duplicates    {:>12}", s.duplicates));
    line(format!("  out of order  {:>12}", s.out_of_order));
    line(format!("  errors        {:>12}", s.errors));
    let l = &s.latency_us;
    line(format!(
        "  latency (us)  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  ({} samples)",
        us(l.p50),
        us(l.p90),
        us(l.p99),
        us(l.p99_9),
        us(l.max),
        l.samples
    ));
    if !outcomes.is_empty() {
        line("requirements:".into());
        for o in outcomes {
            line(format!(
                "  {:<5} {:<24} ({})",
                if o.ok { "ok" } else { "FAIL" },
                o.requirement,
                o.actual
            ));
        }
    }
    if !errors_seen.is_empty() {
        line("first errors:".into());
        for e in errors_seen {
            line(format!("  {e}"));
        }
    }
    out
}

/// The final summary as JSON: `scenario`, `summary`, `requirements`, `passed`, `errors_seen`.
pub fn json(
    sc: &Scenario,
    s: &Summary,
    outcomes: &[Outcome],
    errors_seen: &[String],
) -> serde_json::Value {
    json!({
        "scenario": sc,
        "summary": s,
        "requirements": outcomes,
        "passed": outcomes.iter().all(|o| o.ok),
        "errors_seen": errors_seen,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::stats::{new_histogram, record_latency, PublisherTally, ReceiveCounts, RunTotals};

    fn summary() -> Summary {
        let mut h = new_histogram().unwrap();
        record_latency(&mut h, 150_000);
        Summary::build(
            RunTotals {
                connected: 2,
                measured_s: 1.0,
                publishers: &[PublisherTally {
                    sent: 10,
                    ..Default::default()
                }],
                fanout: &[1],
                received: ReceiveCounts {
                    received: 10,
                    unique: 10,
                    ..Default::default()
                },
                errors: 0,
            },
            h,
        )
    }

    #[test]
    fn progress_shows_rates_since_the_last_line() {
        let prev = Snapshot {
            at_ns: 1_000_000_000,
            sent: 100,
            received: 90,
            expected: 100,
            errors: 0,
        };
        let cur = Snapshot {
            at_ns: 3_000_000_000,
            sent: 2100,
            received: 2080,
            expected: 2100,
            errors: 1,
        };
        let l = progress_line(&prev, &cur, "run", Some(120_400), None);
        assert!(l.contains("3.0s"), "{l}");
        assert!(l.contains("sent/s     1000"), "{l}");
        assert!(l.contains("recv/s      995"), "{l}");
        assert!(l.contains("inflight      20"), "{l}");
        assert!(l.contains("p50    120us"), "{l}");
        assert!(l.contains("p99        -"), "{l}");
        let l = progress_line(&prev, &cur, "run", Some(12_345_678), Some(1_250_000_000));
        assert!(l.contains("p50   12.3ms  p99    1.25s"), "{l}");
        assert!(l.ends_with("errors 1"), "{l}");
    }

    #[test]
    fn table_and_json_carry_the_numbers() {
        let sc = Scenario::resolve(Settings::default()).unwrap();
        let s = summary();
        let outcomes = vec![Outcome {
            requirement: "loss==0".into(),
            ok: true,
            actual: "loss = 0".into(),
        }];
        let t = table(&sc, &s, &outcomes, &["x: oops".into()]);
        assert!(t.contains("expected                10"), "{t}");
        assert!(t.contains("p50 150.0"), "{t}");
        assert!(t.contains("ok    loss==0"), "{t}");
        assert!(t.contains("x: oops"), "{t}");
        let j = json(&sc, &s, &outcomes, &[]);
        assert_eq!(j["summary"]["expected"], 10);
        assert_eq!(j["summary"]["latency_us"]["p50"], 150.0);
        assert_eq!(j["scenario"]["publishers"], 1);
        assert_eq!(j["scenario"]["mqtt_version"], "3.1.1");
        assert_eq!(j["passed"], true);
        assert!(j["scenario"].get("password").is_none());
    }
}
