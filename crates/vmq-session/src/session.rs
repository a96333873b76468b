//! `Session`: the state machine of one MQTT connection, from the first byte to the close. It takes
//! decoded packets, timer ticks and the broker's answers, and produces encoded bytes to send and
//! `Action`s for the broker. It never touches a socket or reads a clock: `now` is a parameter.

use std::{collections::VecDeque, sync::Arc, time::Duration, time::Instant};

use bytes::BytesMut;
use vmq_codec::{
    AckProperties, Auth, AuthProperties, ConnAck, ConnAckProperties, Connect, DecodeError,
    Disconnect, DisconnectProperties, LastWill, Packet, ProtocolVersion, PubAck, PubComp, PubRec,
    PubRel, Publish, PublishView, QoS, ReasonCode, SubAck, Subscribe, UnsubAck, Unsubscribe,
    Utf8Str,
};

use crate::{
    alias::{AliasesIn, AliasesOut},
    config::SessionConfig,
    incoming_qos2::IncomingQos2,
    message::Delivery,
};

/// Where the session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for CONNECT.
    AwaitingConnect,
    /// CONNECT received; the broker is authenticating and registering the client.
    Connecting,
    /// MQTT 5 enhanced authentication exchange before CONNACK.
    Authenticating,
    /// CONNACK sent with success.
    Connected,
    /// The session is over; the driver flushes what is left to send and closes the socket.
    Closed,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent DISCONNECT with this reason code (Success for 3.x).
    ClientDisconnect(ReasonCode),
    /// The socket closed or failed without DISCONNECT.
    ConnectionLost,
    /// Nothing received for 1.5 times the keep alive.
    KeepAliveTimeout,
    /// No CONNECT within `mqtt_connect_timeout`.
    ConnectTimeout,
    /// CONNECT refused with this reason code.
    ConnectRefused(ReasonCode),
    /// The client broke the protocol; the reason code was sent (MQTT 5) or implied.
    ProtocolViolation(ReasonCode),
    /// The broker ended the session (takeover, administrative action, shutdown).
    ServerDisconnect(ReasonCode),
}

impl CloseReason {
    /// Whether the will message is published for this close (MQTT-3.1.2-8, MQTT-3.14.4-3).
    pub fn publishes_will(self) -> bool {
        match self {
            CloseReason::ClientDisconnect(code) => code == ReasonCode::DisconnectWithWillMessage,
            CloseReason::ConnectRefused(_) | CloseReason::ConnectTimeout => false,
            _ => true,
        }
    }
}

/// What the client asked for in CONNECT, validated, for the broker to authenticate and register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    /// Protocol level.
    pub protocol: ProtocolVersion,
    /// Bridge bit of the protocol level.
    pub bridge: bool,
    /// Client identifier (assigned by the session when the client sent an empty one).
    pub client_id: Utf8Str,
    /// True when `client_id` was assigned by the broker.
    pub client_id_assigned: bool,
    /// Clean session / clean start.
    pub clean_start: bool,
    /// Keep alive in seconds.
    pub keep_alive: u16,
    /// User name.
    pub username: Option<Utf8Str>,
    /// Password.
    pub password: Option<bytes::Bytes>,
    /// Will message.
    pub will: Option<LastWill>,
    /// MQTT 5 session expiry interval (0 when absent; `u32::MAX` never expires).
    pub session_expiry_interval: u32,
    /// The whole CONNECT, for hooks that want its properties.
    pub connect: Box<Connect>,
}

/// A request from the session to the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Authenticate and register the client; answer with [`Session::accept_connect`] or
    /// [`Session::refuse_connect`] (or [`Session::continue_auth`] for enhanced auth).
    Connect(Box<ConnectRequest>),
    /// MQTT 5 enhanced authentication step (`on_auth_m5`); answer with
    /// [`Session::continue_auth`], [`Session::accept_connect`] / [`Session::reauth_success`], or
    /// [`Session::disconnect`].
    Auth {
        /// AUTH properties sent by the client.
        properties: Box<AuthProperties>,
        /// True when this is a re-authentication of a connected client.
        reauth: bool,
    },
    /// Route an incoming application message. For QoS 1 and 2 answer with
    /// [`Session::publish_done`] once it is routed (and persisted where it must be). The topic
    /// alias, if any, is already resolved into `topic`.
    Publish(Box<Publish>),
    /// Subscribe; answer with [`Session::subscribe_done`].
    Subscribe(Box<Subscribe>),
    /// Unsubscribe; answer with [`Session::unsubscribe_done`].
    Unsubscribe(Box<Unsubscribe>),
    /// An outgoing QoS 1/2 message was acknowledged by the client (PUBACK or PUBCOMP): the
    /// broker may forget it (delete it from the store).
    Acknowledged(Delivery),
    /// A delivery was not sent because it expired or exceeded the client's Maximum Packet Size.
    Dropped(Delivery, DropReason),
    /// The session is over. The will (if it must be published) and the final session expiry
    /// interval are in here.
    Closed {
        /// Why.
        reason: CloseReason,
        /// The will to publish (after its delay), when `reason` calls for it.
        will: Option<Box<LastWill>>,
        /// MQTT 5 session expiry interval in force at the end (DISCONNECT may change it).
        session_expiry_interval: u32,
    },
}

/// Why a delivery was dropped by the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The message expired before it could be sent.
    Expired,
    /// The encoded PUBLISH is larger than the client's Maximum Packet Size.
    PacketTooLarge,
}

/// The broker's positive answer to [`Action::Connect`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectAccepted {
    /// Session present flag for CONNACK.
    pub session_present: bool,
    /// MQTT 5: properties the broker wants added to CONNACK (authentication method/data,
    /// reason string, user properties).
    pub properties: ConnAckProperties,
    /// QoS 1/2 messages that were in flight when the previous connection ended; they are resent
    /// first (PUBLISH with DUP, or PUBREL).
    pub resume: Vec<Inflight>,
}

/// How many steps the packet id allocator takes from `from` to `to` (ids 1..=65535 wrap).
fn id_distance(from: u16, to: u16) -> u32 {
    let (from, to) = (u32::from(from), u32::from(to));
    if to >= from {
        to - from
    } else {
        to + 65535 - from
    }
}

/// An outgoing QoS 1/2 message that the client has not acknowledged completely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inflight {
    /// Packet identifier used for it.
    pub packet_id: u16,
    /// QoS it was sent with.
    pub qos: QoS,
    /// PUBLISH sent and not acknowledged (false: PUBREC received, PUBREL sent).
    pub awaiting_ack: bool,
    /// The delivery.
    pub delivery: Delivery,
    sent_at: Instant,
}

/// Counters a driver reads for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// PUBLISH packets received.
    pub publish_received: u64,
    /// PUBLISH packets sent.
    pub publish_sent: u64,
    /// Deliveries dropped by the session.
    pub publish_dropped: u64,
    /// Resends of unacknowledged messages.
    pub retries: u64,
}

/// One MQTT connection's protocol state.
#[derive(Debug)]
pub struct Session {
    config: Arc<SessionConfig>,
    state: State,
    version: ProtocolVersion,
    client_id: Utf8Str,
    client_id_assigned: bool,
    keep_alive: Duration,
    last_received: Instant,
    connect_deadline: Instant,
    out: BytesMut,
    actions: VecDeque<Action>,
    /// Boxed: most sessions have none, and a will with its MQTT 5 properties is large.
    will: Option<Box<LastWill>>,
    session_expiry_interval: u32,
    auth_method: Option<Utf8Str>,
    // Outgoing flow.
    inflight: VecDeque<Inflight>,
    /// No entry of `inflight` was sent before this (a lower bound, exact after a retry): the
    /// retry timer is armed from it without a scan per round.
    retry_floor: Option<Instant>,
    /// The packet ids of `inflight`, read from the front, go forward in the allocator's order
    /// (false once a pushed entry's id does not lie beyond the back's, until `inflight`
    /// empties): the ids in use then lie between the front's and the back's, and a new id
    /// needs no scan.
    ids_in_order: bool,
    send_window: usize,
    client_receive_max: u16,
    next_packet_id: u16,
    client_max_packet_size: u32,
    request_problem_information: bool,
    aliases_out: AliasesOut,
    // Incoming flow.
    aliases_in: AliasesIn,
    /// QoS 1 publishes handed to the broker and not yet acknowledged.
    incoming_qos1_pending: u16,
    /// QoS 2 packet ids not yet released, with whether PUBREC was sent (false while the broker
    /// routes the message).
    incoming_qos2: IncomingQos2,
    rate_window_start: Instant,
    rate_count: u32,
    read_paused_until: Option<Instant>,
    stats: SessionStats,
}

const UNLIMITED_WINDOW: usize = u16::MAX as usize;

impl Session {
    /// A session for a socket accepted at `now`.
    pub fn new(config: Arc<SessionConfig>, now: Instant) -> Self {
        let connect_deadline = now + config.connect_timeout;
        Session {
            config,
            state: State::AwaitingConnect,
            version: ProtocolVersion::V3_1_1,
            client_id: Utf8Str::new(),
            client_id_assigned: false,
            keep_alive: Duration::ZERO,
            last_received: now,
            connect_deadline,
            out: BytesMut::new(),
            actions: VecDeque::new(),
            will: None,
            session_expiry_interval: 0,
            auth_method: None,
            inflight: VecDeque::new(),
            retry_floor: None,
            ids_in_order: true,
            send_window: 0,
            client_receive_max: u16::MAX,
            next_packet_id: 1,
            client_max_packet_size: 0,
            request_problem_information: true,
            aliases_out: AliasesOut::default(),
            aliases_in: AliasesIn::default(),
            incoming_qos1_pending: 0,
            incoming_qos2: IncomingQos2::default(),
            rate_window_start: now,
            rate_count: 0,
            read_paused_until: None,
            stats: SessionStats::default(),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The protocol version (meaningful once CONNECT was received).
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// The client identifier (empty before CONNECT).
    pub fn client_id(&self) -> &Utf8Str {
        &self.client_id
    }

    /// True once the session is over.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Counters for metrics.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// Bytes ready to be written to the socket. The driver takes them with `split()` (or writes
    /// and clears them); packets are encoded as soon as they are produced.
    pub fn transmit(&mut self) -> &mut BytesMut {
        &mut self.out
    }

    /// The next request for the broker, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Releases the action queue's memory once it is empty. The connection calls this after
    /// rare, action-heavy moments (CONNECT, SUBSCRIBE), so an idle connection keeps no queue
    /// sized for them, while a busy one does not reallocate per packet.
    pub fn release_idle_memory(&mut self) {
        if self.actions.is_empty() {
            self.actions = VecDeque::new();
        }
    }

    /// When [`Session::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::AwaitingConnect | State::Connecting | State::Authenticating => {
                Some(self.connect_deadline)
            }
            State::Connected => {
                let keepalive = (!self.keep_alive.is_zero())
                    .then(|| self.last_received + self.keep_alive * 3 / 2);
                let retry = self.retry_deadline();
                let pause = self.read_paused_until;
                [keepalive, retry, pause].into_iter().flatten().min()
            }
            State::Closed => None,
        }
    }

    /// While `Some(t)` and `now < t`, the driver must not read from the socket
    /// (`max_message_rate`).
    pub fn read_paused_until(&self) -> Option<Instant> {
        self.read_paused_until
    }

    /// How many more messages the session takes now: for QoS 1/2 the free inflight window. A
    /// driver pulls at most this many deliveries from the queue.
    pub fn send_capacity(&self) -> usize {
        if self.state != State::Connected {
            return 0;
        }
        self.send_window.saturating_sub(self.inflight.len())
    }

    /// Messages in flight towards the client.
    pub fn inflight_len(&self) -> usize {
        self.inflight.len()
    }

    /// Timer tick.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::AwaitingConnect | State::Connecting | State::Authenticating => {
                if now >= self.connect_deadline {
                    self.close(CloseReason::ConnectTimeout);
                }
            }
            State::Connected => {
                if !self.keep_alive.is_zero() && now >= self.last_received + self.keep_alive * 3 / 2
                {
                    self.send_disconnect(ReasonCode::KeepAliveTimeout);
                    self.close(CloseReason::KeepAliveTimeout);
                    return;
                }
                if self.read_paused_until.is_some_and(|t| now >= t) {
                    self.read_paused_until = None;
                }
                self.retry(now);
            }
            State::Closed => {}
        }
    }

    /// The socket was closed by the peer or failed.
    pub fn handle_connection_lost(&mut self) {
        if self.state != State::Closed {
            self.close(CloseReason::ConnectionLost);
        }
    }

    /// A frame could not be decoded. MQTT 5 clients get the reason code (in CONNACK before the
    /// connection is established, in DISCONNECT after); the session closes.
    /// `frame` is what was received: at least the start of the offending packet (16 bytes are
    /// enough to tell a CONNECT's protocol version).
    pub fn handle_decode_error(&mut self, err: &DecodeError, frame: &[u8]) {
        let code = err.reason_code();
        match self.state {
            State::AwaitingConnect => {
                if let Some(version) = peek_connect_version(frame) {
                    self.version = version;
                    self.send_connack_refusal(code);
                } else if code == ReasonCode::UnsupportedProtocolVersion {
                    // MQTT-3.1.2-2: answer an unknown level with return code 0x01.
                    self.version = ProtocolVersion::V3_1_1;
                    self.send_connack_refusal(code);
                }
                self.close(CloseReason::ProtocolViolation(code));
            }
            State::Closed => {}
            _ => self.protocol_violation(code),
        }
    }

    /// A decoded packet arrived.
    #[inline]
    pub fn handle_packet(&mut self, now: Instant, packet: Packet) {
        if self.state == State::Closed {
            return;
        }
        self.last_received = now;
        match self.state {
            State::Connected => self.on_connected_packet(now, packet),
            State::AwaitingConnect => match packet {
                Packet::Connect(connect) => self.on_connect(now, *connect),
                // MQTT-3.1.0-1: the first packet must be CONNECT.
                _ => self.close(CloseReason::ProtocolViolation(ReasonCode::ProtocolError)),
            },
            State::Authenticating | State::Connecting => match packet {
                Packet::Auth(auth) if self.state == State::Authenticating => {
                    self.on_auth(*auth, false)
                }
                Packet::Disconnect(d) => self.on_disconnect(*d),
                // MQTT-3.1.0-2: a second CONNECT is a protocol violation, and so is anything
                // else before the CONNACK.
                _ => self.protocol_violation(ReasonCode::ProtocolError),
            },
            State::Closed => {}
        }
    }

    #[inline(always)]
    fn on_connected_packet(&mut self, now: Instant, packet: Packet) {
        match packet {
            Packet::Publish(publish) => self.on_publish(now, publish),
            Packet::PubAck(ack) => self.on_puback(ack.packet_id),
            Packet::PubRec(rec) => self.on_pubrec(now, rec),
            Packet::PubRel(rel) => self.on_pubrel(rel.packet_id),
            Packet::PubComp(comp) => self.on_pubcomp(comp.packet_id),
            Packet::Subscribe(sub) => self.actions.push_back(Action::Subscribe(Box::new(sub))),
            Packet::Unsubscribe(unsub) => {
                self.actions.push_back(Action::Unsubscribe(Box::new(unsub)))
            }
            Packet::PingReq => self.encode(&Packet::PingResp),
            Packet::Disconnect(d) => self.on_disconnect(*d),
            Packet::Auth(auth) => self.on_auth(*auth, true),
            // MQTT-3.1.0-2: a second CONNECT is a protocol violation; the others are packets
            // only a server sends.
            Packet::Connect(_)
            | Packet::ConnAck(_)
            | Packet::SubAck(_)
            | Packet::UnsubAck(_)
            | Packet::PingResp => self.protocol_violation(ReasonCode::ProtocolError),
        }
    }

    // ---------------------------------------------------------------- CONNECT

    fn on_connect(&mut self, now: Instant, connect: Connect) {
        self.version = connect.protocol;
        if !self
            .config
            .allowed_protocol_versions
            .contains(&connect.protocol.level())
        {
            return self.refuse_connect(ReasonCode::UnsupportedProtocolVersion);
        }
        let props = &connect.properties;
        if props.receive_maximum == Some(0) || props.maximum_packet_size == Some(0) {
            // MQTT-3.1.2-... : a value of 0 is a protocol error.
            self.send_connack_refusal(ReasonCode::ProtocolError);
            return self.close(CloseReason::ConnectRefused(ReasonCode::ProtocolError));
        }
        let mut client_id = connect.client_id.clone();
        let mut assigned = false;
        if client_id.is_empty() {
            let allowed = match connect.protocol {
                ProtocolVersion::V5 => true,
                // MQTT-3.1.3-7/8: a zero-byte client id needs clean session in 3.1.1.
                ProtocolVersion::V3_1_1 => connect.clean_start,
                // MQTT 3.1 requires 1 to 23 characters.
                ProtocolVersion::V3_1 => false,
            };
            if !allowed {
                return self.refuse_connect(ReasonCode::ClientIdentifierNotValid);
            }
            client_id = Utf8Str::from(generate_client_id());
            assigned = true;
        } else if client_id.len() > self.config.max_client_id_size {
            return self.refuse_connect(ReasonCode::ClientIdentifierNotValid);
        }
        self.client_id = client_id.clone();
        self.client_id_assigned = assigned;
        self.keep_alive = Duration::from_secs(u64::from(connect.keep_alive));
        self.session_expiry_interval = props.session_expiry_interval.unwrap_or(0);
        self.request_problem_information = props.request_problem_information.unwrap_or(true);
        self.client_max_packet_size = props.maximum_packet_size.unwrap_or(0);
        let client_receive_max = props
            .receive_maximum
            .unwrap_or(u16::MAX)
            .min(self.config.receive_max_client.max(1));
        self.client_receive_max = client_receive_max;
        self.send_window = self.window_for(client_receive_max);
        self.aliases_out = AliasesOut::new(
            props
                .topic_alias_maximum
                .unwrap_or(0)
                .min(self.config.topic_alias_max_broker),
        );
        self.aliases_in = AliasesIn::new(if self.version.is_v5() {
            self.config.topic_alias_max_client
        } else {
            0
        });
        self.rate_window_start = now;
        self.will = connect.will.clone().map(Box::new);
        self.auth_method = props.authentication_method.clone();
        self.state = State::Connecting;
        let request = ConnectRequest {
            protocol: connect.protocol,
            bridge: connect.bridge,
            client_id,
            client_id_assigned: assigned,
            clean_start: connect.clean_start,
            keep_alive: connect.keep_alive,
            username: connect.username.clone(),
            password: connect.password.clone(),
            will: connect.will.clone(),
            session_expiry_interval: self.session_expiry_interval,
            connect: Box::new(connect),
        };
        self.actions.push_back(Action::Connect(Box::new(request)));
    }

    fn window_for(&self, client_receive_max: u16) -> usize {
        let configured = match self.config.max_inflight_messages {
            0 => UNLIMITED_WINDOW,
            n => usize::from(n),
        };
        if self.version.is_v5() {
            configured.min(usize::from(client_receive_max))
        } else {
            configured
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &Arc<SessionConfig> {
        &self.config
    }

    /// Replaces the settings after CONNECT and before [`Session::accept_connect`] (plugin
    /// modifiers such as `max_inflight_messages`, `retry_interval`, `max_message_rate`); the
    /// send window is recomputed.
    pub fn set_config(&mut self, config: Arc<SessionConfig>) {
        self.config = config;
        self.send_window = self.window_for(self.client_receive_max);
    }

    /// The broker accepted the client: CONNACK (success) is sent and the session is connected.
    /// Messages that were in flight are resent first.
    pub fn accept_connect(&mut self, now: Instant, accepted: ConnectAccepted) {
        if !matches!(self.state, State::Connecting | State::Authenticating) {
            return;
        }
        let mut properties = accepted.properties;
        if self.version.is_v5() {
            if self.client_id_assigned {
                properties.assigned_client_identifier = Some(self.client_id.clone());
            }
            if self.config.receive_max_broker != u16::MAX {
                properties.receive_maximum = Some(self.config.receive_max_broker);
            }
            if self.config.topic_alias_max_client > 0 {
                properties.topic_alias_maximum = Some(self.config.topic_alias_max_client);
            }
            if self.config.max_packet_size > 0 {
                properties.maximum_packet_size = Some(self.config.max_packet_size);
            }
            properties.shared_subscription_available.get_or_insert(true);
            properties
                .wildcard_subscription_available
                .get_or_insert(true);
            properties
                .subscription_identifiers_available
                .get_or_insert(true);
            properties.retain_available.get_or_insert(true);
            if properties.authentication_method.is_none() {
                properties.authentication_method = self.auth_method.clone();
            }
        } else {
            properties = ConnAckProperties::default();
        }
        self.encode(&Packet::ConnAck(Box::new(ConnAck {
            session_present: accepted.session_present,
            reason_code: ReasonCode::Success,
            properties,
        })));
        self.state = State::Connected;
        self.last_received = now;
        for mut entry in accepted.resume {
            entry.packet_id = if entry.packet_id == 0 || self.packet_id_in_use(entry.packet_id) {
                self.allocate_packet_id()
            } else {
                entry.packet_id
            };
            entry.sent_at = now;
            self.resend(&entry);
            self.push_inflight(entry);
        }
    }

    /// The broker refused the client: CONNACK with `code` (mapped to a 3.x return code for old
    /// clients) and close. No will is published.
    pub fn refuse_connect(&mut self, code: ReasonCode) {
        self.send_connack_refusal(code);
        self.close(CloseReason::ConnectRefused(code));
    }

    /// MQTT 5 enhanced authentication continues: send AUTH (Continue authentication) with the
    /// plugin's method and data.
    pub fn continue_auth(&mut self, properties: AuthProperties) {
        if matches!(self.state, State::Connecting) {
            self.state = State::Authenticating;
        }
        self.encode(&Packet::Auth(Box::new(Auth {
            reason_code: ReasonCode::ContinueAuthentication,
            properties,
        })));
    }

    /// Re-authentication of a connected client succeeded: send AUTH (Success).
    pub fn reauth_success(&mut self, properties: AuthProperties) {
        self.encode(&Packet::Auth(Box::new(Auth {
            reason_code: ReasonCode::Success,
            properties,
        })));
    }

    fn on_auth(&mut self, auth: Auth, reauth: bool) {
        let method_matches =
            self.auth_method.is_some() && auth.properties.authentication_method == self.auth_method;
        if !method_matches {
            // MQTT-4.12.0-5 / 4.12.1-1: AUTH without (or with another) method is an error.
            return self.protocol_violation(ReasonCode::ProtocolError);
        }
        self.actions.push_back(Action::Auth {
            properties: Box::new(auth.properties),
            reauth,
        });
    }

    fn send_connack_refusal(&mut self, code: ReasonCode) {
        self.encode(&Packet::ConnAck(Box::new(ConnAck {
            session_present: false,
            reason_code: code,
            properties: ConnAckProperties::default(),
        })));
    }

    // ---------------------------------------------------------------- incoming PUBLISH

    fn on_publish(&mut self, now: Instant, mut publish: Box<Publish>) {
        self.stats.publish_received += 1;
        // Topic alias (MQTT 5).
        if let Some(alias) = publish.properties.topic_alias.take() {
            match self.aliases_in.resolve(alias, &publish.topic) {
                Ok(topic) => publish.topic = topic,
                Err(code) => return self.protocol_violation(code),
            }
        } else if publish.topic.is_empty() {
            return self.protocol_violation(ReasonCode::ProtocolError);
        }
        match publish.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => {
                if self.version.is_v5() && self.incoming_in_flight() >= self.receive_max_broker() {
                    return self.protocol_violation(ReasonCode::ReceiveMaximumExceeded);
                }
                self.incoming_qos1_pending += 1;
            }
            QoS::ExactlyOnce => {
                if let Some(rec_sent) = self.incoming_qos2.get(publish.packet_id) {
                    // A resend of a message already taken (MQTT-4.3.3-9): never route it twice;
                    // acknowledge again if PUBREC went out, otherwise `publish_done` will.
                    if rec_sent {
                        self.encode(&Packet::PubRec(PubRec::new(publish.packet_id)));
                    }
                    return;
                }
                if self.version.is_v5() && self.incoming_in_flight() >= self.receive_max_broker() {
                    return self.protocol_violation(ReasonCode::ReceiveMaximumExceeded);
                }
                self.incoming_qos2.insert(publish.packet_id);
            }
        }
        self.count_rate(now);
        self.actions.push_back(Action::Publish(publish));
    }

    fn incoming_in_flight(&self) -> u16 {
        let qos2 = u16::try_from(self.incoming_qos2.len()).unwrap_or(u16::MAX);
        self.incoming_qos1_pending.saturating_add(qos2)
    }

    fn receive_max_broker(&self) -> u16 {
        self.config.receive_max_broker.max(1)
    }

    fn count_rate(&mut self, now: Instant) {
        let limit = self.config.max_message_rate;
        if limit == 0 {
            return;
        }
        if now.duration_since(self.rate_window_start) >= Duration::from_secs(1) {
            self.rate_window_start = now;
            self.rate_count = 0;
        }
        self.rate_count += 1;
        if self.rate_count >= limit {
            self.read_paused_until = Some(self.rate_window_start + Duration::from_secs(1));
        }
    }

    /// The broker finished routing an incoming QoS 1/2 message with `packet_id`: PUBACK (QoS 1)
    /// or PUBREC (QoS 2) is sent with `code` (MQTT 5; e.g. `NotAuthorized`,
    /// `NoMatchingSubscribers`, `QuotaExceeded`). For 3.x a failure code is not on the wire.
    pub fn publish_done(&mut self, packet_id: u16, qos: QoS, code: ReasonCode) {
        if self.state != State::Connected {
            return;
        }
        let properties = AckProperties::default();
        match qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => {
                self.incoming_qos1_pending = self.incoming_qos1_pending.saturating_sub(1);
                self.encode(&Packet::PubAck(PubAck {
                    packet_id,
                    reason_code: code,
                    properties,
                }))
            }
            QoS::ExactlyOnce => {
                if is_failure(code) {
                    // MQTT-4.3.3: a PUBREC with an error ends the exchange.
                    self.incoming_qos2.remove(packet_id);
                } else {
                    self.incoming_qos2.mark_rec_sent(packet_id);
                }
                self.encode(&Packet::PubRec(PubRec {
                    packet_id,
                    reason_code: code,
                    properties,
                }))
            }
        }
    }

    fn on_pubrel(&mut self, packet_id: u16) {
        let code = if self.incoming_qos2.release(packet_id) {
            ReasonCode::Success
        } else {
            ReasonCode::PacketIdentifierNotFound
        };
        self.encode(&Packet::PubComp(PubComp {
            packet_id,
            reason_code: code,
            properties: AckProperties::default(),
        }));
    }

    // ---------------------------------------------------------------- SUBSCRIBE / UNSUBSCRIBE

    /// The broker handled SUBSCRIBE `packet_id`: SUBACK with one code per filter.
    pub fn subscribe_done(&mut self, packet_id: u16, reason_codes: Vec<ReasonCode>) {
        if self.state == State::Connected {
            self.encode(&Packet::SubAck(SubAck {
                packet_id,
                reason_codes,
                properties: AckProperties::default(),
            }));
        }
    }

    /// The broker handled UNSUBSCRIBE `packet_id`: UNSUBACK (codes are MQTT 5 only).
    pub fn unsubscribe_done(&mut self, packet_id: u16, reason_codes: Vec<ReasonCode>) {
        if self.state == State::Connected {
            let reason_codes = if self.version.is_v5() {
                reason_codes
            } else {
                Vec::new()
            };
            self.encode(&Packet::UnsubAck(UnsubAck {
                packet_id,
                reason_codes,
                properties: AckProperties::default(),
            }));
        }
    }

    // ---------------------------------------------------------------- outgoing PUBLISH

    /// Sends one message to the client. QoS 0 is always taken; QoS 1/2 needs
    /// [`Session::send_capacity`] > 0, otherwise the delivery is handed back in `Err` for the
    /// queue to keep. Expired or oversized deliveries are dropped (reported as
    /// [`Action::Dropped`]).
    pub fn deliver(&mut self, now: Instant, delivery: Delivery) -> Result<(), Delivery> {
        if self.state != State::Connected {
            return Err(delivery);
        }
        if delivery.msg.is_expired(now) {
            self.stats.publish_dropped += 1;
            self.actions
                .push_back(Action::Dropped(delivery, DropReason::Expired));
            return Ok(());
        }
        let qos = delivery.outgoing_qos(self.config.upgrade_outgoing_qos);
        if qos == QoS::AtMostOnce {
            self.send_publish(now, &delivery, qos, 0, false);
            return Ok(());
        }
        if self.send_capacity() == 0 {
            return Err(delivery);
        }
        let packet_id = self.allocate_packet_id();
        if !self.send_publish(now, &delivery, qos, packet_id, false) {
            return Ok(());
        }
        self.push_inflight(Inflight {
            packet_id,
            qos,
            awaiting_ack: true,
            delivery,
            sent_at: now,
        });
        Ok(())
    }

    /// Encodes a PUBLISH; false when it was dropped for being too large.
    fn send_publish(
        &mut self,
        now: Instant,
        delivery: &Delivery,
        qos: QoS,
        packet_id: u16,
        dup: bool,
    ) -> bool {
        let msg = &delivery.msg;
        let v5 = self.version.is_v5();
        let mut view = PublishView {
            dup,
            qos,
            retain: delivery.retain,
            topic: msg.topic.as_str(),
            packet_id,
            properties: &msg.properties,
            message_expiry_interval: None,
            topic_alias: None,
            subscription_identifiers: &[],
            payload: &msg.payload,
        };
        if v5 {
            view.message_expiry_interval = msg.remaining_expiry(now);
            view.subscription_identifiers = &delivery.subscription_ids;
            // A resend must carry the full topic: the alias mapping may be gone on the client
            // after a reconnect.
            if !dup {
                if let Some((alias, known)) = self.aliases_out.lookup_or_assign(&msg.topic) {
                    view.topic_alias = Some(alias);
                    if known {
                        view.topic = "";
                    }
                }
            }
        }
        if self.client_max_packet_size > 0 {
            let len = view.encoded_len(self.version);
            if len > self.client_max_packet_size as usize {
                // MQTT-3.1.2-25: discard, act as if it was delivered.
                self.stats.publish_dropped += 1;
                self.actions.push_back(Action::Dropped(
                    delivery.clone(),
                    DropReason::PacketTooLarge,
                ));
                return false;
            }
        }
        self.stats.publish_sent += 1;
        // Encoded straight from the shared message (no `Publish` built per delivery): PUBLISH
        // carries no problem information to strip and was checked against the Maximum Packet
        // Size above.
        if view.encode(self.version, &mut self.out).is_err() {
            // Only a PUBLISH the session built itself gets here; an encode error would mean an
            // invalid topic or packet id, which the session never produces.
        }
        true
    }

    fn allocate_packet_id(&mut self) -> u16 {
        loop {
            let id = self.next_packet_id;
            self.next_packet_id = if id == u16::MAX { 1 } else { id + 1 };
            if !self.packet_id_in_use(id) {
                return id;
            }
        }
    }

    fn packet_id_in_use(&self, id: u16) -> bool {
        let (Some(front), Some(back)) = (self.inflight.front(), self.inflight.back()) else {
            return false;
        };
        if self.ids_in_order
            && id_distance(front.packet_id, id) > id_distance(front.packet_id, back.packet_id)
        {
            return false;
        }
        self.inflight.iter().any(|e| e.packet_id == id)
    }

    /// Appends to `inflight`, keeping `retry_floor` a lower bound of the entries' send times
    /// and `ids_in_order` true only while the ids, read from the front, go forward.
    fn push_inflight(&mut self, entry: Inflight) {
        match (self.inflight.front(), self.inflight.back()) {
            (Some(front), Some(back)) => {
                self.retry_floor = Some(
                    self.retry_floor
                        .map_or(entry.sent_at, |f| f.min(entry.sent_at)),
                );
                self.ids_in_order &= id_distance(front.packet_id, entry.packet_id)
                    > id_distance(front.packet_id, back.packet_id);
            }
            _ => {
                self.retry_floor = Some(entry.sent_at);
                self.ids_in_order = true;
            }
        }
        self.inflight.push_back(entry);
    }

    fn inflight_position(&self, packet_id: u16) -> Option<usize> {
        // Acknowledgements mostly arrive in order: the front is checked first.
        match self.inflight.front() {
            Some(front) if front.packet_id == packet_id => Some(0),
            _ => self.inflight.iter().position(|e| e.packet_id == packet_id),
        }
    }

    fn on_puback(&mut self, packet_id: u16) {
        if let Some(i) = self.inflight_position(packet_id) {
            if self.inflight[i].qos == QoS::AtLeastOnce && self.inflight[i].awaiting_ack {
                if let Some(entry) = self.inflight.remove(i) {
                    self.actions.push_back(Action::Acknowledged(entry.delivery));
                }
            }
        }
        // An unknown PUBACK is ignored (VerneMQ counts it as invalid).
    }

    fn on_pubrec(&mut self, now: Instant, rec: PubRec) {
        let Some(i) = self.inflight_position(rec.packet_id) else {
            // MQTT 5: answer an unknown PUBREC with PUBREL 0x92.
            self.encode(&Packet::PubRel(PubRel {
                packet_id: rec.packet_id,
                reason_code: ReasonCode::PacketIdentifierNotFound,
                properties: AckProperties::default(),
            }));
            return;
        };
        if is_failure(rec.reason_code) {
            if let Some(entry) = self.inflight.remove(i) {
                self.actions.push_back(Action::Acknowledged(entry.delivery));
            }
            return;
        }
        let entry = &mut self.inflight[i];
        entry.awaiting_ack = false;
        entry.sent_at = now;
        self.encode(&Packet::PubRel(PubRel::new(rec.packet_id)));
    }

    fn on_pubcomp(&mut self, packet_id: u16) {
        if let Some(i) = self.inflight_position(packet_id) {
            if !self.inflight[i].awaiting_ack {
                if let Some(entry) = self.inflight.remove(i) {
                    self.actions.push_back(Action::Acknowledged(entry.delivery));
                }
            }
        }
    }

    /// When the oldest unacknowledged message is due for a resend, or a little earlier (see
    /// `retry_floor`; [`Session::retry`] then finds nothing due and makes the floor exact).
    fn retry_deadline(&self) -> Option<Instant> {
        if self.version.is_v5() || self.config.retry_interval.is_zero() || self.inflight.is_empty()
        {
            return None;
        }
        self.retry_floor.map(|f| f + self.config.retry_interval)
    }

    /// MQTT 3.x: resend what was not acknowledged within `retry_interval` (PUBLISH with DUP, or
    /// PUBREL). MQTT 5 forbids resends except after a reconnect (MQTT-4.4.0-1).
    fn retry(&mut self, now: Instant) {
        let Some(deadline) = self.retry_deadline() else {
            return;
        };
        if now < deadline {
            return;
        }
        let interval = self.config.retry_interval;
        for i in 0..self.inflight.len() {
            if self.inflight[i].sent_at + interval <= now {
                self.inflight[i].sent_at = now;
                let entry = self.inflight[i].clone();
                self.stats.retries += 1;
                self.resend(&entry);
            }
        }
        self.retry_floor = self.inflight.iter().map(|e| e.sent_at).min();
    }

    fn resend(&mut self, entry: &Inflight) {
        if entry.awaiting_ack {
            let now = entry.sent_at;
            self.send_publish(now, &entry.delivery, entry.qos, entry.packet_id, true);
        } else {
            self.encode(&Packet::PubRel(PubRel::new(entry.packet_id)));
        }
    }

    /// Takes the messages still in flight, for a persistent session to keep (they are resent on
    /// the next connection via [`ConnectAccepted::resume`]).
    pub fn take_inflight(&mut self) -> Vec<Inflight> {
        self.inflight.drain(..).collect()
    }

    // ---------------------------------------------------------------- DISCONNECT / close

    fn on_disconnect(&mut self, d: Disconnect) {
        if let Some(expiry) = d.properties.session_expiry_interval {
            if self.session_expiry_interval == 0 && expiry != 0 {
                // MQTT-3.14.2-2.
                return self.protocol_violation(ReasonCode::ProtocolError);
            }
            self.session_expiry_interval = expiry;
        }
        self.close(CloseReason::ClientDisconnect(d.reason_code));
    }

    /// The broker ends the session: MQTT 5 clients get DISCONNECT with `code` (e.g.
    /// `SessionTakenOver`, `AdministrativeAction`, `ServerShuttingDown`).
    pub fn disconnect(&mut self, code: ReasonCode) {
        if self.state == State::Closed {
            return;
        }
        if self.state == State::Connected {
            self.send_disconnect(code);
        } else if matches!(self.state, State::Connecting | State::Authenticating) {
            self.send_connack_refusal(code);
        }
        self.close(CloseReason::ServerDisconnect(code));
    }

    fn protocol_violation(&mut self, code: ReasonCode) {
        match self.state {
            State::Connected => self.send_disconnect(code),
            State::Connecting | State::Authenticating => self.send_connack_refusal(code),
            _ => {}
        }
        self.close(CloseReason::ProtocolViolation(code));
    }

    fn send_disconnect(&mut self, code: ReasonCode) {
        if self.version.is_v5() {
            self.encode(&Packet::Disconnect(Box::new(Disconnect {
                reason_code: code,
                properties: DisconnectProperties::default(),
            })));
        }
    }

    fn close(&mut self, reason: CloseReason) {
        let was_registered = matches!(self.state, State::Connected);
        self.state = State::Closed;
        let will = if was_registered && reason.publishes_will() {
            self.will.take()
        } else {
            None
        };
        self.actions.push_back(Action::Closed {
            reason,
            will,
            session_expiry_interval: self.session_expiry_interval,
        });
    }

    // ---------------------------------------------------------------- encoding

    fn encode(&mut self, packet: &Packet) {
        let packet = self.strip_problem_information(packet);
        let packet = packet.as_ref();
        if self.client_max_packet_size > 0
            && packet.encoded_len(self.version) > self.client_max_packet_size as usize
        {
            // Only acknowledgements with a reason string or user properties can get here;
            // PUBLISH is checked before. Drop the optional parts and try once more.
            if let Some(bare) = without_optional_properties(packet) {
                if bare.encoded_len(self.version) <= self.client_max_packet_size as usize {
                    self.encode_raw(&bare);
                }
            }
            return;
        }
        self.encode_raw(packet);
    }

    fn encode_raw(&mut self, packet: &Packet) {
        if packet.encode(self.version, &mut self.out).is_err() {
            // Only packets the session built itself are encoded; an encode error means a
            // packet invalid for this version (e.g. AUTH to a 3.x client), which is dropped.
        }
    }

    fn strip_problem_information<'a>(&self, packet: &'a Packet) -> std::borrow::Cow<'a, Packet> {
        if self.request_problem_information || !self.version.is_v5() {
            return std::borrow::Cow::Borrowed(packet);
        }
        match packet {
            Packet::Publish(_) | Packet::ConnAck(_) | Packet::Disconnect(_) => {
                std::borrow::Cow::Borrowed(packet)
            }
            other => match without_optional_properties(other) {
                Some(bare) => std::borrow::Cow::Owned(bare),
                None => std::borrow::Cow::Borrowed(packet),
            },
        }
    }
}

fn without_optional_properties(packet: &Packet) -> Option<Packet> {
    let bare = AckProperties::default();
    Some(match packet {
        Packet::PubAck(p) => Packet::PubAck(PubAck {
            properties: bare,
            ..p.clone()
        }),
        Packet::PubRec(p) => Packet::PubRec(PubRec {
            properties: bare,
            ..p.clone()
        }),
        Packet::PubRel(p) => Packet::PubRel(PubRel {
            properties: bare,
            ..p.clone()
        }),
        Packet::PubComp(p) => Packet::PubComp(PubComp {
            properties: bare,
            ..p.clone()
        }),
        Packet::SubAck(p) => Packet::SubAck(SubAck {
            properties: bare,
            ..p.clone()
        }),
        Packet::UnsubAck(p) => Packet::UnsubAck(UnsubAck {
            properties: bare,
            ..p.clone()
        }),
        _ => return None,
    })
}

fn is_failure(code: ReasonCode) -> bool {
    code as u8 >= 0x80
}

/// For a CONNECT that failed to decode, the protocol version it announced, if it is a known one,
/// so the refusal can be encoded for that version.
fn peek_connect_version(frame: &[u8]) -> Option<ProtocolVersion> {
    if frame.first()? >> 4 != 1 {
        return None;
    }
    // Skip the fixed header's variable-length remaining length.
    let mut i = 1;
    while *frame.get(i)? & 0x80 != 0 {
        i += 1;
        if i > 4 {
            return None;
        }
    }
    i += 1;
    let name_len = usize::from(u16::from_be_bytes([*frame.get(i)?, *frame.get(i + 1)?]));
    let name = frame.get(i + 2..i + 2 + name_len)?;
    let level = *frame.get(i + 2 + name_len)? & 0x7F;
    match (name, level) {
        (b"MQIsdp", 3) => Some(ProtocolVersion::V3_1),
        (b"MQTT", 4) => Some(ProtocolVersion::V3_1_1),
        (b"MQTT", 5) => Some(ProtocolVersion::V5),
        _ => None,
    }
}

const ASSIGNED_PREFIX: &str = "vmq-";
const ASSIGNED_RANDOM_LEN: usize = 24;

fn generate_client_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut rng = rand::thread_rng();
    let mut id = String::with_capacity(ASSIGNED_PREFIX.len() + ASSIGNED_RANDOM_LEN);
    id.push_str(ASSIGNED_PREFIX);
    for _ in 0..ASSIGNED_RANDOM_LEN {
        id.push(char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]));
    }
    id
}
