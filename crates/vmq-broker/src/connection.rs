//! The connection driver: one tokio task per client connection that moves bytes between the
//! socket and the [`Session`] state machine, carries out the session's actions against the
//! broker core, pulls deliveries from the subscriber's queue, and runs the session's timers.
//! No protocol rule lives here; every transport (TCP, TLS, WebSocket, QUIC; see `transport`)
//! feeds this same driver through `AsyncRead + AsyncWrite`.

use std::{
    collections::HashMap,
    collections::VecDeque,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use bytes::{Buf, BytesMut};
use smallvec::SmallVec;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    sync::{oneshot, OwnedSemaphorePermit},
    time::Sleep,
};
use tracing::{debug, warn};
use vmq_codec::{
    check, AuthProperties, ConnAckProperties, DecodeLimits, Packet, ProtocolVersion, Publish,
    PublishProperties, QoS, ReasonCode, Subscribe, Unsubscribe, Utf8Str,
};
use vmq_session::{
    Action, CloseReason, ConnectAccepted, ConnectRequest, Delivery, Message, Session, SessionConfig,
};

use crate::{
    broker::{BrokerCore, MatchBuffer, SessionPersistence},
    hooks::{
        AuthModifiers, AuthRequest, AuthStep, Chain, DeliverModifiers, Now, Pending,
        PublishModifiers, PublishRequest, RegisterEvent, RegisterModifiers, RegisterRequest,
        SubscribeRequest, SubscribeTopic, UnsubscribeRequest,
    },
    metrics::{Counter, Gauge, MqttVersion},
    persistence::Durable,
    subscriber::{
        unix_micros, ConnHandle, ConnId, ConnInbox, Control, QueuedDelivery, SessionInfo, Signal,
        SubOptions, Subscriber, SubscriberId,
    },
    trace,
};

/// What a connection needs to know about the listener that accepted it.
#[derive(Debug)]
pub struct ListenerContext {
    /// `<kind>.<name>` of the listener, for logs.
    pub name: String,
    /// Mountpoint of the listener (VerneMQ strips a trailing `/`).
    pub mountpoint: Arc<str>,
    /// Session settings for this listener.
    pub session: Arc<SessionConfig>,
    /// Anonymous clients allowed (global `allow_anonymous` or the listener's override).
    pub allow_anonymous: bool,
    /// Largest packet accepted (`max_message_size`; 0 = the protocol's limit).
    pub max_packet_size: u32,
}

/// What a connection knows about itself before its first packet: who is at the other end, and
/// what the transport already established.
#[derive(Debug)]
pub struct ConnectionInfo {
    /// The client's address (from the PROXY protocol header when the listener expects one).
    pub peer: SocketAddr,
    /// A user name the transport authenticated (a TLS client certificate's CN with
    /// `use_identity_as_username`, or the CN a proxy forwarded with
    /// `proxy_protocol_use_cn_as_username`). As in VerneMQ, it replaces the user name of the
    /// CONNECT packet for the auth hooks and the session.
    pub preauth_username: Option<Utf8Str>,
    /// The listener's table of open connections, for its counts and `--kill_sessions`.
    pub tracker: Option<Arc<ConnTracker>>,
    /// The listener's `max_connections` slot, given back when the connection ends.
    pub admission: Option<OwnedSemaphorePermit>,
}

impl ConnectionInfo {
    /// A connection from `peer` with nothing pre-established.
    pub fn new(peer: SocketAddr) -> Self {
        ConnectionInfo {
            peer,
            preauth_username: None,
            tracker: None,
            admission: None,
        }
    }
}

/// The open connections of one listener: how many, and how to reach each (to disconnect them
/// when the listener is stopped with `--kill_sessions`).
#[derive(Debug, Default)]
pub struct ConnTracker {
    conns: parking_lot::Mutex<HashMap<ConnId, ConnHandle, ahash::RandomState>>,
}

impl ConnTracker {
    /// The number of connections open now.
    pub fn len(&self) -> usize {
        self.conns.lock().len()
    }

    /// True when no connection is open.
    pub fn is_empty(&self) -> bool {
        self.conns.lock().is_empty()
    }

    /// Handles of every open connection.
    pub fn handles(&self) -> Vec<ConnHandle> {
        self.conns.lock().values().cloned().collect()
    }

    fn insert(&self, id: ConnId, handle: ConnHandle) {
        self.conns.lock().insert(id, handle);
    }

    fn remove(&self, id: ConnId) {
        self.conns.lock().remove(&id);
    }
}

/// Removes a connection from its listener's tracker however the task ends.
struct Tracked(Option<Arc<ConnTracker>>, ConnId);

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            t.remove(self.1);
        }
    }
}

/// Deliveries pulled from the queue per round, so reading and writing interleave fairly.
const DELIVERY_BATCH: usize = 256;
/// Above this many unwritten bytes no more deliveries are pulled (slow consumers keep their
/// messages in the queue, where the queue's limits apply).
const WRITE_HIGH_WATER: usize = 256 * 1024;
/// Smallest read buffer: what an idle connection keeps (memory per idle connection matters).
const MIN_READ: usize = 128;
/// Largest read buffer: busy connections grow to it so a burst needs few reads.
const MAX_READ: usize = 64 * 1024;
/// Write buffers larger than this are released once written out.
const KEEP_WRITE_BUFFER: usize = 8 * 1024;
/// How long a closing connection may take to flush what it has to send.
const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// With `publish_backpressure`, a publisher whose QoS 1/2 message found a subscriber's online
/// queue at least half full (`max_online_messages`) stops reading until that queue has room
/// again: subscribers that fall behind slow publishers down instead of losing messages to the
/// queue's drop policy.
/// This is the longest it waits, and as long as a subscriber may go without taking a message
/// before it counts as stalled: publishers are not held back for a stalled subscriber, whose
/// queue's drop policy applies as in VerneMQ (see [`Subscriber::wait_for_room`]).
const PUBLISH_HOLD_MAX: Duration = crate::subscriber::STALLED_AFTER;
/// A publisher whose round woke idle subscribers' connections and left at most this much to
/// write (one or two acknowledgements: the publisher is not busy) writes it after the
/// deliveries: the woken subscribers' tasks, and the other publishers of the same burst, write
/// first, so a message does not wait for acknowledgements' system calls (on loopback they
/// also carry the peer's side of the receive). Busy publishers, and those whose subscribers
/// still have messages queued (the subscriber, not the acknowledgement, is what holds the
/// message up), write at once.
const ACK_AFTER_DELIVERY: usize = 8;
/// How long a closed connection keeps reading (and discarding) what the peer still sends.
const CLOSE_LINGER: Duration = Duration::from_millis(500);

/// One connection's state, owned by its [`Driver`]. Mind its size: the driver is the future of
/// the connection's task, whose cell tokio aligns to 128 bytes on x86_64, so a field that
/// takes the driver (1040 bytes with a plain TCP stream) past a 128-byte step costs 128 bytes
/// per connection (16 bytes more in the session once meant 2.84 -> 2.95 KiB per idle
/// connection at 19,000 of them).
struct Connection {
    core: Arc<BrokerCore>,
    listener: Arc<ListenerContext>,
    session: Session,
    peer: SocketAddr,
    conn_id: ConnId,
    handle: ConnHandle,
    subscriber: Option<Arc<Subscriber>>,
    username: Option<Utf8Str>,
    preauth_username: Option<Utf8Str>,
    /// The will's delay in seconds (MQTT 5 Will Delay Interval, capped by
    /// `max_last_will_delay`); seconds, as the protocol counts them, in 4 bytes.
    will_delay_secs: u32,
    matches: MatchBuffer,
    deliveries: Vec<QueuedDelivery>,
    disconnect_acks: Vec<oneshot::Sender<()>>,
    /// Acknowledgements of incoming QoS 1/2 messages, in arrival order; those with `durable`
    /// wait for the store's flush.
    pending_acks: VecDeque<PendingAck>,
    closed: bool,
    /// The plugin chain snapshot (refreshed when plugins are enabled or disabled).
    chain: Chain,
    /// A CONNECT waiting for MQTT 5 enhanced authentication to finish.
    pending_connect: Option<Box<ConnectRequest>>,
    /// Frame limits (`max_message_size`, or the `auth_on_register` modifier).
    limits: DecodeLimits,
    /// The read buffer may hold complete frames not handled yet (slow work came first, or the
    /// publisher is held back).
    input_pending: bool,
    /// Back-pressure (see `PUBLISH_HOLD_MAX`): until when this publisher is held back; the
    /// frames already read wait in the read buffer.
    held_until: Option<Instant>,
    /// This round woke subscribers' connections for a client's publish (see
    /// [`ACK_AFTER_DELIVERY`]).
    woke_subscribers: bool,
    /// The driver's last wait ended with nothing to do: the next read is the first after
    /// an idle spell (see [`Connection::publish_after_others`]).
    waited: bool,
    /// A PUBLISH read after an idle spell waits for one deferred wake-up before it is
    /// handled (see [`Connection::publish_after_others`]).
    defer_input: bool,
}

struct PendingAck {
    packet_id: u16,
    qos: QoS,
    code: ReasonCode,
    durable: Option<Durable>,
}

/// Ids of the deliveries acknowledged (or dropped) in one round of actions, whose stored
/// copies (if any) go in one batch: on the stack, since a connection keeps nothing for it
/// between rounds (every byte of a connection counts at 19,000 of them), and given up
/// whenever it is full rather than spilled to the heap.
type DoneBatch = SmallVec<[u128; 16]>;

/// What the driver waited for.
enum Event {
    /// A command, room for a held-back publisher, or a queue wake-up (deliveries are pulled
    /// on every round anyway).
    Signal(Signal),
    /// `Some(n)` bytes written, `None` the transport flushed.
    Written(std::io::Result<Option<usize>>),
    /// Bytes read (0 at end of stream).
    Read(std::io::Result<usize>),
    /// The store's flush for the oldest pending acknowledgement.
    Durable(Result<(), Arc<str>>),
    /// The session's timer.
    Timeout,
}

/// The byte side of one connection: the stream and its two buffers.
struct Wire<S> {
    stream: S,
    rbuf: BytesMut,
    wbuf: BytesMut,
    /// Adaptive read size: doubles while reads fill the buffer, halves while they are small.
    read_size: usize,
    /// Transports that buffer (TLS records, WebSocket frames) need a flush after writes.
    unflushed: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Wire<S> {
    /// Writes what is pending, or, when nothing is, flushes what the transport buffered.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<Option<usize>>> {
        if self.wbuf.is_empty() {
            Pin::new(&mut self.stream)
                .poll_flush(cx)
                .map(|r| r.map(|()| None))
        } else {
            Pin::new(&mut self.stream)
                .poll_write(cx, &self.wbuf)
                .map(|r| r.map(Some))
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        if self.rbuf.capacity() - self.rbuf.len() < self.read_size / 2 {
            self.rbuf.reserve(self.read_size);
        }
        tokio_util::io::poll_read_buf(Pin::new(&mut self.stream), cx, &mut self.rbuf)
    }

    /// Writes what is left and shuts the write side down (errors end it as well).
    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while !self.wbuf.is_empty() {
            match Pin::new(&mut self.stream).poll_write(cx, &self.wbuf) {
                Poll::Ready(Ok(n)) if n > 0 => self.wbuf.advance(n),
                Poll::Ready(_) => self.wbuf.clear(),
                Poll::Pending => return Poll::Pending,
            }
        }
        Pin::new(&mut self.stream).poll_shutdown(cx).map(|_| ())
    }

    /// Reads and discards until the peer closes (or the socket fails).
    fn poll_discard(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            self.rbuf.clear();
            self.rbuf.reserve(1024);
            match tokio_util::io::poll_read_buf(Pin::new(&mut self.stream), cx, &mut self.rbuf) {
                Poll::Ready(Ok(n)) if n > 0 => {}
                Poll::Ready(_) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Runs one connection to its end.
pub fn run_connection<S>(
    core: Arc<BrokerCore>,
    listener: Arc<ListenerContext>,
    stream: S,
    peer: SocketAddr,
) -> impl Future<Output = ()> + Send + 'static
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    run_connection_with(core, listener, stream, ConnectionInfo::new(peer))
}

/// Runs one connection to its end, with what its transport established (see
/// [`ConnectionInfo`]). Every transport (TCP, TLS, WebSocket, QUIC) ends up here.
///
/// The future is the connection's [`Driver`], polled directly: an idle connection holds its
/// fields and nothing else. It polls the socket, the inbox, the store's flush and the timer
/// itself and does the work of the hot path (reading packets, routing publishes, pulling
/// deliveries) without awaiting. Work that may await a plugin, or is rare and large (CONNECT,
/// AUTH, SUBSCRIBE, UNSUBSCRIBE), runs in a boxed future that owns the connection while it
/// runs, allocated only when there is such work.
pub fn run_connection_with<S>(
    core: Arc<BrokerCore>,
    listener: Arc<ListenerContext>,
    stream: S,
    info: ConnectionInfo,
) -> impl Future<Output = ()> + Send + 'static
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ConnectionInfo {
        peer,
        preauth_username,
        tracker,
        admission,
    } = info;
    core.metrics.incr(Counter::SocketOpen);
    let gauge = if listener.name.starts_with("ws") {
        Gauge::ActiveMqttwsConnections
    } else {
        Gauge::ActiveMqttConnections
    };
    core.metrics.gauge_add(gauge, 1);
    let conn_id = core.next_conn_id();
    let (handle, inbox) = crate::subscriber::conn_channel();
    let now = Instant::now();
    let limits = DecodeLimits::new(listener.max_packet_size);
    let conn = Connection {
        session: Session::new(listener.session.clone(), now),
        core,
        listener,
        peer,
        conn_id,
        handle,
        subscriber: None,
        username: None,
        preauth_username,
        will_delay_secs: 0,
        matches: MatchBuffer::new(),
        deliveries: Vec::new(),
        disconnect_acks: Vec::new(),
        pending_acks: VecDeque::new(),
        closed: false,
        chain: Chain::default(),
        pending_connect: None,
        limits,
        input_pending: false,
        held_until: None,
        woke_subscribers: false,
        waited: false,
        defer_input: false,
    };
    if let Some(t) = &tracker {
        t.insert(conn_id, conn.handle.clone());
    }
    Driver {
        owner: Owner::Here(conn),
        wire: Wire {
            stream,
            rbuf: BytesMut::new(),
            wbuf: BytesMut::new(),
            read_size: MIN_READ,
            unflushed: false,
        },
        inbox,
        sleep: tokio::time::sleep_until(tokio::time::Instant::from_std(now)),
        armed: None,
        phase: Phase::Running,
        tracked: Some(Tracked(tracker, conn_id)),
        _admission: admission,
        gauge,
    }
}

/// Who has the connection: the driver, or slow work that owns it while it runs.
// The connection stays inline (not boxed): the driver is then one allocation per connection.
#[allow(clippy::large_enum_variant)]
enum Owner {
    Here(Connection),
    Slow(Pin<Box<dyn Future<Output = Connection> + Send>>),
    /// Only between the two.
    Gone,
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// Writing what is left (a CONNACK refusal, a DISCONNECT) and shutting the write side
    /// down, for at most [`CLOSE_FLUSH_TIMEOUT`].
    Flushing,
    /// After our FIN, what the peer still sends (e.g. PUBRELs for PUBRECs that crossed our
    /// DISCONNECT) is read and discarded for [`CLOSE_LINGER`], so the peer sees our DISCONNECT
    /// rather than a connection reset.
    Lingering,
}

pin_project_lite::pin_project! {
    /// One connection's task (see [`run_connection_with`]).
    struct Driver<S> {
        owner: Owner,
        wire: Wire<S>,
        inbox: ConnInbox,
        #[pin]
        sleep: Sleep,
        // The deadline the timer is set to. A later deadline (the keep-alive moves with every
        // packet) leaves the timer as it is: it fires early, the session finds nothing due,
        // and the timer is set again.
        armed: Option<Instant>,
        phase: Phase,
        tracked: Option<Tracked>,
        _admission: Option<OwnedSemaphorePermit>,
        gauge: Gauge,
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Future for Driver<S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        loop {
            match *this.phase {
                Phase::Running => {
                    if poll_running(
                        this.owner,
                        this.wire,
                        this.inbox,
                        this.sleep.as_mut(),
                        this.armed,
                        cx,
                    )
                    .is_pending()
                    {
                        return Poll::Pending;
                    }
                    // Closed as far as the listener's counts and `--kill_sessions` are
                    // concerned.
                    this.tracked.take();
                    this.inbox.close();
                    let deadline = Instant::now() + CLOSE_FLUSH_TIMEOUT;
                    this.sleep
                        .as_mut()
                        .reset(tokio::time::Instant::from_std(deadline));
                    *this.phase = Phase::Flushing;
                }
                Phase::Flushing => match this.wire.poll_close(cx) {
                    Poll::Ready(()) => {
                        let deadline = Instant::now() + CLOSE_LINGER;
                        this.sleep
                            .as_mut()
                            .reset(tokio::time::Instant::from_std(deadline));
                        *this.phase = Phase::Lingering;
                    }
                    Poll::Pending if this.sleep.as_mut().poll(cx).is_pending() => {
                        return Poll::Pending
                    }
                    // Timed out: no linger.
                    Poll::Pending => return this.owner.finish(*this.gauge),
                },
                Phase::Lingering => {
                    if this.wire.poll_discard(cx).is_pending()
                        && this.sleep.as_mut().poll(cx).is_pending()
                    {
                        return Poll::Pending;
                    }
                    return this.owner.finish(*this.gauge);
                }
            }
        }
    }
}

impl Owner {
    /// The connection's socket is closed: counted.
    fn finish(&self, gauge: Gauge) -> Poll<()> {
        if let Owner::Here(conn) = self {
            conn.core.metrics.incr(Counter::SocketClose);
            conn.core.metrics.gauge_add(gauge, -1);
        }
        Poll::Ready(())
    }
}

/// Runs the connection until it is closed (`Ready`).
fn poll_running<S: AsyncRead + AsyncWrite + Unpin>(
    owner: &mut Owner,
    wire: &mut Wire<S>,
    inbox: &mut ConnInbox,
    mut sleep: Pin<&mut Sleep>,
    armed: &mut Option<Instant>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    loop {
        let conn = match owner {
            Owner::Here(conn) => conn,
            Owner::Slow(work) => match work.as_mut().poll(cx) {
                Poll::Ready(conn) => {
                    *owner = Owner::Here(conn);
                    continue;
                }
                Poll::Pending => return Poll::Pending,
            },
            Owner::Gone => return Poll::Ready(()),
        };
        let now = Instant::now();
        if let Some(slow) = conn.step(wire, now) {
            if let Owner::Here(mut conn) = std::mem::replace(owner, Owner::Gone) {
                *owner = Owner::Slow(Box::pin(async move {
                    conn.run_slow(slow).await;
                    conn
                }));
            }
            continue;
        }
        if conn.closed {
            return Poll::Ready(());
        }
        if let Some(deadline) = conn.poll_timeout() {
            if armed.is_none_or(|t| deadline < t) {
                sleep
                    .as_mut()
                    .reset(tokio::time::Instant::from_std(deadline));
                *armed = Some(deadline);
            }
        }
        let read_paused = conn.read_paused(now);
        match poll_event(conn, wire, inbox, sleep.as_mut(), armed, read_paused, cx) {
            Poll::Ready(event) => conn.on_event(event, wire),
            Poll::Pending => return Poll::Pending,
        }
    }
}

/// What the connection waits for, commands first.
fn poll_event<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Connection,
    wire: &mut Wire<S>,
    inbox: &mut ConnInbox,
    sleep: Pin<&mut Sleep>,
    armed: &mut Option<Instant>,
    read_paused: bool,
    cx: &mut Context<'_>,
) -> Poll<Event> {
    let mut deliveries = false;
    match inbox.poll_signal(cx) {
        Poll::Ready(Signal::Deliveries) => deliveries = true,
        Poll::Ready(signal) => return Poll::Ready(Event::Signal(signal)),
        Poll::Pending => {}
    }
    if std::mem::take(&mut conn.defer_input) {
        // The same deferred wake-up as below: the tasks woken with this one run first.
        if std::pin::pin!(tokio::task::yield_now())
            .poll(cx)
            .is_pending()
        {
            return Poll::Pending;
        }
    }
    if std::mem::take(&mut conn.woke_subscribers)
        && !wire.wbuf.is_empty()
        && wire.wbuf.len() <= ACK_AFTER_DELIVERY
    {
        // tokio's deferred wake-up: this task runs again once its worker has run what is
        // ready (the subscribers just woken among it) or after a bounded number of tasks
        // under load, without waking another worker for it.
        if std::pin::pin!(tokio::task::yield_now())
            .poll(cx)
            .is_pending()
        {
            return Poll::Pending;
        }
    }
    if !wire.wbuf.is_empty() || wire.unflushed {
        if let Poll::Ready(written) = wire.poll_write(cx) {
            return Poll::Ready(Event::Written(written));
        }
    }
    if !read_paused {
        if let Poll::Ready(read) = wire.poll_read(cx) {
            return Poll::Ready(Event::Read(read));
        }
    }
    if let Some(rx) = conn
        .pending_acks
        .front_mut()
        .and_then(|p| p.durable.as_mut())
    {
        if let Poll::Ready(flushed) = Pin::new(rx).poll(cx) {
            return Poll::Ready(Event::Durable(
                flushed.unwrap_or_else(|_| Err(Arc::from("the store thread has stopped"))),
            ));
        }
    }
    if armed.is_some() && sleep.poll(cx).is_ready() {
        *armed = None;
        return Poll::Ready(Event::Timeout);
    }
    if deliveries {
        // Deliveries are pulled on every round.
        return Poll::Ready(Event::Signal(Signal::Deliveries));
    }
    conn.waited = true;
    Poll::Pending
}

/// Work that waits (for a plugin) or is rare and large: run in a boxed future.
enum Slow {
    /// Registration (and MQTT 5 enhanced authentication at CONNECT).
    Connect(Box<ConnectRequest>),
    /// An AUTH step (or a re-authentication).
    Auth(Box<AuthProperties>, bool),
    Subscribe(Box<Subscribe>),
    Unsubscribe(Box<Unsubscribe>),
    /// A publish whose `auth_on_publish` waits for a plugin.
    Publish(Box<SlowPublish>),
    /// A delivery whose `on_deliver` waits for a plugin.
    Deliver(Box<SlowDeliver>),
}

struct SlowPublish {
    publish: Box<Publish>,
    pending: Pending<PublishModifiers>,
}

struct SlowDeliver {
    queued: QueuedDelivery,
    pending: Pending<DeliverModifiers>,
}

impl Connection {
    /// While true, the driver must not read (`max_message_rate`, or the publisher is held
    /// back).
    fn read_paused(&self, now: Instant) -> bool {
        self.session.read_paused_until().is_some_and(|t| t > now) || self.held(now)
    }

    /// The publisher is held back (see `PUBLISH_HOLD_MAX`).
    fn held(&self, now: Instant) -> bool {
        self.held_until.is_some_and(|t| t > now)
    }

    /// When the driver's timer must fire next.
    fn poll_timeout(&self) -> Option<Instant> {
        match (self.session.poll_timeout(), self.held_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// One round of work that does not wait: frames already read, the session's actions,
    /// deliveries from the queue, and what the session has to send moved to the write buffer.
    /// Returns slow work for the driver to run (then the round is done again).
    fn step<S>(&mut self, wire: &mut Wire<S>, now: Instant) -> Option<Slow> {
        if self.input_pending && !self.defer_input && !self.held(now) {
            self.input_pending = false;
            self.held_until = None;
            if let Some(slow) = self.handle_input(&mut wire.rbuf, now) {
                return Some(slow);
            }
            if wire.rbuf.is_empty() && wire.rbuf.capacity() > wire.read_size * 2 {
                wire.rbuf = BytesMut::new();
            }
        }
        if let Some(slow) = self.process_actions(now) {
            return Some(slow);
        }
        if let Some(slow) = self.pull_deliveries(wire.wbuf.len(), now) {
            return Some(slow);
        }
        if let Some(slow) = self.process_actions(now) {
            return Some(slow);
        }
        let version = self.session.version();
        let out = self.session.transmit();
        if !out.is_empty() {
            self.core.metrics.count_sent(out, version);
            if self.core.tracer.is_active() {
                self.trace_sent(version);
            }
            let out = self.session.transmit();
            if wire.wbuf.is_empty() {
                std::mem::swap(&mut wire.wbuf, out);
            } else {
                wire.wbuf.extend_from_slice(out);
                out.clear();
            }
        }
        None
    }

    /// What the driver waited for has happened.
    fn on_event<S>(&mut self, event: Event, wire: &mut Wire<S>) {
        let waited = std::mem::take(&mut self.waited);
        match event {
            Event::Signal(Signal::Command(Control::Disconnect(code, ack))) => {
                self.disconnect_acks.push(ack);
                self.session.disconnect(code);
            }
            Event::Signal(Signal::Room) => self.held_until = None,
            // Deliveries are pulled in the next round.
            Event::Signal(Signal::Deliveries) => {}
            Event::Written(Ok(Some(0)) | Err(_)) => self.session.handle_connection_lost(),
            Event::Written(Ok(Some(n))) => {
                self.core.metrics.add(Counter::BytesSent, n as u64);
                wire.wbuf.advance(n);
                wire.unflushed = true;
                if wire.wbuf.is_empty() && wire.wbuf.capacity() > KEEP_WRITE_BUFFER {
                    wire.wbuf = BytesMut::new();
                }
            }
            Event::Written(Ok(None)) => wire.unflushed = false,
            Event::Read(Ok(0)) => self.session.handle_connection_lost(),
            Event::Read(Err(e)) => {
                debug!(peer = %self.peer, error = %e, "socket error");
                self.core.metrics.incr(Counter::SocketError);
                self.session.handle_connection_lost();
            }
            Event::Read(Ok(n)) => {
                self.core.metrics.add(Counter::BytesReceived, n as u64);
                let spare_before = wire.rbuf.capacity() - (wire.rbuf.len() - n);
                if n >= spare_before {
                    wire.read_size = (wire.read_size * 2).min(MAX_READ);
                } else if n < wire.read_size / 4 {
                    wire.read_size = (wire.read_size / 2).max(MIN_READ);
                }
                self.input_pending = true;
                self.defer_input = waited && self.publish_after_others(&wire.rbuf);
            }
            Event::Durable(Ok(())) => {
                if let Some(front) = self.pending_acks.front_mut() {
                    front.durable = None;
                }
                self.release_acks();
            }
            Event::Durable(Err(e)) => {
                warn!(peer = %self.peer, error = %e, "message not persisted; disconnecting without acknowledging");
                self.pending_acks.clear();
                self.session
                    .disconnect(ReasonCode::ImplementationSpecificError);
            }
            Event::Timeout => {
                let before = self.session.state();
                self.session.handle_timeout(Instant::now());
                if before != self.session.state() && self.session.is_closed() {
                    let v = MqttVersion::from(self.session.version());
                    self.core.metrics.incr_v(Counter::ClientKeepaliveExpired, v);
                }
            }
        }
    }

    /// Whether the bytes just read, the first after an idle spell, start with a PUBLISH that
    /// should wait for the other connections woken in the same batch of readiness events.
    ///
    /// tokio runs the task woken last by a batch of I/O events first (its LIFO slot): when
    /// one client's SUBSCRIBE and then another client's PUBLISH reach an idle broker
    /// together, the PUBLISH would be routed before the subscription exists, and the new
    /// subscriber would miss a message that Mosquitto, which handles ready connections in
    /// arrival order, delivers (paho's interoperability `test_subscribe_options` relies on
    /// it). One deferred wake-up lets the tasks woken with this one run first. A busy
    /// connection, which reads without waiting, never defers. The cost, measured at 5,000
    /// messages/s where every publish finds its connection idle: about 10 µs more at p50.
    fn publish_after_others(&self, rbuf: &[u8]) -> bool {
        self.session.state() == vmq_session::State::Connected
            && rbuf.first().is_some_and(|b| b >> 4 == 3)
    }

    /// Decodes and handles the complete frames in `rbuf`. Stops early, leaving the rest in
    /// `rbuf`, when a packet needs slow work (a CONNECT is answered before the next packet is
    /// looked at) or the publisher is held back.
    fn handle_input(&mut self, rbuf: &mut BytesMut, now: Instant) -> Option<Slow> {
        loop {
            if self.session.is_closed() {
                rbuf.clear();
                return None;
            }
            match check(rbuf, &self.limits) {
                Ok(Some(len)) => {
                    let frame = rbuf.split_to(len).freeze();
                    let version = self.session.version();
                    // Enough of the frame to tell a refused CONNECT's protocol version,
                    // should it not decode (cheaper than keeping a second handle on it).
                    let mut head = [0u8; 16];
                    let head_len = frame.len().min(head.len());
                    head[..head_len].copy_from_slice(&frame[..head_len]);
                    match Packet::decode(frame, version) {
                        Ok(packet) => {
                            let version = match &packet {
                                Packet::Connect(c) => c.protocol,
                                _ => version,
                            };
                            self.core.metrics.count_received(&packet, version);
                            if self.core.tracer.is_active() {
                                self.trace_received(&packet);
                            }
                            self.session.handle_packet(now, packet);
                            if let Some(slow) = self.process_actions(now) {
                                self.input_pending = true;
                                return Some(slow);
                            }
                            if self.held_until.is_some() {
                                // The rest waits (see `PUBLISH_HOLD_MAX`).
                                self.input_pending = true;
                                return None;
                            }
                        }
                        Err(e) => {
                            debug!(peer = %self.peer, error = %e, "malformed packet");
                            self.core.metrics.incr(Counter::MqttMalformedPacket);
                            self.session.handle_decode_error(&e, &head[..head_len]);
                            return None;
                        }
                    }
                }
                Ok(None) => return None,
                Err(e) => {
                    debug!(peer = %self.peer, error = %e, "refused frame");
                    if e.reason_code() == ReasonCode::PacketTooLarge {
                        let v = MqttVersion::from(self.session.version());
                        self.core
                            .metrics
                            .incr_v(Counter::MqttInvalidMsgSizeError, v);
                    } else {
                        self.core.metrics.incr(Counter::MqttMalformedPacket);
                    }
                    let head = rbuf.split().freeze();
                    self.session.handle_decode_error(&e, &head);
                    return None;
                }
            }
        }
    }

    /// The client id this connection is traced under: the session's once connected, the
    /// CONNECT's before.
    fn trace_id(&self, packet: Option<&Packet>) -> String {
        match packet {
            Some(Packet::Connect(c)) => c.client_id.as_str().to_string(),
            _ => self.session.client_id().as_str().to_string(),
        }
    }

    fn trace_received(&self, packet: &Packet) {
        let id = self.trace_id(Some(packet));
        let trunc = self.core.tracer.trunc_payload();
        self.core.tracer.emit(&self.listener.mountpoint, &id, || {
            format!(
                "<conn.{}> MQTT RECV: CID: {:?} {}",
                self.conn_id,
                id,
                trace::describe(packet, trunc)
            )
        });
    }

    fn trace_sent(&mut self, version: ProtocolVersion) {
        let id = self.trace_id(None);
        if !self.core.tracer.matches(&self.listener.mountpoint, &id) {
            return;
        }
        let trunc = self.core.tracer.trunc_payload();
        for packet in trace::decode_sent(self.session.transmit(), version) {
            self.core.tracer.emit(&self.listener.mountpoint, &id, || {
                format!(
                    "<conn.{}> MQTT SEND: CID: {:?} {}",
                    self.conn_id,
                    id,
                    trace::describe(&packet, trunc)
                )
            });
        }
    }

    /// Traces a hook call and its answer.
    fn trace_hook(&self, client_id: &str, call: impl FnOnce() -> String, result: &str) {
        if !self.core.tracer.is_active() {
            return;
        }
        let mp = &self.listener.mountpoint;
        self.core.tracer.emit(mp, client_id, || {
            format!("<conn.{}> Calling {}", self.conn_id, call())
        });
        self.core.tracer.emit(mp, client_id, || {
            format!("<conn.{}> Hook returned {result:?}", self.conn_id)
        });
    }

    /// Carries out the session's actions until one needs slow work.
    fn process_actions(&mut self, now: Instant) -> Option<Slow> {
        let mut done = DoneBatch::new();
        let slow = self.process_actions_until_slow(now, &mut done);
        self.messages_done(&mut done);
        slow
    }

    /// Adds a delivery that is done with to the batch, giving the batch up first when full.
    fn delivery_done(&mut self, done: &mut DoneBatch, msg_id: u128) {
        if done.len() == done.inline_size() {
            self.messages_done(done);
        }
        done.push(msg_id);
    }

    /// Gives up the stored copies of the messages in `done` (see [`BrokerCore::messages_done`]).
    fn messages_done(&mut self, done: &mut DoneBatch) {
        if let Some(sub) = &self.subscriber {
            self.core.messages_done(sub, done);
        }
        done.clear();
    }

    fn process_actions_until_slow(&mut self, now: Instant, done: &mut DoneBatch) -> Option<Slow> {
        while let Some(action) = self.session.poll_action() {
            match action {
                Action::Publish(publish) => {
                    if let Some(slow) = self.on_publish(publish, now) {
                        return Some(slow);
                    }
                }
                Action::Acknowledged(delivery) => self.delivery_done(done, delivery.msg.id),
                Action::Dropped(delivery, reason) => {
                    debug!(peer = %self.peer, ?reason, "delivery dropped by the session");
                    self.core.metrics.incr(Counter::QueueMessageDrop);
                    self.delivery_done(done, delivery.msg.id);
                }
                Action::Closed {
                    reason,
                    will,
                    session_expiry_interval,
                } => self.on_closed(reason, will, session_expiry_interval),
                // Registration, enhanced authentication and subscriptions are rare and their
                // futures are large (they may await plugins).
                Action::Connect(req) => return Some(Slow::Connect(req)),
                Action::Auth { properties, reauth } => return Some(Slow::Auth(properties, reauth)),
                Action::Subscribe(subscribe) => return Some(Slow::Subscribe(subscribe)),
                Action::Unsubscribe(unsubscribe) => return Some(Slow::Unsubscribe(unsubscribe)),
            }
        }
        None
    }

    /// Runs slow work (in a boxed future: see [`run_connection_with`]).
    async fn run_slow(&mut self, slow: Slow) {
        match slow {
            Slow::Connect(req) => {
                self.on_connect(*req).await;
                self.session.release_idle_memory();
            }
            Slow::Auth(properties, reauth) => self.on_auth(*properties, reauth).await,
            Slow::Subscribe(subscribe) => {
                self.on_subscribe(*subscribe).await;
                self.session.release_idle_memory();
            }
            Slow::Unsubscribe(unsubscribe) => self.on_unsubscribe(*unsubscribe).await,
            Slow::Publish(slow) => {
                let SlowPublish { publish, pending } = *slow;
                let Some(subscriber) = self.subscriber.clone() else {
                    return;
                };
                let result = self
                    .chain
                    .auth_on_publish_finish(pending, &self.publish_request(&subscriber, &publish))
                    .await;
                self.trace_publish_auth(&subscriber, &publish, &result);
                self.publish_authorized(&subscriber, publish, Some(result), Instant::now());
            }
            Slow::Deliver(slow) => {
                let SlowDeliver {
                    mut queued,
                    pending,
                } = *slow;
                let Some(subscriber) = self.subscriber.clone() else {
                    return;
                };
                let modifiers = self
                    .chain
                    .on_deliver_finish(
                        pending,
                        &self.deliver_request(&subscriber.id, &queued.delivery),
                    )
                    .await;
                if let Some(m) = modifiers {
                    apply_deliver_modifiers(&mut queued.delivery, m);
                }
                self.deliver(Instant::now(), queued);
            }
        }
    }

    async fn on_connect(&mut self, req: ConnectRequest) {
        let props = &req.connect.properties;
        if props.authentication_method.is_some() {
            // MQTT 5 enhanced authentication: on_auth_m5 decides before auth_on_register_m5.
            let auth = AuthProperties {
                authentication_method: props.authentication_method.clone(),
                authentication_data: props.authentication_data.clone(),
                ..AuthProperties::default()
            };
            self.username = self
                .preauth_username
                .clone()
                .or_else(|| req.username.clone());
            self.pending_connect = Some(Box::new(req));
            return self.on_auth(auth, false).await;
        }
        self.finish_connect(req, ConnAckProperties::default()).await;
    }

    /// One `on_auth_m5` step: at CONNECT, after an AUTH packet, or a re-authentication.
    async fn on_auth(&mut self, properties: AuthProperties, reauth: bool) {
        let id = match (&self.subscriber, &self.pending_connect) {
            (Some(s), _) if reauth => s.id.clone(),
            (_, Some(req)) => SubscriberId {
                mountpoint: self.listener.mountpoint.clone(),
                client_id: Arc::from(req.client_id.as_str()),
            },
            _ => return self.session.disconnect(ReasonCode::ProtocolError),
        };
        self.core.hooks.refresh(&mut self.chain);
        let result = self
            .chain
            .on_auth(&AuthRequest {
                username: self.username.as_ref(),
                subscriber_id: &id,
                properties: &properties,
            })
            .await;
        match result {
            Ok(AuthModifiers {
                reason_code: AuthStep::Continue,
                properties,
            }) => self.session.continue_auth(auth_reply(properties)),
            Ok(AuthModifiers { properties, .. }) if reauth => {
                self.session.reauth_success(auth_reply(properties));
            }
            Ok(AuthModifiers { properties, .. }) => {
                if let Some(req) = self.pending_connect.take() {
                    let connack = ConnAckProperties {
                        authentication_method: properties.authentication_method,
                        authentication_data: properties.authentication_data,
                        reason_string: properties.reason_string,
                        ..ConnAckProperties::default()
                    };
                    self.finish_connect(*req, connack).await;
                }
            }
            Err(code) => {
                debug!(client_id = %id, ?code, "on_auth_m5 refused");
                if reauth {
                    self.session.disconnect(code);
                } else {
                    self.pending_connect = None;
                    self.refuse(code);
                }
            }
        }
    }

    async fn finish_connect(&mut self, req: ConnectRequest, mut connack: ConnAckProperties) {
        let v5 = req.protocol == ProtocolVersion::V5;
        let mut id = SubscriberId {
            mountpoint: self.listener.mountpoint.clone(),
            client_id: Arc::from(req.client_id.as_str()),
        };
        let mut clean_start = req.clean_start;
        let mut session_expiry_interval = req.session_expiry_interval;
        self.username = self
            .preauth_username
            .clone()
            .or_else(|| req.username.clone());
        self.core.hooks.refresh(&mut self.chain);
        if !self.listener.allow_anonymous {
            let result = self
                .chain
                .auth_on_register(&RegisterRequest {
                    peer: self.peer,
                    subscriber_id: &id,
                    username: self.username.as_ref(),
                    password: req.password.as_ref(),
                    clean_start: req.clean_start,
                    properties: v5.then_some(&req.connect.properties),
                })
                .await;
            self.trace_hook(
                &id.client_id,
                || {
                    format!(
                        "auth_on_register({}, {{{:?}, {:?}}}, {}, {}, {})",
                        self.peer,
                        id.mountpoint,
                        id.client_id,
                        self.username.as_ref().map_or("undefined", |u| u.as_str()),
                        if req.password.is_some() {
                            "******"
                        } else {
                            "undefined"
                        },
                        req.clean_start
                    )
                },
                &hook_result(&result),
            );
            match result {
                Err(code) => {
                    debug!(client_id = %id, ?code, "auth_on_register refused");
                    return self.refuse(code);
                }
                Ok(m) => {
                    if let Some(new_id) = m.subscriber_id.clone() {
                        id = new_id;
                    }
                    if let Some(user) = m.username.clone() {
                        self.username = Some(user);
                    }
                    clean_start = m.clean_session.unwrap_or(clean_start);
                    session_expiry_interval =
                        m.session_expiry_interval.unwrap_or(session_expiry_interval);
                    if let Some(props) = m.user_properties.clone() {
                        connack.user_properties = props;
                    }
                    self.apply_session_modifiers(&m);
                }
            }
        }
        let persistence = if v5 {
            SessionPersistence {
                clean_start,
                persistent: session_expiry_interval > 0,
                session_expiry_interval,
                protocol: 5,
            }
        } else {
            SessionPersistence {
                clean_start,
                persistent: !clean_start,
                session_expiry_interval: u32::MAX,
                protocol: req.protocol.level(),
            }
        };
        if let Some(will) = &req.will {
            let requested = will.properties.will_delay_interval.unwrap_or(0);
            let cap = self.listener.session.max_last_will_delay.as_secs();
            self.will_delay_secs = requested.min(u32::try_from(cap).unwrap_or(u32::MAX));
        }
        let registered = self
            .core
            .register(id.clone(), self.conn_id, self.handle.clone(), persistence)
            .await;
        {
            let mut state = registered.subscriber.state.lock();
            state.info = SessionInfo {
                peer: Some(self.peer),
                user: req.username.as_ref().map(|u| u.as_str().to_string()),
                protocol: req.protocol.level(),
                clean_session: req.clean_start,
                session_started_at: unix_micros(),
                queue_started_at: state.info.queue_started_at,
            };
        }
        self.subscriber = Some(registered.subscriber);
        self.session.accept_connect(
            Instant::now(),
            ConnectAccepted {
                session_present: registered.session_present,
                resume: registered.resume,
                properties: connack,
            },
        );
        // CONNACK counters are counted from the bytes sent (`Metrics::count_sent`).
        self.chain.on_register(&RegisterEvent {
            peer: self.peer,
            subscriber_id: &id,
            username: self.username.as_ref(),
            properties: v5.then_some(&req.connect.properties),
        });
        self.chain.on_client_wakeup(&id);
        debug!(client_id = %id, peer = %self.peer, "connected");
    }

    /// Session settings changed by `auth_on_register` modifiers.
    fn apply_session_modifiers(&mut self, m: &RegisterModifiers) {
        if m.max_message_size.is_none()
            && m.max_message_rate.is_none()
            && m.max_inflight_messages.is_none()
            && m.retry_interval.is_none()
            && m.upgrade_qos.is_none()
        {
            return;
        }
        let mut config = SessionConfig::clone(self.session.config());
        if let Some(size) = m.max_message_size {
            config.max_packet_size = size;
            self.limits = DecodeLimits::new(size);
        }
        if let Some(rate) = m.max_message_rate {
            config.max_message_rate = rate;
        }
        if let Some(n) = m.max_inflight_messages {
            config.max_inflight_messages = n;
        }
        if let Some(interval) = m.retry_interval {
            config.retry_interval = interval;
        }
        if let Some(upgrade) = m.upgrade_qos {
            config.upgrade_outgoing_qos = upgrade;
        }
        self.session.set_config(Arc::new(config));
    }

    fn refuse(&mut self, code: ReasonCode) {
        // CONNACK counters are counted from the bytes sent (`Metrics::count_sent`).
        self.session.refuse_connect(code);
    }

    /// An incoming publish: authorized (without waiting when the plugins answer at once),
    /// routed and acknowledged.
    fn on_publish(&mut self, publish: Box<Publish>, now: Instant) -> Option<Slow> {
        self.with_subscriber(|conn, subscriber| conn.on_publish_by(subscriber, publish, now))?
    }

    /// Runs `work` with the registered subscriber lent out of `self.subscriber`: a move, not an
    /// `Arc` clone, whose reference count shares a cache line with the queue's lock that
    /// publishers on the other core take (a clone per packet showed in profiles). `None` before
    /// registration.
    #[inline]
    fn with_subscriber<R>(
        &mut self,
        work: impl FnOnce(&mut Self, &Arc<Subscriber>) -> R,
    ) -> Option<R> {
        let subscriber = self.subscriber.take()?;
        let result = work(self, &subscriber);
        if self.subscriber.is_none() {
            self.subscriber = Some(subscriber);
        }
        Some(result)
    }

    fn on_publish_by(
        &mut self,
        subscriber: &Arc<Subscriber>,
        publish: Box<Publish>,
        now: Instant,
    ) -> Option<Slow> {
        self.core.hooks.refresh(&mut self.chain);
        // VerneMQ keeps `$` topics for the broker (`$SYS`): a client's publish there is
        // accepted and acknowledged, but not routed.
        let authorized = if publish.topic.starts_with('$') {
            None
        } else if self.listener.allow_anonymous {
            Some(Ok(PublishModifiers::default()))
        } else {
            let decided = self
                .chain
                .auth_on_publish_now(&self.publish_request(subscriber, &publish));
            match decided {
                Now::Ready(result) => {
                    self.trace_publish_auth(subscriber, &publish, &result);
                    Some(result)
                }
                Now::Waiting(pending) => {
                    return Some(Slow::Publish(Box::new(SlowPublish { publish, pending })))
                }
            }
        };
        self.publish_authorized(subscriber, publish, authorized, now);
        None
    }

    /// What the publish hooks see of `publish`.
    fn publish_request<'a>(
        &'a self,
        subscriber: &'a Subscriber,
        publish: &'a Publish,
    ) -> PublishRequest<'a> {
        PublishRequest {
            username: self.username.as_ref(),
            subscriber_id: &subscriber.id,
            qos: publish.qos,
            topic: &publish.topic,
            payload: &publish.payload,
            retain: publish.retain,
            properties: self
                .session
                .version()
                .is_v5()
                .then_some(&publish.properties),
        }
    }

    /// Routes an authorized publish (`None`: a `$` topic, acknowledged but not routed) and
    /// acknowledges it, or refuses it.
    fn publish_authorized(
        &mut self,
        subscriber: &Arc<Subscriber>,
        mut publish: Box<Publish>,
        authorized: Option<Result<PublishModifiers, ReasonCode>>,
        now: Instant,
    ) {
        let (qos, packet_id) = (publish.qos, publish.packet_id);
        let mut durable = None;
        let code = match authorized {
            None => ReasonCode::Success,
            Some(Err(code)) => {
                let v = MqttVersion::from(self.session.version());
                self.core.metrics.incr_v(Counter::MqttPublishAuthError, v);
                // VerneMQ (vmq_mqtt_fsm): an MQTT 3.1.1 client is disconnected; a 3.1 client
                // too with `disconnect_on_unauthorized_publish_v3`, otherwise acknowledged below.
                let version = self.session.version();
                if version == ProtocolVersion::V3_1_1
                    || (version == ProtocolVersion::V3_1
                        && self.core.config.disconnect_on_unauthorized_publish_v3)
                {
                    debug!(client_id = %subscriber.id, "unauthorized publish; disconnecting");
                    self.session.disconnect(code);
                    return;
                }
                code
            }
            Some(Ok(modifiers)) => {
                let mountpoint = apply_publish_modifiers(&mut publish, modifiers)
                    .unwrap_or_else(|| subscriber.id.mountpoint.clone());
                if !self.chain.is_empty() {
                    self.chain
                        .on_publish(&self.publish_request(subscriber, &publish));
                }
                let msg = self.message_from(publish, now);
                let outcome =
                    self.core
                        .publish(&mountpoint, Some(subscriber), msg, now, &mut self.matches);
                durable = outcome.durable;
                self.woke_subscribers |= outcome.woken > 0;
                // Only with `publish_backpressure`, and never for QoS 0, whose messages are
                // dropped by the queue's policy (and counted) under overload.
                if let Some(pressured) = outcome.under_pressure {
                    if pressured.wait_for_room(&self.handle, now) {
                        self.core.metrics.incr(Counter::PublishBackoff);
                        self.held_until = Some(now + PUBLISH_HOLD_MAX);
                    }
                }
                ReasonCode::Success
            }
        };
        if qos != QoS::AtMostOnce {
            // MQTT 3.1 has no way to tell a refusal; the message is dropped and acknowledged.
            let code = if self.session.version().is_v5() {
                code
            } else {
                ReasonCode::Success
            };
            // Acknowledgements leave in arrival order; one that waits for the store holds back
            // those behind it.
            self.pending_acks.push_back(PendingAck {
                packet_id,
                qos,
                code,
                durable,
            });
            self.release_acks();
        }
    }

    /// Sends the acknowledgements at the front that no longer wait for the store.
    fn release_acks(&mut self) {
        while self
            .pending_acks
            .front()
            .is_some_and(|p| p.durable.is_none())
        {
            if let Some(ack) = self.pending_acks.pop_front() {
                // PUBACK / PUBREC are counted from the bytes sent (`Metrics::count_sent`).
                self.session.publish_done(ack.packet_id, ack.qos, ack.code);
            }
        }
    }

    /// Traces an `auth_on_publish` call and its answer.
    fn trace_publish_auth(
        &self,
        subscriber: &Subscriber,
        publish: &Publish,
        result: &Result<PublishModifiers, ReasonCode>,
    ) {
        self.trace_hook(
            &subscriber.id.client_id,
            || {
                format!(
                    "auth_on_publish({}, {{{:?}, {:?}}}, {}, {:?}, {})",
                    self.username.as_ref().map_or("undefined", |u| u.as_str()),
                    subscriber.id.mountpoint,
                    subscriber.id.client_id,
                    publish.qos as u8,
                    publish.topic.as_str(),
                    publish.retain
                )
            },
            &hook_result(result),
        );
    }

    fn message_from(&self, publish: Box<Publish>, now: Instant) -> Arc<Message> {
        let publish = *publish;
        let props = publish.properties;
        let expires_at = props
            .message_expiry_interval
            .map(|s| now + Duration::from_secs(u64::from(s)));
        Arc::new(Message {
            id: self.core.next_msg_id(),
            topic: publish.topic,
            payload: publish.payload,
            qos: publish.qos,
            retain: publish.retain,
            properties: PublishProperties {
                payload_format_indicator: props.payload_format_indicator,
                message_expiry_interval: None,
                topic_alias: None,
                response_topic: props.response_topic,
                correlation_data: props.correlation_data,
                user_properties: props.user_properties,
                subscription_identifiers: Vec::new(),
                content_type: props.content_type,
            },
            expires_at,
        })
    }

    async fn on_subscribe(&mut self, subscribe: Subscribe) {
        let Some(subscriber) = self.subscriber.clone() else {
            return;
        };
        let v5 = self.session.version().is_v5();
        let refusal = |code: ReasonCode| {
            if v5 {
                code
            } else {
                ReasonCode::UnspecifiedError
            }
        };
        let max_depth = self.core.config.topic_max_depth;
        // One code per requested filter; `None` until the hooks and the router decided.
        let mut codes: Vec<Option<ReasonCode>> = Vec::with_capacity(subscribe.filters.len());
        // The valid filters, with the index of their code.
        let mut slots = Vec::with_capacity(subscribe.filters.len());
        let mut topics = Vec::with_capacity(subscribe.filters.len());
        for entry in &subscribe.filters {
            let parsed = vmq_router::parse_subscription(entry.filter.as_str(), max_depth);
            let Ok(parsed) = parsed else {
                self.core.metrics.incr_v(
                    Counter::MqttSubscribeError,
                    MqttVersion::from(self.session.version()),
                );
                codes.push(Some(refusal(ReasonCode::TopicFilterInvalid)));
                continue;
            };
            if parsed.is_shared() && entry.options.no_local {
                // MQTT-3.8.3-4: no local on a shared subscription is a protocol error.
                self.session.disconnect(ReasonCode::ProtocolError);
                return;
            }
            slots.push(codes.len());
            codes.push(None);
            topics.push(SubscribeTopic {
                filter: entry.filter.clone(),
                grant: Ok(entry.options),
            });
        }
        self.core.hooks.refresh(&mut self.chain);
        let properties = v5.then_some(&subscribe.properties);
        if !self.listener.allow_anonymous && !topics.is_empty() {
            let result = self
                .chain
                .auth_on_subscribe(&SubscribeRequest {
                    username: self.username.as_ref(),
                    subscriber_id: &subscriber.id,
                    topics: &topics,
                    properties,
                })
                .await;
            self.trace_hook(
                &subscriber.id.client_id,
                || {
                    let mut call = format!(
                        "auth_on_subscribe({}, {{{:?}, {:?}}}) with topics:",
                        self.username.as_ref().map_or("undefined", |u| u.as_str()),
                        subscriber.id.mountpoint,
                        subscriber.id.client_id
                    );
                    for t in &topics {
                        let q = t.grant.map_or(0x80, |o| o.qos as u8);
                        call.push_str(&format!("\n    q:{q}, t: {:?}", t.filter.as_str()));
                    }
                    call
                },
                &match &result {
                    Ok(_) => "ok".to_string(),
                    Err(code) => format!("error: {code:?}"),
                },
            );
            match result {
                Ok(None) => {}
                Ok(Some(rewritten)) => {
                    // One entry per requested topic; a shorter list refuses the rest.
                    let missing = topics.len().saturating_sub(rewritten.len());
                    topics = rewritten;
                    topics.extend((0..missing).map(|i| SubscribeTopic {
                        filter: Utf8Str::from(format!("<refused {i}>")),
                        grant: Err(ReasonCode::NotAuthorized),
                    }));
                }
                Err(code) => {
                    for topic in &mut topics {
                        topic.grant = Err(code);
                    }
                }
            }
        }
        let mut retained = Vec::new();
        for (i, topic) in topics.iter_mut().enumerate() {
            let code = match topic.grant {
                Err(code) => {
                    let v = MqttVersion::from(self.session.version());
                    self.core.metrics.incr_v(Counter::MqttSubscribeAuthError, v);
                    refusal(code)
                }
                Ok(options) => {
                    let opts = SubOptions {
                        qos: options.qos,
                        no_local: options.no_local,
                        retain_as_published: options.retain_as_published,
                        retain_handling: options.retain_handling,
                        subscription_id: subscribe.properties.subscription_identifier,
                    };
                    match self
                        .core
                        .subscribe(&subscriber, topic.filter.as_str(), opts)
                    {
                        Ok(is_new) => {
                            retained.push((topic.filter.as_str().to_owned(), opts, is_new));
                            granted(options.qos)
                        }
                        Err(e) => {
                            debug!(error = %e, "subscribe refused by the router");
                            self.core.metrics.incr_v(
                                Counter::MqttSubscribeError,
                                MqttVersion::from(self.session.version()),
                            );
                            topic.grant = Err(ReasonCode::TopicFilterInvalid);
                            refusal(ReasonCode::TopicFilterInvalid)
                        }
                    }
                }
            };
            if let Some(slot) = slots.get(i) {
                codes[*slot] = Some(code);
            }
        }
        if !self.chain.is_empty() && !topics.is_empty() {
            self.chain.on_subscribe(&SubscribeRequest {
                username: self.username.as_ref(),
                subscriber_id: &subscriber.id,
                topics: &topics,
                properties,
            });
        }
        let codes = codes
            .into_iter()
            .map(|c| c.unwrap_or(refusal(ReasonCode::NotAuthorized)))
            .collect();
        self.session.subscribe_done(subscribe.packet_id, codes);
        let now = Instant::now();
        for (filter, opts, is_new) in retained {
            self.core
                .send_retained(&subscriber, &filter, opts, is_new, now);
        }
    }

    async fn on_unsubscribe(&mut self, unsubscribe: Unsubscribe) {
        let Some(subscriber) = self.subscriber.clone() else {
            return;
        };
        self.core.hooks.refresh(&mut self.chain);
        let rewritten = if self.chain.is_empty() {
            None
        } else {
            self.chain
                .on_unsubscribe(&UnsubscribeRequest {
                    username: self.username.as_ref(),
                    subscriber_id: &subscriber.id,
                    topics: &unsubscribe.filters,
                    properties: self
                        .session
                        .version()
                        .is_v5()
                        .then_some(&unsubscribe.properties),
                })
                .await
        };
        let filters = rewritten.as_ref().unwrap_or(&unsubscribe.filters);
        let mut codes: Vec<ReasonCode> = filters
            .iter()
            .map(|f| {
                if self.core.unsubscribe(&subscriber, f) {
                    ReasonCode::Success
                } else {
                    ReasonCode::NoSubscriptionExisted
                }
            })
            .collect();
        // A rewrite to another number of topics still answers every requested one.
        codes.resize(unsubscribe.filters.len(), ReasonCode::Success);
        self.session.unsubscribe_done(unsubscribe.packet_id, codes);
    }

    /// Moves deliveries from the queue into the session, as many as its window and the write
    /// buffer take. A delivery whose `on_deliver` waits for a plugin becomes slow work; the
    /// ones taken after it wait in `deliveries` for the next round.
    fn pull_deliveries(&mut self, unwritten: usize, now: Instant) -> Option<Slow> {
        self.with_subscriber(|conn, subscriber| {
            conn.pull_deliveries_for(subscriber, unwritten, now)
        })?
    }

    fn pull_deliveries_for(
        &mut self,
        subscriber: &Arc<Subscriber>,
        unwritten: usize,
        now: Instant,
    ) -> Option<Slow> {
        self.core.hooks.refresh(&mut self.chain);
        loop {
            if self.deliveries.is_empty() {
                let capacity = self.session.send_capacity().min(DELIVERY_BATCH);
                if capacity == 0 || unwritten + self.session.transmit().len() > WRITE_HIGH_WATER {
                    return None;
                }
                let (taken, metrics, deletes) = {
                    let mut state = subscriber.state.lock();
                    let taken = state
                        .queue
                        .take(&self.conn_id, capacity, now, &mut self.deliveries)
                        .unwrap_or(0);
                    // Deletes of stored copies wait for the client's acknowledgement; for QoS 0
                    // none will come, so a stored copy (if any) is done now.
                    state.drain_store_actions(None, true);
                    let qos0 = self
                        .deliveries
                        .iter()
                        .filter(|q| q.qos == QoS::AtMostOnce)
                        .map(|q| q.delivery.msg.id);
                    let deletes = BrokerCore::stored_entries_done(subscriber, &mut state, qos0);
                    state.release_waiting(now);
                    (taken, state.queue.take_metrics(), deletes)
                };
                self.core.submit(deletes);
                // `queue_message_out` (and expiries met on the way) come from the queue's own
                // counters, the one place they are counted.
                self.core.add_queue_metrics(&metrics);
                if taken == 0 {
                    return None;
                }
            }
            let mut batch = std::mem::take(&mut self.deliveries);
            let mut rest = batch.drain(..);
            while let Some(mut queued) = rest.next() {
                if !self.chain.is_empty() {
                    let decided = self
                        .chain
                        .on_deliver_now(&self.deliver_request(&subscriber.id, &queued.delivery));
                    match decided {
                        Now::Ready(modifiers) => {
                            if let Some(m) = modifiers {
                                apply_deliver_modifiers(&mut queued.delivery, m);
                            }
                        }
                        Now::Waiting(pending) => {
                            self.deliveries = rest.collect();
                            return Some(Slow::Deliver(Box::new(SlowDeliver { queued, pending })));
                        }
                    }
                }
                self.deliver(now, queued);
            }
            drop(rest);
            self.deliveries = batch;
        }
    }

    /// Hands one delivery to the session.
    fn deliver(&mut self, now: Instant, queued: QueuedDelivery) {
        if let Err(delivery) = self.session.deliver(now, queued.delivery) {
            // Cannot happen while the window is respected; never lose it silently.
            warn!(topic = %delivery.msg.topic, "delivery refused by a full window");
            self.core.metrics.incr(Counter::QueueMessageDrop);
        }
    }

    /// What `on_deliver(_m5)` sees of one delivery.
    fn deliver_request<'a>(
        &'a self,
        id: &'a SubscriberId,
        delivery: &'a Delivery,
    ) -> PublishRequest<'a> {
        let msg = &delivery.msg;
        PublishRequest {
            username: self.username.as_ref(),
            subscriber_id: id,
            qos: msg.qos,
            topic: &msg.topic,
            payload: &msg.payload,
            retain: delivery.retain,
            properties: self.session.version().is_v5().then_some(&msg.properties),
        }
    }

    fn on_closed(
        &mut self,
        reason: CloseReason,
        will: Option<Box<vmq_codec::LastWill>>,
        expiry: u32,
    ) {
        self.closed = true;
        match reason {
            CloseReason::KeepAliveTimeout => warn!(
                client_id = %self.session.client_id(),
                peer = %self.peer,
                "client stopped due to keepalive expired"
            ),
            CloseReason::ProtocolViolation(code) => debug!(
                client_id = %self.session.client_id(),
                ?code,
                "closed after a protocol violation"
            ),
            _ => debug!(client_id = %self.session.client_id(), ?reason, "closed"),
        }
        let Some(subscriber) = self.subscriber.take() else {
            self.ack_disconnects();
            return;
        };
        let v5_expiry = self.session.version().is_v5().then_some(expiry);
        let inflight = self.session.take_inflight();
        self.core
            .unregister(&subscriber, self.conn_id, inflight, v5_expiry);
        self.ack_disconnects();
        let suppress = matches!(
            reason,
            CloseReason::ServerDisconnect(ReasonCode::SessionTakenOver)
        ) && self.core.config.suppress_lwt_on_session_takeover;
        if let Some(will) = will.filter(|_| !suppress) {
            let mut delay = Duration::from_secs(u64::from(self.will_delay_secs));
            if self.session.version().is_v5() {
                // MQTT-3.1.3-9: the will is sent when the session ends, if that is earlier.
                delay = delay.min(Duration::from_secs(u64::from(expiry)));
            }
            self.core.schedule_will(
                Some(subscriber.clone()),
                subscriber.id.mountpoint.clone(),
                *will,
                delay,
            );
        }
    }

    fn ack_disconnects(&mut self) {
        for ack in self.disconnect_acks.drain(..) {
            let _ = ack.send(());
        }
    }
}

fn granted(qos: QoS) -> ReasonCode {
    match qos {
        QoS::AtMostOnce => ReasonCode::Success,
        QoS::AtLeastOnce => ReasonCode::GrantedQoS1,
        QoS::ExactlyOnce => ReasonCode::GrantedQoS2,
    }
}

/// `auth_on_publish` modifiers applied to the incoming publish; the mountpoint to route in
/// when it changed.
fn apply_publish_modifiers(publish: &mut Publish, m: PublishModifiers) -> Option<Arc<str>> {
    if let Some(topic) = m.topic {
        publish.topic = topic;
    }
    if let Some(payload) = m.payload {
        publish.payload = payload;
    }
    if let Some(qos) = m.qos {
        publish.qos = qos;
    }
    if let Some(retain) = m.retain {
        publish.retain = retain;
    }
    m.properties.apply(&mut publish.properties);
    m.mountpoint
}

/// `on_deliver(_m5)` modifiers: a plugin may rewrite topic, payload (and MQTT 5 properties)
/// of this one delivery; the shared message stays as it is for the other subscribers.
fn apply_deliver_modifiers(delivery: &mut Delivery, m: DeliverModifiers) {
    let mut changed = Message::clone(&delivery.msg);
    if let Some(topic) = m.topic {
        changed.topic = topic;
    }
    if let Some(payload) = m.payload {
        changed.payload = payload;
    }
    m.properties.apply(&mut changed.properties);
    delivery.msg = Arc::new(changed);
}

/// The AUTH properties sent back to the client: method, data and reason string (VerneMQ
/// filters the plugin's answer the same way).
fn auth_reply(p: AuthProperties) -> AuthProperties {
    AuthProperties {
        authentication_method: p.authentication_method,
        authentication_data: p.authentication_data,
        reason_string: p.reason_string,
        user_properties: Vec::new(),
    }
}

/// How a trace shows a hook's answer.
fn hook_result<T>(result: &Result<T, ReasonCode>) -> String {
    match result {
        Ok(_) => "ok".to_string(),
        Err(code) => format!("error: {code:?}"),
    }
}
