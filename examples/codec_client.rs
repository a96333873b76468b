//! `codec_client`: a minimal MQTT client built only on `vmq-codec` and std sockets. It connects,
//! subscribes, publishes a QoS 1 message to the topic it subscribed to, receives it back, and
//! disconnects, printing every packet.
//!
//! ```text
//! cargo run --example codec_client -- [host:port] [3.1|3.1.1|5]
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use vmq_codec::{
    decode_from, Connect, DecodeLimits, Packet, ProtocolVersion, PubAck, Publish, QoS, ReasonCode,
    Subscribe,
};

type Error = Box<dyn std::error::Error>;

/// One connection: a socket, a read buffer and the protocol version.
struct Client {
    stream: TcpStream,
    rx: BytesMut,
    tx: BytesMut,
    version: ProtocolVersion,
}

impl Client {
    fn send(&mut self, p: &Packet) -> Result<(), Error> {
        println!("-> {p:?}");
        self.tx.clear();
        p.encode(self.version, &mut self.tx)?;
        self.stream.write_all(&self.tx)?;
        Ok(())
    }

    fn recv(&mut self) -> Result<Packet, Error> {
        loop {
            if let Some(p) = decode_from(&mut self.rx, self.version, &DecodeLimits::default())? {
                println!("<- {p:?}");
                return Ok(p);
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err("connection closed by the broker".into());
            }
            self.rx.extend_from_slice(&chunk[..n]);
        }
    }
}

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:1883".to_string());
    let version = match args.next().as_deref() {
        Some("3.1") => ProtocolVersion::V3_1,
        Some("5") | Some("5.0") => ProtocolVersion::V5,
        _ => ProtocolVersion::V3_1_1,
    };
    let stream = TcpStream::connect(&addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut c = Client {
        stream,
        rx: BytesMut::with_capacity(4096),
        tx: BytesMut::with_capacity(4096),
        version,
    };

    c.send(&Packet::Connect(Box::new(Connect::new(
        version,
        format!("vmq-codec-{}", std::process::id()),
    ))))?;
    match c.recv()? {
        Packet::ConnAck(a) if a.reason_code == ReasonCode::Success => {}
        p => return Err(format!("connection refused: {p:?}").into()),
    }

    let filter = "vmq-codec/example/#";
    c.send(&Packet::Subscribe(Subscribe::new(
        1,
        filter,
        QoS::AtLeastOnce,
    )))?;
    match c.recv()? {
        Packet::SubAck(s) if s.packet_id == 1 && s.reason_codes[0].is_success() => {}
        p => return Err(format!("subscription refused: {p:?}").into()),
    }

    let topic = "vmq-codec/example/hello";
    let body = format!("hello over MQTT {version:?}");
    c.send(&Packet::Publish(Box::new(Publish {
        qos: QoS::AtLeastOnce,
        packet_id: 2,
        ..Publish::new(topic, body.clone().into_bytes())
    })))?;

    // The PUBACK for our message and the message itself may come in either order.
    let (mut acked, mut received) = (false, false);
    while !(acked && received) {
        match c.recv()? {
            Packet::PubAck(a) if a.packet_id == 2 => acked = true,
            Packet::Publish(p) => {
                if p.topic != topic || p.payload != body.as_bytes() {
                    return Err(format!("unexpected message {p:?}").into());
                }
                if p.qos != QoS::AtMostOnce {
                    c.send(&Packet::PubAck(PubAck::new(p.packet_id)))?;
                }
                received = true;
            }
            p => return Err(format!("unexpected packet {p:?}").into()),
        }
    }

    c.send(&Packet::Disconnect(Box::default()))?;
    println!("ok: connected, subscribed, published and received with {version:?}");
    Ok(())
}
