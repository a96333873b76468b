//! Embeds the broker in a Rust program with its own plugin: users are checked by the program
//! (here: any user name with the password `secret`), publishes under `forbidden/` are refused,
//! and connections are logged. With `--selftest` the program connects to itself with a small
//! client built on `vmq-codec`, publishes, receives its own message and exits; otherwise it
//! serves on 127.0.0.1:1883 until Ctrl-C.
//!
//!     cargo run --example embedded_broker -- --selftest

use std::sync::Arc;

use bytes::BytesMut;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use vmq_broker::{
    Answer, Broker, HookResult, Plugin, PublishModifiers, PublishRequest, RegisterEvent,
    RegisterModifiers, RegisterRequest, SubscribeRequest, SubscribeTopic,
};
use vmq_codec::{
    check, Connect, DecodeLimits, Packet, ProtocolVersion, Publish, QoS, ReasonCode, Subscribe,
    Utf8Str,
};

/// The program's own access control.
struct AppAuth;

impl Plugin for AppAuth {
    fn name(&self) -> &str {
        "app_auth"
    }

    // Answers are ready at once (`Answer::Ready`, via `.into()`): no allocation per call.
    fn auth_on_register(&self, req: &RegisterRequest<'_>) -> Answer<HookResult<RegisterModifiers>> {
        match req.password {
            Some(p) if req.username.is_some() && p.as_ref() == b"secret" => {
                HookResult::Ok(RegisterModifiers::default())
            }
            _ => HookResult::Error(ReasonCode::BadUserNameOrPassword),
        }
        .into()
    }

    fn auth_on_publish(&self, req: &PublishRequest<'_>) -> Answer<HookResult<PublishModifiers>> {
        if req.topic.starts_with("forbidden/") {
            HookResult::Error(ReasonCode::NotAuthorized)
        } else {
            HookResult::Ok(PublishModifiers::default())
        }
        .into()
    }

    fn auth_on_subscribe(
        &self,
        _req: &SubscribeRequest<'_>,
    ) -> Answer<HookResult<Option<Vec<SubscribeTopic>>>> {
        HookResult::Ok(None).into()
    }

    fn on_register(&self, event: &RegisterEvent<'_>) {
        println!(
            "client {} connected as {:?}",
            event.subscriber_id, event.username
        );
    }
}

async fn send(stream: &mut TcpStream, packet: Packet) -> std::io::Result<()> {
    let mut buf = BytesMut::new();
    packet
        .encode(ProtocolVersion::V5, &mut buf)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    stream.write_all(&buf).await
}

async fn recv(stream: &mut TcpStream, buf: &mut BytesMut) -> std::io::Result<Packet> {
    loop {
        if let Some(len) = check(buf, &DecodeLimits::default())
            .map_err(|e| std::io::Error::other(e.to_string()))?
        {
            let frame = buf.split_to(len).freeze();
            return Packet::decode(frame, ProtocolVersion::V5)
                .map_err(|e| std::io::Error::other(e.to_string()));
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
}

async fn selftest(addr: std::net::SocketAddr) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut buf = BytesMut::new();
    let mut connect = Connect::new(ProtocolVersion::V5, "embedded-selftest");
    connect.username = Some(Utf8Str::from("demo"));
    connect.password = Some(bytes::Bytes::from_static(b"secret"));
    send(&mut stream, Packet::Connect(Box::new(connect))).await?;
    println!("CONNACK: {:?}", recv(&mut stream, &mut buf).await?);
    send(
        &mut stream,
        Packet::Subscribe(Subscribe::new(1, "demo/#", QoS::AtLeastOnce)),
    )
    .await?;
    println!("SUBACK: {:?}", recv(&mut stream, &mut buf).await?);
    let mut publish = Publish::new("demo/hello", bytes::Bytes::from_static(b"world"));
    publish.qos = QoS::AtLeastOnce;
    publish.packet_id = 2;
    send(&mut stream, Packet::Publish(Box::new(publish))).await?;
    // PUBACK and our own message, in either order.
    for _ in 0..2 {
        match recv(&mut stream, &mut buf).await? {
            Packet::Publish(p) => println!(
                "received {} = {:?}",
                p.topic,
                String::from_utf8_lossy(&p.payload)
            ),
            other => println!("received {other:?}"),
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let selftest_mode = std::env::args().any(|a| a == "--selftest");
    let listen = if selftest_mode {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:1883"
    };
    let config = vmq_conf::Config::from_str(
        &format!("listener.tcp.default = {listen}\nsystree_enabled = off\n"),
        "embedded",
        &Default::default(),
    )?;
    let broker = Broker::builder(config)
        .plugin(Arc::new(AppAuth))
        .start()
        .await?;
    let addr = broker.local_addrs()[0];
    println!("broker listening on {addr}");
    if selftest_mode {
        selftest(addr).await?;
    } else {
        tokio::signal::ctrl_c().await?;
    }
    broker.shutdown().await;
    Ok(())
}
