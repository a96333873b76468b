//! What to run: the command line ([`Cli`], clap derive), the settings a scenario file and flags
//! share ([`Settings`], every one optional), their merge with figment (file first, flags
//! override it), and the checked, defaulted [`Scenario`] a run is made from.

use std::{fmt, path::PathBuf, str::FromStr};

use clap::{Args, Parser};
use figment::{
    providers::{Format, Serialized, Toml},
    Figment,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use vmq_codec::ProtocolVersion;

use crate::error::BenchError;
use crate::payload::HEADER_LEN;
use crate::require::Requirement;
use crate::topology;
use crate::units::{self, Dur};

const AFTER_HELP: &str = "\
Exit codes: 0 = the run met every requirement; 1 = a requirement was not met (each one is
named on stderr); 2 = usage error, bad scenario file, or a client could not connect/subscribe.

Topics: `%i` in --topic is the publisher's index, in --filter the subscriber's index.
  pairs:  --publishers 10 --subscribers 10 --topic 'bench/%i'            (1:1, each its own topic)
  fanout: --publishers 1 --subscribers 100 --topic bench/all --filter bench/all
  fanin:  --publishers 100 --subscribers 1 --topic 'bench/%i' --filter 'bench/#'
Shared subscriptions (--filter '$share/g/bench/#') count once per group.

Requirements (--require, repeatable): METRIC OP VALUE with OP one of < <= > >= == !=.
  latency: p50 p90 p99 p99.9 max mean, VALUE a duration (250us, 5ms, 1s; bare number = us)
  counts:  loss duplicates out_of_order errors sent received unique expected acked connected,
           VALUE a number (10k) or a percentage of expected (loss<=0.1%)
  loss_pct; rates: sent_rate recv_rate (msg/s)
  e.g. --require 'p99<=5ms' --require 'loss==0' --require 'recv_rate>=10k'

Progress (stderr, once a second): elapsed, sent/s, received/s, inflight (published but not yet
received by every subscriber), p50/p99 latency so far, errors.

Examples:
  vmq-bench --port 1883 --publishers 10 --subscribers 10 --qos 1 --rate 5000 --duration 30s
  vmq-bench --scenario bins/vmq-bench/scenarios/fanout.toml --duration 5s --json";

/// vmq-bench: an MQTT load tester for any MQTT 3.1.1 / 5.0 broker.
///
/// Connects subscribers (and waits for every SUBACK), then publishers, publishes at the given
/// rate for the warm-up and the duration, waits for late messages (drain), and reports sent,
/// received, expected, lost, duplicated and out-of-order messages, latency percentiles and
/// throughput. Latency is measured from a timestamp in each payload. Loss counts every
/// expected delivery that never arrived, including those a broker drops by design (e.g. VerneMQ's
/// `max_online_messages` queue limit when subscribers fall behind).
#[derive(Debug, Parser)]
#[command(name = "vmq-bench", version, about, long_about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Scenario file (TOML, keys as the long flags with `_`: `publishers = 10`,
    /// `duration = "30s"`, `require = ["p99<=5ms"]`). Flags given too override its values.
    #[arg(short = 'f', long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Print the summary as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Print the resolved scenario as JSON and exit without connecting.
    #[arg(long)]
    pub dry_run: bool,
    /// The scenario settings.
    #[command(flatten)]
    pub settings: Settings,
}

/// The MQTT protocol version clients speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MqttVersion {
    /// 3.1 (`MQIsdp`).
    V3_1,
    /// 3.1.1.
    V3_1_1,
    /// 5.0.
    V5,
}

impl MqttVersion {
    /// The codec's protocol version.
    pub fn protocol(self) -> ProtocolVersion {
        match self {
            MqttVersion::V3_1 => ProtocolVersion::V3_1,
            MqttVersion::V3_1_1 => ProtocolVersion::V3_1_1,
            MqttVersion::V5 => ProtocolVersion::V5,
        }
    }
}

impl FromStr for MqttVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "3.1" | "3" => Ok(MqttVersion::V3_1),
            "3.1.1" | "4" => Ok(MqttVersion::V3_1_1),
            "5" | "5.0" => Ok(MqttVersion::V5),
            other => Err(format!(
                "`{other}` is not an MQTT version (use 3.1.1 or 5; 3.1 also works)"
            )),
        }
    }
}

impl fmt::Display for MqttVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MqttVersion::V3_1 => "3.1",
            MqttVersion::V3_1_1 => "3.1.1",
            MqttVersion::V5 => "5",
        })
    }
}

impl Serialize for MqttVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MqttVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        units::from_scalar(d)
    }
}

/// A message rate in msg/s: a number with an optional `k`/`M` suffix (`0` = unlimited).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rate(pub f64);

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let r = units::parse_count(s)?;
        if r < 0.0 {
            return Err(format!("`{s}`: a rate cannot be negative"));
        }
        Ok(Rate(r))
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        units::from_scalar(d)
    }
}

/// The settings of a run, as flags and as scenario-file keys. Unset ones take their default in
/// [`Scenario::resolve`] (shown in brackets).
#[derive(Debug, Clone, Default, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Broker host name or address [default: 127.0.0.1].
    #[arg(long, value_name = "HOST")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Broker port [default: 1883].
    #[arg(short, long, value_name = "PORT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// MQTT version: 3.1.1 or 5 [default: 3.1.1].
    #[arg(long, value_name = "VERSION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mqtt_version: Option<MqttVersion>,
    /// Number of publishing clients [default: 1].
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publishers: Option<u32>,
    /// Number of subscribing clients [default: 1].
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscribers: Option<u32>,
    /// QoS of the publishes (0, 1 or 2) [default: 0].
    #[arg(long, value_name = "QOS", value_parser = clap::value_parser!(u8).range(0..=2))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<u8>,
    /// QoS of the subscriptions [default: --qos].
    #[arg(long, value_name = "QOS", value_parser = clap::value_parser!(u8).range(0..=2))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_qos: Option<u8>,
    /// Total publish rate in msg/s, shared by the publishers (e.g. 10k; 0 = unlimited).
    #[arg(long, value_name = "MSG/S", conflicts_with = "pub_rate")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// Publish rate of each publisher in msg/s (0 = unlimited) [default: 100 unless --rate].
    #[arg(long, value_name = "MSG/S")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pub_rate: Option<Rate>,
    /// Payload size in bytes, at least 24 (the timestamp header) [default: 64].
    #[arg(short = 's', long, value_name = "BYTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_size: Option<usize>,
    /// Topic publisher i publishes to; `%i` = i [default: bench/%i].
    #[arg(short, long, value_name = "PATTERN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Filter subscriber i subscribes to; `%i` = i, wildcards and `$share/<group>/` allowed
    /// [default: the topic pattern].
    #[arg(long, value_name = "PATTERN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Clean session (3.x) / clean start (5.0): true or false [default: true]. With false and
    /// MQTT 3.x the sessions (and subscriptions) stay on the broker after the run.
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clean_session: Option<bool>,
    /// Client ids are PREFIX-pub-<i> and PREFIX-sub-<i> [default: vmq-bench-<pid>].
    #[arg(long, value_name = "PREFIX")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id_prefix: Option<String>,
    /// User name sent in CONNECT.
    #[arg(short, long, value_name = "USER")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password sent in CONNECT.
    #[arg(short = 'P', long, value_name = "PASSWORD")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Keep alive in seconds (0 = off) [default: 60].
    #[arg(long, value_name = "SECONDS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<u16>,
    /// How long to publish and measure, after the warm-up (e.g. 30s, 2m) [default: 10s].
    #[arg(short, long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<Dur>,
    /// How long to publish before measuring; those messages are not counted [default: 0s].
    #[arg(short, long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup: Option<Dur>,
    /// How long to wait for late messages after publishing stops; ends early once everything
    /// expected has arrived [default: 2s].
    #[arg(long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drain: Option<Dur>,
    /// Unacknowledged QoS 1/2 publishes each publisher may have [default: 10].
    #[arg(short, long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inflight: Option<u16>,
    /// How long to wait for CONNACK / SUBACK [default: 10s].
    #[arg(long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Dur>,
    /// A requirement the run must meet, e.g. 'p99<=5ms', 'loss==0', 'recv_rate>=10k'
    /// (repeatable; replaces the scenario file's list).
    #[arg(short, long, value_name = "REQUIREMENT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require: Option<Vec<Requirement>>,
}

/// Merges the scenario file at `file` (if any) with the settings given as flags, flags
/// winning. A rate given as a flag (`--rate` or `--pub-rate`) replaces either rate of the file.
pub fn merge(file: Option<&std::path::Path>, flags: &Settings) -> Result<Settings, BenchError> {
    let mut figment = Figment::new();
    let shown = file.map(|p| p.display().to_string()).unwrap_or_default();
    if let Some(path) = file {
        if !path.is_file() {
            return Err(BenchError::Scenario {
                path: shown,
                message: "no such file".into(),
            });
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment.merge(Serialized::defaults(flags));
    let mut merged: Settings = figment.extract().map_err(|e| BenchError::Scenario {
        path: if file.is_some() {
            shown
        } else {
            "(flags)".into()
        },
        message: e.to_string(),
    })?;
    match (flags.rate.is_some(), flags.pub_rate.is_some()) {
        (true, false) => merged.pub_rate = None,
        (false, true) => merged.rate = None,
        _ => {}
    }
    Ok(merged)
}

/// A checked scenario with every default applied.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// Protocol version.
    pub mqtt_version: MqttVersion,
    /// Publishing clients.
    pub publishers: u32,
    /// Subscribing clients.
    pub subscribers: u32,
    /// Publish QoS.
    pub qos: u8,
    /// Subscription QoS.
    pub sub_qos: u8,
    /// Rate of each publisher in msg/s (0 = unlimited).
    pub pub_rate: f64,
    /// Payload size in bytes.
    pub payload_size: usize,
    /// Publisher topic pattern.
    pub topic: String,
    /// Subscriber filter pattern.
    pub filter: String,
    /// Clean session / clean start.
    pub clean_session: bool,
    /// Client id prefix.
    pub client_id_prefix: String,
    /// User name.
    pub username: Option<String>,
    /// Password (never printed).
    #[serde(skip)]
    pub password: Option<String>,
    /// Keep alive in seconds.
    pub keep_alive: u16,
    /// Measured publishing time.
    pub duration: Dur,
    /// Unmeasured publishing time before it.
    pub warmup: Dur,
    /// Wait for late messages.
    pub drain: Dur,
    /// QoS 1/2 window per publisher.
    pub inflight: u16,
    /// CONNACK / SUBACK timeout.
    pub connect_timeout: Dur,
    /// Requirements.
    pub require: Vec<Requirement>,
    /// Per publisher: its topic.
    #[serde(skip)]
    pub topics: Vec<String>,
    /// Per subscriber: its filter.
    #[serde(skip)]
    pub filters: Vec<String>,
    /// Per publisher: the subscribers one of its publishes reaches.
    pub fanout: Vec<u32>,
}

fn check(ok: bool, message: &str) -> Result<(), BenchError> {
    if ok {
        Ok(())
    } else {
        Err(BenchError::usage(message))
    }
}

impl Scenario {
    /// Applies the defaults to `s` and checks the result.
    pub fn resolve(s: Settings) -> Result<Scenario, BenchError> {
        let publishers = s.publishers.unwrap_or(1);
        let subscribers = s.subscribers.unwrap_or(1);
        check(publishers >= 1, "publishers must be at least 1")?;
        let qos = s.qos.unwrap_or(0);
        let sub_qos = s.sub_qos.unwrap_or(qos);
        check(
            qos <= 2 && sub_qos <= 2,
            "qos and sub_qos must be 0, 1 or 2",
        )?;
        check(
            !(s.rate.is_some() && s.pub_rate.is_some()),
            "set either rate (total) or pub_rate (per publisher), not both",
        )?;
        let pub_rate = match (s.rate, s.pub_rate) {
            (None, None) => 100.0,
            (r, p) => topology::publisher_rate(r.map(|r| r.0), p.map(|p| p.0), publishers),
        };
        check(
            pub_rate.is_finite() && pub_rate >= 0.0,
            "rates must be non-negative numbers",
        )?;
        let payload_size = s.payload_size.unwrap_or(64);
        check(
            payload_size >= HEADER_LEN,
            &format!("payload_size must be at least {HEADER_LEN} bytes (the timestamp header)"),
        )?;
        check(
            payload_size <= 256 * 1024 * 1024,
            "payload_size must be at most 256 MiB",
        )?;
        let inflight = s.inflight.unwrap_or(10);
        check(inflight >= 1, "inflight must be at least 1")?;
        let duration = s
            .duration
            .unwrap_or(Dur(std::time::Duration::from_secs(10)));
        check(!duration.0.is_zero(), "duration must be longer than 0")?;
        let topic = s.topic.unwrap_or_else(|| "bench/%i".into());
        let filter = s.filter.unwrap_or_else(|| topic.clone());
        let topics: Vec<String> = (0..publishers)
            .map(|i| topology::expand(&topic, i))
            .collect();
        let filters: Vec<String> = (0..subscribers)
            .map(|i| topology::expand(&filter, i))
            .collect();
        let fanout = topology::fanout(&topics, &filters).map_err(BenchError::Usage)?;
        Ok(Scenario {
            host: s.host.unwrap_or_else(|| "127.0.0.1".into()),
            port: s.port.unwrap_or(1883),
            mqtt_version: s.mqtt_version.unwrap_or(MqttVersion::V3_1_1),
            publishers,
            subscribers,
            qos,
            sub_qos,
            pub_rate,
            payload_size,
            topic,
            filter,
            clean_session: s.clean_session.unwrap_or(true),
            client_id_prefix: s
                .client_id_prefix
                .unwrap_or_else(|| format!("vmq-bench-{}", std::process::id())),
            username: s.username,
            password: s.password,
            keep_alive: s.keep_alive.unwrap_or(60),
            duration,
            warmup: s.warmup.unwrap_or_default(),
            drain: s.drain.unwrap_or(Dur(std::time::Duration::from_secs(2))),
            inflight,
            connect_timeout: s
                .connect_timeout
                .unwrap_or(Dur(std::time::Duration::from_secs(10))),
            require: s.require.unwrap_or_default(),
            topics,
            filters,
            fanout,
        })
    }

    /// The broker address as `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use std::time::Duration;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("vmq-bench").chain(args.iter().copied())).unwrap()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        use std::io::Write;
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn defaults_make_a_pairs_run() {
        let s = Scenario::resolve(Settings::default()).unwrap();
        assert_eq!(s.addr(), "127.0.0.1:1883");
        assert_eq!(
            (s.publishers, s.subscribers, s.qos, s.sub_qos),
            (1, 1, 0, 0)
        );
        assert_eq!(s.pub_rate, 100.0);
        assert_eq!(s.topics, vec!["bench/0"]);
        assert_eq!(s.fanout, vec![1]);
        assert_eq!(s.mqtt_version, MqttVersion::V3_1_1);
        assert_eq!(s.duration, Dur(Duration::from_secs(10)));
        assert_eq!(s.drain, Dur(Duration::from_secs(2)));
        assert!(s.client_id_prefix.starts_with("vmq-bench-"));
    }

    #[test]
    fn flags_parse_into_settings() {
        let c = cli(&[
            "--publishers",
            "3",
            "--subscribers",
            "2",
            "--qos",
            "2",
            "--rate",
            "1.5k",
            "--mqtt-version",
            "5",
            "--duration",
            "1.5s",
            "--require",
            "p99<=5ms",
            "--require",
            "loss==0",
            "--clean-session",
            "false",
            "--json",
        ]);
        assert!(c.json);
        let s = Scenario::resolve(merge(None, &c.settings).unwrap()).unwrap();
        assert_eq!(s.publishers, 3);
        assert_eq!(s.qos, 2);
        assert_eq!(s.pub_rate, 500.0);
        assert_eq!(s.mqtt_version, MqttVersion::V5);
        assert_eq!(s.duration, Dur(Duration::from_millis(1500)));
        assert_eq!(s.require.len(), 2);
        assert!(!s.clean_session);
        // bench/2 has no subscriber.
        assert_eq!(s.fanout, vec![1, 1, 0]);
    }

    #[test]
    fn bad_flags_are_refused_by_clap() {
        for args in [
            &["--qos", "3"][..],
            &["--require", "p99"],
            &["--duration", "soon"],
            &["--rate", "1", "--pub-rate", "2"],
            &["--mqtt-version", "4.5"],
        ] {
            let all = std::iter::once("vmq-bench").chain(args.iter().copied());
            assert!(Cli::try_parse_from(all).is_err(), "{args:?}");
        }
    }

    #[test]
    fn file_then_flags() {
        let f = file(
            r#"
            publishers = 4
            subscribers = 4
            qos = 1
            mqtt_version = 5
            duration = "3s"
            warmup = 1
            rate = "2k"
            topic = "t/%i"
            require = ["loss==0", { metric = "p99", op = "<=", value = "5ms" }]
            "#,
        );
        let flags = cli(&["--publishers", "2", "--pub-rate", "7"]).settings;
        let s = Scenario::resolve(merge(Some(f.path()), &flags).unwrap()).unwrap();
        assert_eq!(s.publishers, 2); // the flag wins
        assert_eq!(s.subscribers, 4); // from the file
        assert_eq!(s.qos, 1);
        assert_eq!(s.mqtt_version, MqttVersion::V5);
        assert_eq!(s.warmup, Dur(Duration::from_secs(1)));
        assert_eq!(s.pub_rate, 7.0); // --pub-rate replaces the file's total rate
        assert_eq!(s.topics, vec!["t/0", "t/1"]);
        assert_eq!(
            s.require.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            vec!["loss==0", "p99<=5ms"]
        );
        let flags = cli(&["--require", "errors==0"]).settings;
        let s = Scenario::resolve(merge(Some(f.path()), &flags).unwrap()).unwrap();
        assert_eq!(s.pub_rate, 500.0); // 2k shared by 4
        assert_eq!(s.require.len(), 1); // the flags' list replaces the file's
    }

    #[test]
    fn file_errors_name_the_file_and_key() {
        let f = file("publishers = 2\npublisher = 3\n");
        let e = merge(Some(f.path()), &Settings::default()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("publisher"), "{msg}");
        assert!(msg.contains(&f.path().display().to_string()), "{msg}");
        let f = file("duration = \"forever\"\n");
        let e = merge(Some(f.path()), &Settings::default()).unwrap_err();
        assert!(e.to_string().contains("forever"), "{e}");
        let e = merge(
            Some(std::path::Path::new("/nonexistent.toml")),
            &Settings::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("no such file"), "{e}");
    }

    #[test]
    fn resolve_refuses_bad_values() {
        for (settings, why) in [
            (
                Settings {
                    publishers: Some(0),
                    ..Default::default()
                },
                "publishers",
            ),
            (
                Settings {
                    payload_size: Some(10),
                    ..Default::default()
                },
                "at least 24",
            ),
            (
                Settings {
                    filter: Some("a/#/b".into()),
                    ..Default::default()
                },
                "a/#/b",
            ),
            (
                Settings {
                    rate: Some(Rate(1.0)),
                    pub_rate: Some(Rate(1.0)),
                    ..Default::default()
                },
                "not both",
            ),
            (
                Settings {
                    duration: Some(Dur(Duration::ZERO)),
                    ..Default::default()
                },
                "duration",
            ),
        ] {
            let e = Scenario::resolve(settings).unwrap_err();
            assert!(e.to_string().contains(why), "{e}");
            assert_eq!(e.exit_code(), 2);
        }
    }

    #[test]
    fn example_scenarios_load() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let s = merge(Some(&path), &Settings::default())
                .and_then(Scenario::resolve)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(s.fanout.iter().any(|&f| f > 0), "{}", path.display());
            n += 1;
        }
        assert!(n >= 3, "the example scenarios are in {}", dir.display());
    }
}
