//! MQTT over QUIC (placeholder while the transport is written).
