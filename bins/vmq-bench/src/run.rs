//! A run: connect the subscribers (each one subscribed, SUBACK received) and then the publishers,
//! start the clock, let every publisher publish on its schedule (with at most `inflight`
//! unacknowledged QoS 1/2 publishes) until warm-up + duration, let every subscriber receive and
//! acknowledge until the drain ends, print a progress line every second, and add everything up.
//!
//! The tasks here move bytes and keep time; what a message means is decided by `stats`, when
//! it is due by `topology::Pacer`.

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use tokio::{
    sync::{watch, Semaphore},
    task::JoinSet,
    time::{interval_at, sleep, sleep_until, Instant, Interval, MissedTickBehavior},
};
use vmq_codec::{Packet, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ReasonCode};

use crate::client::{Conn, ConnectOptions};
use crate::config::Scenario;
use crate::error::BenchError;
use crate::payload::{self, Header};
use crate::report::{self, Snapshot};
use crate::stats::{
    self, Delivery, PublisherTally, ReceiveCounts, RunTotals, SubscriberTally, Summary,
};
use crate::topology::Pacer;

/// Connections opened at the same time while connecting.
const CONNECT_CONCURRENCY: usize = 64;
/// Latency histogram shards (subscriber `i` records into shard `i % SHARDS`).
const SHARDS: usize = 16;
/// Publishes encoded before one write.
const MAX_BATCH: usize = 256;
/// Errors kept word for word for the report.
const ERRORS_KEPT: usize = 10;

/// The state all tasks of a run share: the clock, live counters and latency histograms.
struct Live {
    t0: Instant,
    measure_from_ns: u64,
    sent_total: AtomicU64,
    expected_total: AtomicU64,
    received_total: AtomicU64,
    expected_measured: AtomicU64,
    unique_measured: AtomicU64,
    errors: AtomicU64,
    errors_seen: Mutex<Vec<String>>,
    publishers_running: AtomicUsize,
    shards: Vec<Mutex<Histogram<u64>>>,
}

impl Live {
    fn new(measure_from: Duration, publishers: usize) -> Result<Live, BenchError> {
        let shards = (0..SHARDS)
            .map(|_| stats::new_histogram().map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| BenchError::usage(format!("cannot create a latency histogram: {e}")))?;
        Ok(Live {
            t0: Instant::now(),
            measure_from_ns: measure_from.as_nanos() as u64,
            sent_total: AtomicU64::new(0),
            expected_total: AtomicU64::new(0),
            received_total: AtomicU64::new(0),
            expected_measured: AtomicU64::new(0),
            unique_measured: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            errors_seen: Mutex::new(Vec::new()),
            publishers_running: AtomicUsize::new(publishers),
            shards,
        })
    }

    fn now_ns(&self) -> u64 {
        self.t0.elapsed().as_nanos() as u64
    }

    fn at(&self, ns: u64) -> Instant {
        self.t0 + Duration::from_nanos(ns)
    }

    fn error(&self, message: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut seen = self.errors_seen.lock();
        if seen.len() < ERRORS_KEPT {
            seen.push(message);
        }
    }

    fn histogram(&self) -> Histogram<u64> {
        let mut total = self.shards[0].lock().clone();
        for s in &self.shards[1..] {
            // Same bounds everywhere: adding cannot fail.
            total.add(&*s.lock()).ok();
        }
        total
    }

    fn snapshot(&self, at_ns: u64) -> Snapshot {
        Snapshot {
            at_ns,
            sent: self.sent_total.load(Ordering::Relaxed),
            received: self.received_total.load(Ordering::Relaxed),
            expected: self.expected_total.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

fn qos_of(q: u8) -> QoS {
    QoS::from_u8(q).unwrap_or(QoS::AtMostOnce)
}

fn failed(code: ReasonCode) -> bool {
    code as u8 >= 0x80
}

/// A keep-alive timer: ticks every `keep_alive / 2` seconds (hourly, unused, when 0).
fn ping_timer(keep_alive: u16) -> Interval {
    let period = if keep_alive == 0 {
        Duration::from_secs(3600)
    } else {
        Duration::from_millis(u64::from(keep_alive) * 500)
    };
    let mut i = interval_at(Instant::now() + period, period);
    i.set_missed_tick_behavior(MissedTickBehavior::Delay);
    i
}

/// Handles a packet neither a publisher nor a subscriber expects in particular: PINGRESP is
/// fine, DISCONNECT ends the client (an error), anything else is counted as an error.
fn other_packet(conn: &Conn, p: Packet, live: &Live) -> Result<(), BenchError> {
    match p {
        Packet::PingResp => Ok(()),
        Packet::Disconnect(d) => Err(BenchError::Protocol {
            client: conn.id.clone(),
            message: format!("the broker disconnected: {:?}", d.reason_code),
        }),
        other => {
            live.error(format!("{}: unexpected {other:?}", conn.id));
            Ok(())
        }
    }
}

/// Connects `names` (subscribing client `i` to `subscribe[i]` when given), at most
/// [`CONNECT_CONCURRENCY`] at a time; the first failure stops everything.
async fn connect_all(
    names: Vec<String>,
    opts: &Arc<ConnectOptions>,
    subscribe: Option<(&[String], QoS)>,
) -> Result<Vec<Conn>, BenchError> {
    let limit = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut set = JoinSet::new();
    let n = names.len();
    for (i, name) in names.into_iter().enumerate() {
        let opts = Arc::clone(opts);
        let limit = Arc::clone(&limit);
        let filter = subscribe.map(|(f, q)| (f[i].clone(), q));
        set.spawn(async move {
            let _permit = limit.acquire_owned().await.ok();
            let mut conn = Conn::connect(name, &opts).await?;
            if let Some((filter, qos)) = filter {
                conn.subscribe(&filter, qos, opts.timeout).await?;
            }
            Ok::<_, BenchError>((i, conn))
        });
    }
    let mut conns: Vec<Option<Conn>> = (0..n).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        let (i, conn) = joined.map_err(|e| BenchError::Protocol {
            client: "vmq-bench".into(),
            message: format!("a connecting task failed: {e}"),
        })??;
        conns[i] = Some(conn);
    }
    Ok(conns.into_iter().flatten().collect())
}

/// One publishing client.
struct Publisher {
    conn: Conn,
    index: u32,
    fanout: u64,
    pacer: Pacer,
    proto: Publish,
    window: usize,
    inflight: HashSet<u16>,
    next_id: u16,
    seq: u64,
    tally: PublisherTally,
}

impl Publisher {
    fn window_open(&self) -> bool {
        self.proto.qos == QoS::AtMostOnce || self.inflight.len() < self.window
    }

    fn alloc_id(&mut self) -> u16 {
        loop {
            self.next_id = self.next_id.wrapping_add(1);
            if self.next_id != 0 && !self.inflight.contains(&self.next_id) {
                return self.next_id;
            }
        }
    }

    /// Encodes the next message, stamped now.
    fn queue_next(&mut self, live: &Live) -> Result<(), BenchError> {
        if self.proto.qos != QoS::AtMostOnce {
            let id = self.alloc_id();
            self.inflight.insert(id);
            self.proto.packet_id = id;
        }
        let now = live.now_ns();
        let header = Header {
            publisher: self.index,
            seq: self.seq,
            sent_ns: now,
        };
        header.write(self.conn.queue_publish(&self.proto)?);
        self.seq += 1;
        live.sent_total.fetch_add(1, Ordering::Relaxed);
        live.expected_total
            .fetch_add(self.fanout, Ordering::Relaxed);
        if now >= live.measure_from_ns {
            self.tally.sent += 1;
            live.expected_measured
                .fetch_add(self.fanout, Ordering::Relaxed);
        } else {
            self.tally.sent_warmup += 1;
        }
        Ok(())
    }

    fn complete(&mut self, id: u16, code: ReasonCode, what: &str, live: &Live) {
        if !self.inflight.remove(&id) {
            live.error(format!(
                "{}: {what} for unknown packet id {id}",
                self.conn.id
            ));
        } else if failed(code) {
            live.error(format!("{}: publish refused: {code:?}", self.conn.id));
        } else {
            self.tally.acked += 1;
        }
    }

    /// Handles every buffered packet from the broker.
    fn handle_buffered(&mut self, live: &Live) -> Result<(), BenchError> {
        while let Some(p) = self.conn.next_packet()? {
            match p {
                Packet::PubAck(a) => self.complete(a.packet_id, a.reason_code, "PUBACK", live),
                Packet::PubRec(r) if failed(r.reason_code) => {
                    self.complete(r.packet_id, r.reason_code, "PUBREC", live)
                }
                Packet::PubRec(r) => self.conn.queue(&Packet::PubRel(PubRel::new(r.packet_id)))?,
                Packet::PubComp(c) => self.complete(c.packet_id, c.reason_code, "PUBCOMP", live),
                other => other_packet(&self.conn, other, live)?,
            }
        }
        Ok(())
    }

    /// Publishes on schedule until `end_ns`.
    async fn publish_until(
        &mut self,
        live: &Live,
        end_ns: u64,
        keep_alive: u16,
    ) -> Result<(), BenchError> {
        let mut ping = ping_timer(keep_alive);
        loop {
            let now = live.now_ns();
            if now >= end_ns {
                return Ok(());
            }
            let due = self.pacer.due_by(now);
            let mut batch = 0;
            while self.seq < due && self.window_open() && batch < MAX_BATCH {
                self.queue_next(live)?;
                batch += 1;
            }
            self.conn.flush().await?;
            if self.seq < due && self.window_open() {
                // More is due at once (unlimited rate, or catching up): take in what the
                // broker sent without waiting, and let the other tasks run.
                self.conn.try_fill()?;
                self.handle_buffered(live)?;
                self.conn.flush().await?;
                tokio::task::yield_now().await;
                continue;
            }
            let wake_ns = if self.window_open() {
                self.pacer.due_at(self.seq).min(end_ns)
            } else {
                end_ns
            };
            tokio::select! {
                r = self.conn.fill() => {
                    r?;
                    self.handle_buffered(live)?;
                }
                _ = sleep_until(live.at(wake_ns)) => {}
                _ = ping.tick(), if keep_alive > 0 => self.conn.queue(&Packet::PingReq)?,
            }
            self.conn.flush().await?;
        }
    }

    /// Waits until every QoS 1/2 publish is acknowledged, or `deadline_ns`.
    async fn await_acks(&mut self, live: &Live, deadline_ns: u64) -> Result<(), BenchError> {
        while !self.inflight.is_empty() && live.now_ns() < deadline_ns {
            tokio::select! {
                r = self.conn.fill() => {
                    r?;
                    self.handle_buffered(live)?;
                    self.conn.flush().await?;
                }
                _ = sleep_until(live.at(deadline_ns)) => {}
            }
        }
        Ok(())
    }

    async fn run(
        mut self,
        live: Arc<Live>,
        end_ns: u64,
        deadline_ns: u64,
        keep_alive: u16,
    ) -> PublisherTally {
        let mut r = self.publish_until(&live, end_ns, keep_alive).await;
        if r.is_ok() {
            r = self.await_acks(&live, deadline_ns).await;
        }
        if let Err(e) = r {
            live.error(e.to_string());
        }
        if !self.inflight.is_empty() {
            live.error(format!(
                "{}: {} publishes still unacknowledged at the end",
                self.conn.id,
                self.inflight.len()
            ));
        }
        live.publishers_running.fetch_sub(1, Ordering::Relaxed);
        let tally = self.tally;
        self.conn.disconnect().await;
        tally
    }
}

/// One subscribing client.
struct Subscriber {
    conn: Conn,
    shard: usize,
    tally: SubscriberTally,
    latencies: Vec<u64>,
}

impl Subscriber {
    fn handle_buffered(&mut self, live: &Live) -> Result<(), BenchError> {
        while let Some(p) = self.conn.next_packet()? {
            match p {
                Packet::Publish(p) => {
                    let now = live.now_ns();
                    live.received_total.fetch_add(1, Ordering::Relaxed);
                    match self.tally.on_message(&p.payload, now, live.measure_from_ns) {
                        Delivery::New { latency_ns } => {
                            self.latencies.push(latency_ns);
                            live.unique_measured.fetch_add(1, Ordering::Relaxed);
                        }
                        Delivery::Foreign => live.error(format!(
                            "{}: a message on `{}` that vmq-bench did not send",
                            self.conn.id,
                            p.topic.as_str()
                        )),
                        Delivery::Warmup | Delivery::Duplicate => {}
                    }
                    match p.qos {
                        QoS::AtMostOnce => {}
                        QoS::AtLeastOnce => {
                            self.conn.queue(&Packet::PubAck(PubAck::new(p.packet_id)))?
                        }
                        QoS::ExactlyOnce => {
                            self.conn.queue(&Packet::PubRec(PubRec::new(p.packet_id)))?
                        }
                    }
                }
                Packet::PubRel(r) => self
                    .conn
                    .queue(&Packet::PubComp(PubComp::new(r.packet_id)))?,
                other => other_packet(&self.conn, other, live)?,
            }
        }
        if !self.latencies.is_empty() {
            let mut h = live.shards[self.shard].lock();
            for &ns in &self.latencies {
                stats::record_latency(&mut h, ns);
            }
            self.latencies.clear();
        }
        Ok(())
    }

    async fn receive(
        &mut self,
        live: &Live,
        stop: &mut watch::Receiver<bool>,
        keep_alive: u16,
    ) -> Result<(), BenchError> {
        let mut ping = ping_timer(keep_alive);
        loop {
            tokio::select! {
                r = self.conn.fill() => {
                    r?;
                    self.handle_buffered(live)?;
                }
                _ = stop.changed() => return Ok(()),
                _ = ping.tick(), if keep_alive > 0 => self.conn.queue(&Packet::PingReq)?,
            }
            self.conn.flush().await?;
        }
    }

    async fn run(
        mut self,
        live: Arc<Live>,
        mut stop: watch::Receiver<bool>,
        keep_alive: u16,
    ) -> ReceiveCounts {
        if let Err(e) = self.receive(&live, &mut stop, keep_alive).await {
            live.error(e.to_string());
        }
        let counts = self.tally.counts;
        self.conn.disconnect().await;
        counts
    }
}

/// What a run produced.
pub struct RunResult {
    /// The numbers.
    pub summary: Summary,
    /// The first errors, word for word.
    pub errors_seen: Vec<String>,
}

fn say(progress: bool, line: String) {
    if progress {
        eprintln!("{line}");
    }
}

/// Runs `sc` against its broker; with `progress`, prints what happens on stderr.
pub async fn run(sc: &Scenario, progress: bool) -> Result<RunResult, BenchError> {
    let opts = Arc::new(ConnectOptions {
        addr: sc.addr(),
        version: sc.mqtt_version.protocol(),
        clean_start: sc.clean_session,
        keep_alive: sc.keep_alive,
        username: sc.username.clone(),
        password: sc.password.clone(),
        timeout: sc.connect_timeout.0,
    });
    let prefix = &sc.client_id_prefix;
    let sub_names = (0..sc.subscribers)
        .map(|i| format!("{prefix}-sub-{i}"))
        .collect();
    let subs = connect_all(sub_names, &opts, Some((&sc.filters, qos_of(sc.sub_qos)))).await?;
    let pub_names = (0..sc.publishers)
        .map(|i| format!("{prefix}-pub-{i}"))
        .collect();
    let pubs = connect_all(pub_names, &opts, None).await?;
    say(
        progress,
        format!(
            "vmq-bench: {} subscribers subscribed and {} publishers connected to {}; \
             publishing for {} (+{} warm-up, up to {} drain)",
            subs.len(),
            pubs.len(),
            sc.addr(),
            sc.duration,
            sc.warmup,
            sc.drain
        ),
    );

    let live = Arc::new(Live::new(sc.warmup.0, pubs.len())?);
    let end_ns = (sc.warmup.0 + sc.duration.0).as_nanos() as u64;
    let deadline_ns = end_ns + sc.drain.0.as_nanos() as u64;
    let (stop_tx, stop_rx) = watch::channel(false);
    let template = Bytes::from(payload::template(sc.payload_size));

    let sub_tasks: Vec<_> = subs
        .into_iter()
        .enumerate()
        .map(|(i, conn)| {
            let s = Subscriber {
                conn,
                shard: i % SHARDS,
                tally: SubscriberTally::default(),
                latencies: Vec::new(),
            };
            tokio::spawn(s.run(Arc::clone(&live), stop_rx.clone(), sc.keep_alive))
        })
        .collect();
    let pub_tasks: Vec<_> = pubs
        .into_iter()
        .enumerate()
        .map(|(i, conn)| {
            let index = i as u32;
            let window = usize::from(match conn.receive_maximum {
                Some(m) if m > 0 => sc.inflight.min(m),
                _ => sc.inflight,
            });
            let proto = Publish {
                qos: qos_of(sc.qos),
                ..Publish::new(sc.topics[i].clone(), template.clone())
            };
            let p = Publisher {
                conn,
                index,
                fanout: u64::from(sc.fanout[i]),
                pacer: Pacer::new(sc.pub_rate, index, sc.publishers),
                proto,
                window,
                inflight: HashSet::with_capacity(window),
                next_id: 0,
                seq: 0,
                tally: PublisherTally::default(),
            };
            tokio::spawn(p.run(Arc::clone(&live), end_ns, deadline_ns, sc.keep_alive))
        })
        .collect();

    // Watch: a progress line a second; stop at the drain deadline, or as soon as publishing is
    // over and everything expected has arrived.
    let mut prev = Snapshot::default();
    let mut next_line_ns = 1_000_000_000u64;
    loop {
        sleep(Duration::from_millis(50)).await;
        let now = live.now_ns();
        if progress && now >= next_line_ns {
            let cur = live.snapshot(now);
            let phase = if now < live.measure_from_ns {
                "warm-up"
            } else if now < end_ns {
                "run"
            } else {
                "drain"
            };
            let h = live.histogram();
            eprintln!(
                "{}",
                report::progress_line(
                    &prev,
                    &cur,
                    phase,
                    stats::percentile_ns(&h, 50.0),
                    stats::percentile_ns(&h, 99.0)
                )
            );
            prev = cur;
            next_line_ns += 1_000_000_000;
        }
        let done = now >= end_ns
            && live.publishers_running.load(Ordering::Relaxed) == 0
            && live.unique_measured.load(Ordering::Relaxed)
                >= live.expected_measured.load(Ordering::Relaxed);
        if done || now >= deadline_ns {
            break;
        }
    }
    stop_tx.send(true).ok();

    let mut publishers = Vec::with_capacity(pub_tasks.len());
    for t in pub_tasks {
        publishers.push(t.await.unwrap_or_else(|e| {
            live.error(format!("a publisher task failed: {e}"));
            PublisherTally::default()
        }));
    }
    let mut received = ReceiveCounts::default();
    for t in sub_tasks {
        match t.await {
            Ok(c) => received.add(&c),
            Err(e) => live.error(format!("a subscriber task failed: {e}")),
        }
    }
    let summary = Summary::build(
        RunTotals {
            connected: u64::from(sc.publishers) + u64::from(sc.subscribers),
            measured_s: sc.duration.0.as_secs_f64(),
            publishers: &publishers,
            fanout: &sc.fanout,
            received,
            errors: live.errors.load(Ordering::Relaxed),
        },
        live.histogram(),
    );
    let errors_seen = live.errors_seen.lock().clone();
    Ok(RunResult {
        summary,
        errors_seen,
    })
}
