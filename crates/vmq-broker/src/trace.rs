//! Client tracing (`vmq-admin trace client client-id=X`): while a trace runs, the connection
//! driver of the traced client describes every packet it receives (`MQTT RECV`) and sends
//! (`MQTT SEND`) and every auth hook it calls, as text lines sent to the trace's receiver.
//! One trace at a time, as VerneMQ; a rate limit (`rate-max` lines per `rate-interval`) stops a
//! trace that produces too much. Passwords are never shown.
//!
//! Cost when no trace runs: one relaxed atomic load per packet batch.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::mpsc;
use vmq_codec::{Packet, ProtocolVersion};

/// Lines buffered between the broker and a slow trace reader before lines are dropped.
const TRACE_BUFFER: usize = 4096;

/// Options of `trace client`.
#[derive(Debug, Clone)]
pub struct TraceOptions {
    /// Client id to trace.
    pub client_id: String,
    /// Its mountpoint (default "").
    pub mountpoint: String,
    /// Lines allowed per interval (default 10).
    pub rate_max: u32,
    /// The interval (default 100 ms).
    pub rate_interval: Duration,
    /// Payload bytes shown before truncation (default 200).
    pub trunc_payload: usize,
}

impl TraceOptions {
    /// VerneMQ's defaults for `client_id`.
    pub fn new(client_id: &str) -> Self {
        TraceOptions {
            client_id: client_id.to_string(),
            mountpoint: String::new(),
            rate_max: 10,
            rate_interval: Duration::from_millis(100),
            trunc_payload: 200,
        }
    }
}

#[derive(Debug)]
struct Trace {
    options: TraceOptions,
    tx: mpsc::Sender<String>,
    window_start: Instant,
    in_window: u32,
}

/// The node's tracer.
#[derive(Debug, Default)]
pub struct Tracer {
    active: AtomicBool,
    trace: Mutex<Option<Trace>>,
}

impl Tracer {
    /// Starts a trace; `None` if another trace is running.
    pub fn start(&self, options: TraceOptions) -> Option<mpsc::Receiver<String>> {
        let mut trace = self.trace.lock();
        if let Some(t) = trace.as_ref() {
            if !t.tx.is_closed() {
                return None;
            }
        }
        let (tx, rx) = mpsc::channel(TRACE_BUFFER);
        *trace = Some(Trace {
            options,
            tx,
            window_start: Instant::now(),
            in_window: 0,
        });
        self.active.store(true, Ordering::Release);
        Some(rx)
    }

    /// Stops every running trace (`trace stop_all`); true if one was running.
    pub fn stop_all(&self) -> bool {
        let mut trace = self.trace.lock();
        let was = trace.take();
        self.active.store(false, Ordering::Release);
        if let Some(t) = &was {
            let _ =
                t.tx.try_send("Trace session stopped externally".to_string());
        }
        was.is_some()
    }

    /// Whether any trace runs (the cheap check before anything else).
    #[inline]
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Whether the client `mountpoint`/`client_id` is being traced.
    pub fn matches(&self, mountpoint: &str, client_id: &str) -> bool {
        if !self.is_active() {
            return false;
        }
        self.trace
            .lock()
            .as_ref()
            .is_some_and(|t| t.options.client_id == client_id && t.options.mountpoint == mountpoint)
    }

    /// The payload truncation of the running trace.
    pub fn trunc_payload(&self) -> usize {
        self.trace
            .lock()
            .as_ref()
            .map_or(200, |t| t.options.trunc_payload)
    }

    /// Sends `line` to the trace if it traces `mountpoint`/`client_id`, applying the rate
    /// limit.
    pub fn emit(&self, mountpoint: &str, client_id: &str, line: impl FnOnce() -> String) {
        if !self.is_active() {
            return;
        }
        let mut guard = self.trace.lock();
        let Some(trace) = guard.as_mut() else {
            return;
        };
        if trace.options.client_id != client_id || trace.options.mountpoint != mountpoint {
            return;
        }
        let now = Instant::now();
        if now.duration_since(trace.window_start) >= trace.options.rate_interval {
            trace.window_start = now;
            trace.in_window = 0;
        }
        trace.in_window += 1;
        let stop = if trace.in_window > trace.options.rate_max {
            let _ = trace.tx.try_send(format!(
                "Trace rate limit triggered ({} lines per {} ms); trace stopped",
                trace.options.rate_max,
                trace.options.rate_interval.as_millis()
            ));
            true
        } else {
            matches!(
                trace.tx.try_send(line()),
                Err(mpsc::error::TrySendError::Closed(_))
            )
        };
        if stop {
            *guard = None;
            self.active.store(false, Ordering::Release);
        }
    }
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

fn payload(p: &Bytes, trunc: usize) -> String {
    let shown = &p[..p.len().min(trunc)];
    let text = String::from_utf8_lossy(shown);
    if p.len() > trunc {
        format!("{text:?}...({} bytes)", p.len())
    } else {
        format!("{text:?}")
    }
}

/// Describes one packet for a trace line (passwords masked, payloads truncated).
pub fn describe(packet: &Packet, trunc_payload: usize) -> String {
    match packet {
        Packet::Connect(c) => format!(
            "CONNECT(c: {}, v: {}, u: {}, p: {}, cs: {}, ka: {})",
            c.client_id.as_str(),
            c.protocol.level(),
            c.username.as_ref().map_or("undefined", |u| u.as_str()),
            if c.password.is_some() {
                "******"
            } else {
                "undefined"
            },
            flag(c.clean_start),
            c.keep_alive
        ),
        Packet::ConnAck(a) => format!(
            "CONNACK(sp: {}, rc: {})",
            flag(a.session_present),
            a.reason_code as u8
        ),
        Packet::Publish(p) => format!(
            "PUBLISH(d{}, q{}, r{}, m{}, \"{}\") with payload:\n    {}",
            flag(p.dup),
            p.qos as u8,
            flag(p.retain),
            p.packet_id,
            p.topic.as_str(),
            payload(&p.payload, trunc_payload)
        ),
        Packet::PubAck(a) => format!("PUBACK(m{}, rc: {})", a.packet_id, a.reason_code as u8),
        Packet::PubRec(a) => format!("PUBREC(m{}, rc: {})", a.packet_id, a.reason_code as u8),
        Packet::PubRel(a) => format!("PUBREL(m{}, rc: {})", a.packet_id, a.reason_code as u8),
        Packet::PubComp(a) => format!("PUBCOMP(m{}, rc: {})", a.packet_id, a.reason_code as u8),
        Packet::Subscribe(s) => {
            let mut out = format!("SUBSCRIBE(m{}) with topics:", s.packet_id);
            for f in &s.filters {
                out.push_str(&format!(
                    "\n    q:{}, t: \"{}\"",
                    f.options.qos as u8,
                    f.filter.as_str()
                ));
            }
            out
        }
        Packet::SubAck(s) => format!(
            "SUBACK(m{}, qt{:?})",
            s.packet_id,
            s.reason_codes.iter().map(|c| *c as u8).collect::<Vec<_>>()
        ),
        Packet::Unsubscribe(u) => {
            let mut out = format!("UNSUBSCRIBE(m{}) with topics:", u.packet_id);
            for f in &u.filters {
                out.push_str(&format!("\n    t: \"{}\"", f.as_str()));
            }
            out
        }
        Packet::UnsubAck(u) => format!("UNSUBACK(m{})", u.packet_id),
        Packet::PingReq => "PINGREQ()".to_string(),
        Packet::PingResp => "PINGRESP()".to_string(),
        Packet::Disconnect(d) => format!("DISCONNECT(rc: {})", d.reason_code as u8),
        Packet::Auth(a) => format!("AUTH(rc: {})", a.reason_code as u8),
    }
}

/// Decodes the whole packets in `frames` (as sent to a client speaking `version`).
pub fn decode_sent(mut frames: &[u8], version: ProtocolVersion) -> Vec<Packet> {
    let mut out = Vec::new();
    while let Some(len) = crate::metrics::frame_len(frames) {
        let (frame, rest) = frames.split_at(len);
        frames = rest;
        if let Ok(p) = Packet::decode(Bytes::copy_from_slice(frame), version) {
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn one_trace_at_a_time_and_rate_limited() {
        let tracer = Tracer::default();
        let mut opts = TraceOptions::new("c1");
        opts.rate_max = 3;
        opts.rate_interval = Duration::from_secs(60);
        let mut rx = tracer.start(opts).unwrap();
        assert!(tracer.start(TraceOptions::new("c2")).is_none());
        assert!(tracer.matches("", "c1"));
        assert!(!tracer.matches("", "c2"));
        for i in 0..5 {
            tracer.emit("", "c1", || format!("line {i}"));
        }
        assert!(!tracer.is_active());
        let mut lines = Vec::new();
        while let Ok(l) = rx.try_recv() {
            lines.push(l);
        }
        assert_eq!(lines.len(), 4);
        assert!(lines[3].contains("rate limit"));
    }
}
