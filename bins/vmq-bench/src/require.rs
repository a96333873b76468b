//! Requirements a run must meet (`--require 'p99<=5ms'`, `require = ["loss==0"]` or
//! `[[require]] metric = "p99" op = "<=" value = "5ms"` in a scenario file): parsing, and
//! evaluation against a [`Summary`]. A run that misses one exits with code 1.
//!
//! Metrics: latency `p<N>` (`p50`, `p99`, `p99.9`, `p999`), `max`, `mean` compared with a
//! duration (`5ms`, `250us`; a bare number is µs); counts `loss`, `duplicates`, `out_of_order`,
//! `errors`, `sent`, `received`, `unique`, `expected`, `acked`, `connected` compared with a number
//! (`0`, `10k`) or a percentage of `expected` (`loss<=0.1%`); `loss_pct`; rates `sent_rate` and
//! `recv_rate` in msg/s (`10k`).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::stats::{self, Summary};
use crate::units::{self, format_duration, BareUnit};

/// A latency statistic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Latency {
    /// The value at this percentile (0..=100).
    Percentile(f64),
    /// The highest.
    Max,
    /// The mean.
    Mean,
}

/// A count of the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// `lost`.
    Lost,
    /// `duplicates`.
    Duplicates,
    /// `out_of_order`.
    OutOfOrder,
    /// `errors`.
    Errors,
    /// `sent`.
    Sent,
    /// `received` (duplicates included).
    Received,
    /// `unique`.
    Unique,
    /// `expected`.
    Expected,
    /// `acked`.
    Acked,
    /// `connected`.
    Connected,
}

/// What a requirement looks at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// A latency, compared with a duration.
    Latency(Latency),
    /// A count, compared with a number or a percentage of `expected`.
    Count(Count),
    /// `loss_pct`: lost as a percentage of expected.
    LossPct,
    /// `sent_rate`, msg/s.
    SentRate,
    /// `recv_rate`, msg/s.
    RecvRate,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==` (or `=`)
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    /// Operators by their spelling, longest first so that `<=` is not read as `<`.
    const SPELLINGS: [(&'static str, Op); 7] = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
        ("=", Op::Eq),
    ];

    /// `actual <op> limit`.
    pub fn holds(self, actual: f64, limit: f64) -> bool {
        match self {
            Op::Lt => actual < limit,
            Op::Le => actual <= limit,
            Op::Gt => actual > limit,
            Op::Ge => actual >= limit,
            Op::Eq => actual == limit,
            Op::Ne => actual != limit,
        }
    }
}

/// The right-hand side of a requirement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// Nanoseconds (latency metrics).
    Nanos(u64),
    /// A plain number (counts, rates, `loss_pct`).
    Number(f64),
    /// A percentage of `expected` (counts).
    PercentOfExpected(f64),
}

/// One parsed requirement.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    text: String,
    metric: Metric,
    op: Op,
    limit: Limit,
}

/// A requirement checked against a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The requirement as written.
    pub requirement: String,
    /// Whether the run met it.
    pub ok: bool,
    /// The measured value, formatted in the requirement's unit.
    pub actual: String,
}

fn parse_metric(name: &str) -> Result<Metric, String> {
    let count = |c| Ok(Metric::Count(c));
    match name {
        "max" => Ok(Metric::Latency(Latency::Max)),
        "mean" | "avg" => Ok(Metric::Latency(Latency::Mean)),
        "loss" | "lost" => count(Count::Lost),
        "duplicates" | "dups" => count(Count::Duplicates),
        "out_of_order" | "ooo" => count(Count::OutOfOrder),
        "errors" => count(Count::Errors),
        "sent" => count(Count::Sent),
        "received" => count(Count::Received),
        "unique" => count(Count::Unique),
        "expected" => count(Count::Expected),
        "acked" => count(Count::Acked),
        "connected" => count(Count::Connected),
        "loss_pct" => Ok(Metric::LossPct),
        "sent_rate" => Ok(Metric::SentRate),
        "recv_rate" | "received_rate" => Ok(Metric::RecvRate),
        p if p.starts_with('p') => {
            parse_percentile(&p[1..]).map(|q| Metric::Latency(Latency::Percentile(q)))
        }
        other => Err(format!(
            "unknown metric `{other}` (latency: p50, p99, p99.9, max, mean; counts: loss, \
             duplicates, out_of_order, errors, sent, received, unique, expected, acked, \
             connected; loss_pct; rates: sent_rate, recv_rate)"
        )),
    }
}

/// `99`, `99.9`, `99_9` or `999` (read as 99.9; `9999` as 99.99).
fn parse_percentile(s: &str) -> Result<f64, String> {
    let bad = || format!("`p{s}` is not a percentile (examples: p50, p99, p99.9)");
    let s2 = s.replace('_', ".");
    let mut q: f64 = s2.parse().map_err(|_| bad())?;
    if q > 100.0 && s.starts_with("99") && s.bytes().all(|b| b.is_ascii_digit()) {
        q = format!("99.{}", &s[2..]).parse().map_err(|_| bad())?;
    }
    if !(0.0..=100.0).contains(&q) {
        return Err(bad());
    }
    Ok(q)
}

fn parse_limit(metric: Metric, value: &str) -> Result<Limit, String> {
    match metric {
        Metric::Latency(_) => units::parse_duration(value, BareUnit::Micros)
            .map(|d| Limit::Nanos(d.as_nanos().min(u128::from(u64::MAX)) as u64)),
        Metric::Count(_) => match value.trim().strip_suffix('%') {
            Some(p) => units::parse_count(p).map(Limit::PercentOfExpected),
            None => units::parse_count(value).map(Limit::Number),
        },
        Metric::LossPct => {
            units::parse_count(value.trim().trim_end_matches('%')).map(Limit::Number)
        }
        Metric::SentRate | Metric::RecvRate => units::parse_count(value).map(Limit::Number),
    }
}

impl FromStr for Requirement {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (at, spelling, op) = Op::SPELLINGS
            .iter()
            .filter_map(|&(sp, op)| text.find(sp).map(|i| (i, sp, op)))
            // The first operator in the text; at one position the longest spelling wins
            // (`SPELLINGS` lists two-character ones first).
            .min_by_key(|&(i, _, _)| i)
            .ok_or_else(|| {
                format!("`{text}`: no comparison (write metric, operator, value: `p99<=5ms`)")
            })?;
        let metric_name = text[..at].trim();
        let value = text[at + spelling.len()..].trim();
        let metric = parse_metric(metric_name).map_err(|e| format!("`{text}`: {e}"))?;
        if value.is_empty() {
            return Err(format!("`{text}`: no value after the comparison"));
        }
        let limit = parse_limit(metric, value).map_err(|e| format!("`{text}`: {e}"))?;
        Ok(Requirement {
            text: text.to_string(),
            metric,
            op,
            limit,
        })
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Requirement {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The scenario-file forms of a requirement.
#[derive(Deserialize)]
#[serde(untagged)]
enum RequirementRepr {
    Text(String),
    Table {
        metric: String,
        op: String,
        #[serde(deserialize_with = "units::from_scalar")]
        value: String,
    },
}

impl<'de> Deserialize<'de> for Requirement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = match RequirementRepr::deserialize(d)? {
            RequirementRepr::Text(t) => t,
            RequirementRepr::Table { metric, op, value } => format!("{metric}{op}{value}"),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

fn count_of(s: &Summary, c: Count) -> u64 {
    match c {
        Count::Lost => s.lost,
        Count::Duplicates => s.duplicates,
        Count::OutOfOrder => s.out_of_order,
        Count::Errors => s.errors,
        Count::Sent => s.sent,
        Count::Received => s.received,
        Count::Unique => s.unique,
        Count::Expected => s.expected,
        Count::Acked => s.acked,
        Count::Connected => s.connected,
    }
}

impl Requirement {
    /// The metric's name as written.
    fn name(&self) -> &str {
        self.text
            .split(['<', '>', '=', '!'])
            .next()
            .unwrap_or(&self.text)
            .trim()
    }

    /// Checks the requirement against `s`.
    pub fn evaluate(&self, s: &Summary) -> Outcome {
        let outcome = |ok: bool, actual: String| Outcome {
            requirement: self.text.clone(),
            ok,
            actual: format!("{} = {actual}", self.name()),
        };
        let (actual, limit, shown) = match (self.metric, self.limit) {
            (Metric::Latency(l), Limit::Nanos(limit)) => {
                let h = &s.histogram;
                let v = match l {
                    Latency::Percentile(q) => stats::percentile_ns(h, q),
                    Latency::Max => (!h.is_empty()).then(|| h.max()),
                    Latency::Mean => (!h.is_empty()).then(|| h.mean() as u64),
                };
                let Some(v) = v else {
                    return outcome(false, "no latency samples".into());
                };
                let shown = format_duration(std::time::Duration::from_nanos(v));
                (v as f64, limit as f64, shown)
            }
            (Metric::Count(c), Limit::Number(limit)) => {
                let v = count_of(s, c);
                (v as f64, limit, v.to_string())
            }
            (Metric::Count(c), Limit::PercentOfExpected(limit)) => {
                let v = count_of(s, c);
                let pct = if s.expected > 0 {
                    v as f64 * 100.0 / s.expected as f64
                } else {
                    0.0
                };
                (pct, limit, format!("{v} ({pct:.3}% of expected)"))
            }
            (Metric::LossPct, Limit::Number(limit)) => {
                (s.loss_pct, limit, format!("{:.3}%", s.loss_pct))
            }
            (Metric::SentRate, Limit::Number(limit)) => {
                (s.sent_rate, limit, format!("{:.1} msg/s", s.sent_rate))
            }
            (Metric::RecvRate, Limit::Number(limit)) => {
                (s.recv_rate, limit, format!("{:.1} msg/s", s.recv_rate))
            }
            // parse_limit pairs every metric with its own kind of limit.
            _ => return outcome(false, "not comparable".into()),
        };
        outcome(self.op.holds(actual, limit), shown)
    }
}

/// Checks every requirement against `s`.
pub fn evaluate_all(reqs: &[Requirement], s: &Summary) -> Vec<Outcome> {
    reqs.iter().map(|r| r.evaluate(s)).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use crate::stats::{new_histogram, record_latency, PublisherTally, ReceiveCounts, RunTotals};

    fn req(s: &str) -> Requirement {
        s.parse().unwrap()
    }

    fn summary(latencies_us: &[u64], sent: u64, unique: u64, errors: u64) -> Summary {
        let mut h = new_histogram().unwrap();
        for &us in latencies_us {
            record_latency(&mut h, us * 1000);
        }
        Summary::build(
            RunTotals {
                connected: 2,
                measured_s: 1.0,
                publishers: &[PublisherTally {
                    sent,
                    ..Default::default()
                }],
                fanout: &[1],
                received: ReceiveCounts {
                    received: unique,
                    unique,
                    ..Default::default()
                },
                errors,
            },
            h,
        )
    }

    #[test]
    fn parses_metric_operator_and_value() {
        let r = req(" p99 <= 5ms ");
        assert_eq!(r.metric, Metric::Latency(Latency::Percentile(99.0)));
        assert_eq!(r.op, Op::Le);
        assert_eq!(r.limit, Limit::Nanos(5_000_000));
        assert_eq!(r.to_string(), "p99 <= 5ms");
        assert_eq!(req("loss==0").limit, Limit::Number(0.0));
        assert_eq!(req("loss=0").op, Op::Eq);
        assert_eq!(req("recv_rate>=10k").limit, Limit::Number(10_000.0));
        assert_eq!(req("recv_rate>10k").op, Op::Gt);
        assert_eq!(req("loss<=0.1%").limit, Limit::PercentOfExpected(0.1));
        assert_eq!(req("errors!=1").op, Op::Ne);
        assert_eq!(req("max<250").limit, Limit::Nanos(250_000)); // bare = µs
        assert_eq!(
            req("p99.9<1s").metric,
            Metric::Latency(Latency::Percentile(99.9))
        );
        assert_eq!(
            req("p999<1s").metric,
            Metric::Latency(Latency::Percentile(99.9))
        );
        assert_eq!(
            req("p99_99<1s").metric,
            Metric::Latency(Latency::Percentile(99.99))
        );
    }

    #[test]
    fn bad_requirements_say_why() {
        for (text, why) in [
            ("p99", "no comparison"),
            ("p99<=", "no value"),
            ("speed>=1", "unknown metric `speed`"),
            ("p101<=1ms", "not a percentile"),
            ("p99<=fast", "not a duration"),
            ("loss==none", "not a number"),
            ("<=5", "unknown metric ``"),
        ] {
            let e = text.parse::<Requirement>().unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
            assert!(e.contains(&format!("`{text}`")), "{text}: {e}");
        }
    }

    #[test]
    fn evaluates_latency_counts_and_rates() {
        let s = summary(&[100, 200, 300, 400, 5000], 10, 9, 0);
        let check = |t: &str| req(t).evaluate(&s);
        assert!(check("p50<=301us").ok); // 300us, within the histogram's precision
        assert!(!check("p50<=299us").ok);
        assert!(!check("p99<=1ms").ok);
        let o = check("p99<=1ms");
        assert!(o.actual.starts_with("p99 = 5"), "{}", o.actual);
        assert!(check("max>=5ms").ok);
        assert!(!check("loss==0").ok);
        assert_eq!(check("loss==0").actual, "loss = 1");
        assert!(check("loss<=10%").ok);
        assert!(!check("loss<10%").ok);
        assert!(check("loss_pct<=10").ok);
        assert!(check("errors==0").ok);
        assert!(check("recv_rate>=9").ok);
        assert!(!check("sent_rate>10").ok);
        assert!(check("connected==2").ok);
    }

    #[test]
    fn latency_requirements_fail_without_samples() {
        let s = summary(&[], 10, 0, 0);
        let o = req("p99<=1s").evaluate(&s);
        assert!(!o.ok);
        assert!(o.actual.contains("no latency samples"));
        let all = evaluate_all(&[req("p99<=1s"), req("sent==10")], &s);
        assert_eq!(all.iter().filter(|o| o.ok).count(), 1);
    }
}
