//! MQTT over WebSocket (`ws` and `wss` listeners), with tokio-tungstenite: the upgrade is
//! accepted on path `/mqtt` only, for clients offering the subprotocol `mqtt` (MQTT 3.1.1 and
//! 5.0, MQTT-6.0.0-3) or `mqttv3.1` (older clients); anything else is answered with an HTTP
//! error. [`WsIo`] then turns binary messages into a byte stream for the connection driver, so
//! MQTT packets may span frames or share one (MQTT-6.0.0-2). A text frame closes the
//! connection (MQTT-6.0.0-1). `max_ws_frame_size` bounds frames and messages.
//!
//! tokio-tungstenite rather than axum's `ws` (DESIGN §6): a listener here owns each accepted
//! socket (PROXY header, TLS, connection limits) before the upgrade, and axum would bring an
//! HTTP server per connection for one fixed route; axum's `ws` is tokio-tungstenite inside.

use std::{
    io,
    pin::Pin,
    task::{ready, Context, Poll},
};

use bytes::{Buf, Bytes};
use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::{
    tungstenite::{
        handshake::server::{ErrorResponse, Request, Response},
        http::{HeaderValue, StatusCode},
        protocol::WebSocketConfig,
        Message,
    },
    WebSocketStream,
};

/// The only path MQTT is served on.
pub const PATH: &str = "/mqtt";
/// The subprotocols accepted, in preference order.
pub const SUBPROTOCOLS: [&str; 2] = ["mqtt", "mqttv3.1"];
/// tungstenite's read buffer per connection. Its default, 128 KiB, is zero-filled before every
/// socket read (all of its free capacity) and so is resident for every connection; MQTT packets
/// are small, and a frame larger than this grows the buffer for itself.
const READ_BUFFER: usize = 8 * 1024;

/// WebSocket settings of a listener.
#[derive(Debug, Clone, Copy)]
pub struct WsSettings {
    /// Largest frame and message (`max_ws_frame_size`); `None` = no limit.
    pub max_frame_size: Option<usize>,
}

/// Picks the subprotocol to answer from a `Sec-WebSocket-Protocol` header value.
pub fn select_subprotocol(offered: &str) -> Option<&'static str> {
    let offered: Vec<&str> = offered.split(',').map(str::trim).collect();
    offered
        .iter()
        .find_map(|o| SUBPROTOCOLS.iter().find(|s| o.eq_ignore_ascii_case(s)))
        .copied()
}

fn refuse(status: StatusCode, why: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(why.to_owned()));
    *response.status_mut() = status;
    response
}

/// tungstenite's settings for a listener.
fn config(settings: &WsSettings) -> WebSocketConfig {
    let mut config = WebSocketConfig::default();
    config.read_buffer_size = READ_BUFFER;
    config.max_frame_size = settings.max_frame_size;
    config.max_message_size = settings.max_frame_size;
    config
}

/// Runs the server side of the WebSocket upgrade on `stream`.
// The callback's error type (an HTTP response) is tungstenite's, not ours to box.
#[allow(clippy::result_large_err)]
pub async fn accept<S>(
    stream: S,
    settings: &WsSettings,
) -> Result<WsIo<S>, tokio_tungstenite::tungstenite::Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = config(settings);
    let callback = |request: &Request, mut response: Response| {
        if request.uri().path() != PATH {
            return Err(refuse(StatusCode::NOT_FOUND, "MQTT is served on /mqtt"));
        }
        let offered = request
            .headers()
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(select_subprotocol);
        let Some(protocol) = offered else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "offer the WebSocket subprotocol mqtt (or mqttv3.1)",
            ));
        };
        response
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static(protocol));
        Ok(response)
    };
    let ws =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await?;
    Ok(WsIo::new(ws))
}

/// A WebSocket connection as a byte stream: reads concatenate binary messages, each write
/// sends one binary message.
#[derive(Debug)]
pub struct WsIo<S> {
    ws: WebSocketStream<S>,
    read: Bytes,
    eof: bool,
    /// An error met after a read had already produced bytes: reported by the next read.
    failed: Option<io::Error>,
}

impl<S> WsIo<S> {
    /// Wraps an established WebSocket (either side) as a byte stream.
    pub fn new(ws: WebSocketStream<S>) -> Self {
        WsIo {
            ws,
            read: Bytes::new(),
            eof: false,
            failed: None,
        }
    }

    /// The WebSocket underneath (to send control or text frames in tests).
    pub fn get_mut(&mut self) -> &mut WebSocketStream<S> {
        &mut self.ws
    }
}

fn io_error(e: tokio_tungstenite::tungstenite::Error) -> io::Error {
    use tokio_tungstenite::tungstenite::Error;
    match e {
        Error::Io(e) => e,
        Error::ConnectionClosed | Error::AlreadyClosed => io::ErrorKind::BrokenPipe.into(),
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsIo<S> {
    /// Fills `buf` with as many buffered messages as fit, not just one: a client sends each
    /// packet in a frame of its own, and a read per frame would hand the connection one packet
    /// per round (one delivery per write, one acknowledgement per write) where plain TCP hands
    /// it everything that arrived.
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(e) = self.failed.take() {
            return Poll::Ready(Err(e));
        }
        let start = buf.filled().len();
        loop {
            if !self.read.is_empty() {
                let n = self.read.len().min(buf.remaining());
                buf.put_slice(&self.read[..n]);
                self.read.advance(n);
                if buf.remaining() == 0 {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            let progressed = buf.filled().len() > start;
            if self.eof {
                return Poll::Ready(Ok(()));
            }
            let next = match Pin::new(&mut self.ws).poll_next(cx) {
                Poll::Ready(next) => next,
                // What was read so far is returned; the socket's waker stays registered.
                Poll::Pending if progressed => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            };
            let error = match next {
                Some(Ok(Message::Binary(data))) => {
                    self.read = data;
                    continue;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Text(_))) => {
                    // MQTT-6.0.0-1: only binary frames carry MQTT.
                    io::Error::new(io::ErrorKind::InvalidData, "text WebSocket frame")
                }
                Some(Ok(Message::Close(_))) | None => {
                    self.eof = true;
                    continue;
                }
                Some(Err(e)) => match io_error(e) {
                    e if e.kind() == io::ErrorKind::BrokenPipe => {
                        self.eof = true;
                        continue;
                    }
                    e => e,
                },
            };
            if progressed {
                self.failed = Some(error);
                return Poll::Ready(Ok(()));
            }
            return Poll::Ready(Err(error));
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(Pin::new(&mut self.ws).poll_ready(cx)).map_err(io_error)?;
        Pin::new(&mut self.ws)
            .start_send(Message::Binary(Bytes::copy_from_slice(buf)))
            .map_err(io_error)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.ws).poll_flush(cx).map_err(io_error)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match ready!(Pin::new(&mut self.ws).poll_close(cx)) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(e) => match io_error(e) {
                e if e.kind() == io::ErrorKind::BrokenPipe => Poll::Ready(Ok(())),
                e => Poll::Ready(Err(e)),
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    use futures_util::SinkExt;
    use tokio::io::AsyncReadExt;
    use tokio_tungstenite::tungstenite::protocol::Role;

    /// A client WebSocket and the server side as a byte stream, over an in-memory pipe.
    async fn pair() -> (
        WebSocketStream<tokio::io::DuplexStream>,
        WsIo<tokio::io::DuplexStream>,
    ) {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        let settings = WsSettings {
            max_frame_size: None,
        };
        let server =
            WebSocketStream::from_raw_socket(server, Role::Server, Some(config(&settings))).await;
        (client, WsIo::new(server))
    }

    #[tokio::test]
    async fn one_read_takes_every_frame_already_received() {
        let (mut client, mut server) = pair().await;
        for packet in [&b"\x40\x02\x00\x01"[..], b"\x40\x02\x00\x02", b"\xc0\x00"] {
            client.feed(Message::binary(packet.to_vec())).await.unwrap();
        }
        client.flush().await.unwrap();
        let mut buf = [0u8; 1024];
        let n = server.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"\x40\x02\x00\x01\x40\x02\x00\x02\xc0\x00");
        // A small buffer takes what fits and keeps the rest for the next read.
        client
            .send(Message::binary(vec![1, 2, 3, 4, 5]))
            .await
            .unwrap();
        let mut small = [0u8; 3];
        assert_eq!(server.read(&mut small).await.unwrap(), 3);
        assert_eq!(small, [1, 2, 3]);
        assert_eq!(server.read(&mut small).await.unwrap(), 2);
        assert_eq!(&small[..2], [4, 5]);
    }

    #[tokio::test]
    async fn a_message_larger_than_the_read_buffer_arrives_whole() {
        let (mut client, mut server) = pair().await;
        let big: Vec<u8> = (0..READ_BUFFER * 12).map(|i| i as u8).collect();
        let sent = big.clone();
        let writer = tokio::spawn(async move {
            client.send(Message::binary(sent)).await.unwrap();
            client
        });
        let mut got = vec![0u8; big.len()];
        server.read_exact(&mut got).await.unwrap();
        assert!(got == big);
        drop(writer.await.unwrap());
    }

    /// [`pair`], with a PINGREQ fed (not flushed) by the client.
    async fn pair_after_pingreq() -> (
        WebSocketStream<tokio::io::DuplexStream>,
        WsIo<tokio::io::DuplexStream>,
    ) {
        let (mut client, server) = pair().await;
        client
            .feed(Message::binary(vec![0xc0, 0x00]))
            .await
            .unwrap();
        (client, server)
    }

    #[tokio::test]
    async fn a_text_frame_fails_the_read_after_the_bytes_before_it() {
        let (mut client, mut server) = pair_after_pingreq().await;
        client.feed(Message::text("no")).await.unwrap();
        client.flush().await.unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(server.read(&mut buf).await.unwrap(), 2);
        let err = server.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[tokio::test]
    async fn a_close_after_data_reads_the_data_then_the_end() {
        let (mut client, mut server) = pair_after_pingreq().await;
        client.close(None).await.unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(server.read(&mut buf).await.unwrap(), 2);
        assert_eq!(server.read(&mut buf).await.unwrap(), 0);
    }

    #[test]
    fn subprotocol_selection() {
        assert_eq!(select_subprotocol("mqtt"), Some("mqtt"));
        assert_eq!(select_subprotocol("mqttv3.1"), Some("mqttv3.1"));
        assert_eq!(select_subprotocol("wamp, MQTT"), Some("mqtt"));
        assert_eq!(select_subprotocol("mqttv3.1, mqtt"), Some("mqttv3.1"));
        assert_eq!(select_subprotocol("stomp"), None);
    }
}
