//! Instruction-count benchmark of the publish-to-deliver path, counted with valgrind's
//! callgrind so a regression shows on a noisy machine (as rustls' ci-bench does): one message
//! routed through the subscription trie into the queues of S subscribers, taken by each
//! subscriber's session, encoded as PUBLISH into its write buffer, and (QoS 1) acknowledged:
//! at once, or with a window of 16 messages left in flight (as a busy subscriber has).
//! No sockets: this is the work the broker does per message besides reading and writing.
//!
//! `cargo bench -p vmq-broker --bench icount_publish` re-runs this binary under
//! `valgrind --tool=callgrind --toggle-collect=*icount_publish_to_deliver*` per case and prints
//! instructions per delivery. Run without `--bench` (as `cargo test --all-targets` does) it
//! only checks, natively, that every message reaches every subscriber.

use std::{collections::HashMap, hint::black_box, process::ExitCode, sync::Arc, time::Instant};

#[path = "../../vmq-codec/benches/support/callgrind.rs"]
mod callgrind;

use bytes::Bytes;
use vmq_broker::{
    conn_channel, BrokerCore, ConnId, Hooks, MatchBuffer, QueuedDelivery, SessionPersistence,
    SubOptions, Subscriber, SubscriberId,
};
use vmq_codec::{Connect, Packet, ProtocolVersion, PubAck, PublishProperties, QoS, RetainHandling};
use vmq_session::{Action, ConnectAccepted, Message, Session, SessionConfig};

/// Messages per measured run.
const N: usize = 1000;

struct Fixture {
    core: Arc<BrokerCore>,
    subscribers: Vec<(Arc<Subscriber>, ConnId, Session)>,
    matches: MatchBuffer,
    taken: Vec<QueuedDelivery>,
    qos: QoS,
    /// Messages each subscriber leaves unacknowledged (its window in flight) before acking
    /// the oldest; 0 acknowledges every one at once.
    window: usize,
    delivered: usize,
}

fn fixture(subscribers: usize, qos: QoS, window: usize) -> Fixture {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let config = vmq_conf::Config::from_str(
        "allow_anonymous = on\nsystree_enabled = off\n",
        "bench.conf",
        &HashMap::new(),
    )
    .expect("config");
    let core = BrokerCore::new(Arc::new(config), Hooks::default(), None);
    let now = Instant::now();
    let session_config = Arc::new(SessionConfig::default());
    let mut subs = Vec::new();
    for i in 0..subscribers {
        let id = SubscriberId {
            mountpoint: Arc::from(""),
            client_id: Arc::from(format!("sub{i}").as_str()),
        };
        let (handle, _inbox) = conn_channel();
        let conn = i as ConnId + 1;
        let registered = runtime.block_on(core.register(
            id,
            conn,
            handle,
            SessionPersistence {
                clean_start: true,
                persistent: false,
                session_expiry_interval: 0,
                protocol: 4,
            },
        ));
        let opts = SubOptions {
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::SendAtSubscribe,
            subscription_id: None,
        };
        core.subscribe(&registered.subscriber, "bench/fan", opts)
            .expect("subscribe");
        let mut session = Session::new(session_config.clone(), now);
        session.handle_packet(
            now,
            Packet::Connect(Box::new(Connect::new(
                ProtocolVersion::V3_1_1,
                format!("sub{i}"),
            ))),
        );
        while session.poll_action().is_some() {}
        session.accept_connect(now, ConnectAccepted::default());
        session.transmit().clear();
        subs.push((registered.subscriber, conn, session));
    }
    Fixture {
        core,
        subscribers: subs,
        matches: MatchBuffer::new(),
        taken: Vec::with_capacity(64),
        qos,
        window,
        delivered: 0,
    }
}

fn message(id: u128, qos: QoS) -> Arc<Message> {
    Arc::new(Message {
        id,
        topic: "bench/fan".into(),
        payload: Bytes::from_static(&[7u8; 64]),
        qos,
        retain: false,
        properties: PublishProperties::default(),
        expires_at: None,
    })
}

/// The measured work for one message.
#[inline(never)]
fn icount_publish_to_deliver(f: &mut Fixture, msg: Arc<Message>, now: Instant) {
    f.core.publish("", None, msg, now, &mut f.matches);
    for (sub, conn, session) in &mut f.subscribers {
        f.taken.clear();
        let _ = sub.state.lock().queue.take(conn, 16, now, &mut f.taken);
        for queued in f.taken.drain(..) {
            if session.deliver(now, queued.delivery).is_ok() {
                f.delivered += 1;
            }
        }
        session.transmit().clear();
        if f.qos != QoS::AtMostOnce {
            // The subscriber acknowledges what it got beyond its window, oldest first (packet
            // ids count up from 1).
            let unacked = session.inflight_len().saturating_sub(f.window);
            for _ in 0..unacked {
                let id = next_acked(session);
                session.handle_packet(now, Packet::PubAck(PubAck::new(id)));
            }
            while let Some(action) = session.poll_action() {
                black_box(matches!(action, Action::Acknowledged(_)));
            }
        }
    }
}

/// The packet id of the oldest message in flight (sessions allocate ids in order).
fn next_acked(session: &Session) -> u16 {
    let sent = session.stats().publish_sent;
    let oldest = sent - session.inflight_len() as u64 + 1;
    ((oldest - 1) % u64::from(u16::MAX) + 1) as u16
}

/// Publishes `n` messages through a fixture of `subscribers`; true when all were delivered.
fn child(subscribers: usize, qos: QoS, window: usize, n: usize) -> bool {
    let mut f = fixture(subscribers, qos, window);
    let now = Instant::now();
    let messages: Vec<Arc<Message>> = (0..n).map(|i| message(i as u128 + 1, qos)).collect();
    for msg in messages {
        icount_publish_to_deliver(&mut f, msg, now);
    }
    f.delivered == n * subscribers
}

/// Name, subscribers, QoS, window in flight.
fn cases() -> Vec<(&'static str, usize, QoS, usize)> {
    vec![
        ("1 sub, qos0", 1, QoS::AtMostOnce, 0),
        ("1 sub, qos1", 1, QoS::AtLeastOnce, 0),
        ("1 sub, qos1, 16 in flight", 1, QoS::AtLeastOnce, 16),
        ("10 subs, qos0", 10, QoS::AtMostOnce, 0),
        ("10 subs, qos1", 10, QoS::AtLeastOnce, 0),
        ("100 subs, qos1", 100, QoS::AtLeastOnce, 0),
        ("100 subs, qos1, 16 in flight", 100, QoS::AtLeastOnce, 16),
    ]
}

fn measure(exe: &str, subscribers: usize, qos: QoS, window: usize) -> Result<f64, String> {
    let (subs, qos, window, n) = (
        subscribers.to_string(),
        (qos as u8).to_string(),
        window.to_string(),
        N.to_string(),
    );
    let collected = callgrind::collected_instructions(
        exe,
        "*icount_publish_to_deliver*",
        &["--child", &subs, &qos, &window, &n],
        &format!("{subscribers} subscribers"),
    )?;
    Ok(collected as f64 / (N * subscribers) as f64)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, subs, qos, window, n] = &args[..] {
        if flag == "--child" {
            let subs = subs.parse().unwrap_or(1);
            let qos = QoS::from_u8(qos.parse().unwrap_or(0)).unwrap_or(QoS::AtMostOnce);
            let window = window.parse().unwrap_or(0);
            let n = n.parse().unwrap_or(N);
            return if child(subs, qos, window, n) {
                ExitCode::SUCCESS
            } else {
                eprintln!("icount_publish: not every message was delivered");
                ExitCode::FAILURE
            };
        }
    }
    if !args.iter().any(|a| a == "--bench") {
        for (name, subs, qos, window) in cases() {
            if !child(subs, qos, window, 50) {
                eprintln!("icount_publish: {name}: not every message was delivered");
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }
    let exe = match std::env::current_exe() {
        Ok(p) => p.to_string_lossy().into_owned(),
        Err(e) => {
            eprintln!("icount_publish: cannot find this executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("instructions per delivery, publish -> route -> queue -> session -> PUBLISH encoded (callgrind)");
    for (name, subs, qos, window) in cases() {
        match measure(&exe, subs, qos, window) {
            Ok(n) => println!("{name:<28} {n:>10.0}"),
            Err(e) => {
                eprintln!("icount_publish: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
