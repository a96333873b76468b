//! `vmq-session`: the MQTT session state machine, without I/O.
//!
//! A [`Session`] is fed decoded packets ([`Session::handle_packet`]), timer ticks
//! ([`Session::handle_timeout`]) and the broker's answers (`accept_connect`, `publish_done`,
//! `subscribe_done`, `deliver`, ...). It produces bytes to write ([`Session::transmit`]) and
//! [`Action`]s for the broker ([`Session::poll_action`]). Time is always a parameter; no socket,
//! task or clock is used here, so whole sessions are tested with a virtual clock.
//!
//! What lives here: CONNECT validation (protocol versions, client identifiers), CONNACK,
//! keepalive (1.5 × keep alive), QoS 0/1/2 in both directions with the inflight window
//! (`max_inflight_messages`, MQTT 5 Receive Maximum both ways), MQTT 3.x resends after
//! `retry_interval`, redelivery of unacknowledged messages on resume, topic aliases both ways,
//! will handling, MQTT 5 enhanced authentication exchanges, `max_message_rate` throttling and
//! the client's Maximum Packet Size. What does not: authentication decisions, routing, queues
//! and persistence (the broker's, through actions).

mod alias;
mod config;
mod incoming_qos2;
mod message;
mod session;

pub use alias::{AliasesIn, AliasesOut};
pub use config::SessionConfig;
pub use message::{Delivery, Message};
pub use session::{
    Action, CloseReason, ConnectAccepted, ConnectRequest, DropReason, Inflight, Session,
    SessionStats, State,
};

#[cfg(test)]
mod tests;
