//! One MQTT connection over TCP, framed with `vmq-codec`: connect (CONNECT / CONNACK),
//! subscribe (SUBSCRIBE / SUBACK), a write buffer that packets are encoded into and flushed in
//! one write, and a read buffer that packets are decoded from. Nothing here counts or decides;
//! the workers in `run` do.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use vmq_codec::{
    decode_from, Connect, DecodeLimits, Packet, ProtocolVersion, Publish, QoS, ReasonCode,
    Subscribe, Utf8Str,
};

use crate::error::BenchError;

/// What every connection of a run sends in CONNECT.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `host:port`.
    pub addr: String,
    /// Protocol version.
    pub version: ProtocolVersion,
    /// Clean session / clean start.
    pub clean_start: bool,
    /// Keep alive in seconds.
    pub keep_alive: u16,
    /// User name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// How long to wait for the TCP connection, CONNACK and SUBACK.
    pub timeout: Duration,
}

/// A connected client.
#[derive(Debug)]
pub struct Conn {
    /// The client id.
    pub id: String,
    stream: TcpStream,
    rx: BytesMut,
    tx: BytesMut,
    version: ProtocolVersion,
    /// MQTT 5: the broker's Receive Maximum from CONNACK.
    pub receive_maximum: Option<u16>,
}

impl Conn {
    fn error(&self, message: impl Into<String>) -> BenchError {
        BenchError::Protocol {
            client: self.id.clone(),
            message: message.into(),
        }
    }

    /// Connects `id` with `opts` and waits for a successful CONNACK.
    pub async fn connect(id: String, opts: &ConnectOptions) -> Result<Conn, BenchError> {
        let stream = match tokio::time::timeout(opts.timeout, TcpStream::connect(&opts.addr)).await
        {
            Ok(Ok(s)) => s,
            Ok(Err(source)) => {
                return Err(BenchError::Connect {
                    client: id,
                    addr: opts.addr.clone(),
                    source,
                })
            }
            Err(_) => {
                return Err(BenchError::Timeout {
                    client: id,
                    what: "TCP connection",
                    after: opts.timeout,
                })
            }
        };
        // Latency matters more than packet count here.
        stream.set_nodelay(true).ok();
        let mut conn = Conn {
            id,
            stream,
            rx: BytesMut::with_capacity(16 * 1024),
            tx: BytesMut::with_capacity(16 * 1024),
            version: opts.version,
            receive_maximum: None,
        };
        let mut connect = Connect::new(opts.version, conn.id.clone());
        connect.clean_start = opts.clean_start;
        connect.keep_alive = opts.keep_alive;
        connect.username = opts.username.clone().map(Utf8Str::from);
        connect.password = opts.password.clone().map(Bytes::from);
        conn.queue(&Packet::Connect(Box::new(connect)))?;
        conn.flush().await?;
        match conn.recv_within(opts.timeout, "CONNACK").await? {
            Packet::ConnAck(a) if a.reason_code == ReasonCode::Success => {
                conn.receive_maximum = a.properties.receive_maximum;
                Ok(conn)
            }
            Packet::ConnAck(a) => Err(BenchError::Refused {
                client: conn.id,
                code: a.reason_code,
            }),
            other => Err(conn.error(format!("expected CONNACK, got {other:?}"))),
        }
    }

    /// Subscribes to `filter` at `qos` and waits for a successful SUBACK.
    pub async fn subscribe(
        &mut self,
        filter: &str,
        qos: QoS,
        timeout: Duration,
    ) -> Result<(), BenchError> {
        self.queue(&Packet::Subscribe(Subscribe::new(1, filter, qos)))?;
        self.flush().await?;
        match self.recv_within(timeout, "SUBACK").await? {
            Packet::SubAck(s) if s.packet_id == 1 => match s.reason_codes.first() {
                Some(c) if c.is_success() => Ok(()),
                Some(&code) => Err(BenchError::SubscribeRefused {
                    client: self.id.clone(),
                    filter: filter.to_string(),
                    code,
                }),
                None => Err(self.error("SUBACK without a reason code")),
            },
            other => Err(self.error(format!("expected SUBACK, got {other:?}"))),
        }
    }

    async fn recv_within(
        &mut self,
        timeout: Duration,
        what: &'static str,
    ) -> Result<Packet, BenchError> {
        let wait = async {
            loop {
                if let Some(p) = self.next_packet()? {
                    return Ok(p);
                }
                self.fill().await?;
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(r) => r,
            Err(_) => Err(BenchError::Timeout {
                client: self.id.clone(),
                what,
                after: timeout,
            }),
        }
    }

    /// Encodes `p` into the write buffer.
    pub fn queue(&mut self, p: &Packet) -> Result<(), BenchError> {
        p.encode(self.version, &mut self.tx)
            .map_err(|e| self.error(format!("cannot encode {p:?}: {e}")))
    }

    /// Encodes `p` into the write buffer and returns the slice of the buffer holding its payload,
    /// for the caller to stamp.
    pub fn queue_publish(&mut self, p: &Publish) -> Result<&mut [u8], BenchError> {
        p.encode(self.version, &mut self.tx)
            .map_err(|e| self.error(format!("cannot encode a PUBLISH: {e}")))?;
        let end = self.tx.len();
        Ok(&mut self.tx[end - p.payload.len()..])
    }

    /// Writes the write buffer out.
    pub async fn flush(&mut self) -> Result<(), BenchError> {
        if self.tx.is_empty() {
            return Ok(());
        }
        let r = self.stream.write_all(&self.tx).await;
        self.tx.clear();
        r.map_err(|e| self.error(format!("write failed: {e}")))
    }

    /// Reads more bytes into the read buffer (cancel safe: nothing is lost if another
    /// `select!` branch wins). The broker closing the connection is an error.
    pub async fn fill(&mut self) -> Result<(), BenchError> {
        match self.stream.read_buf(&mut self.rx).await {
            Ok(0) => Err(self.error("the broker closed the connection")),
            Ok(_) => Ok(()),
            Err(e) => Err(self.error(format!("read failed: {e}"))),
        }
    }

    /// Reads whatever bytes are ready without waiting.
    pub fn try_fill(&mut self) -> Result<(), BenchError> {
        match self.stream.try_read_buf(&mut self.rx) {
            Ok(0) => Err(self.error("the broker closed the connection")),
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(self.error(format!("read failed: {e}"))),
        }
    }

    /// The next whole packet in the read buffer, if any.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, BenchError> {
        decode_from(&mut self.rx, self.version, &DecodeLimits::default())
            .map_err(|e| self.error(format!("cannot decode a packet from the broker: {e}")))
    }

    /// Sends DISCONNECT and closes the connection; errors are ignored (the run is over).
    pub async fn disconnect(mut self) {
        if self.queue(&Packet::Disconnect(Box::default())).is_ok() {
            self.flush().await.ok();
        }
        self.stream.shutdown().await.ok();
    }
}
