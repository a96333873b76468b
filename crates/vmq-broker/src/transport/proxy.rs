//! The PROXY protocol (HAProxy's, versions 1 and 2, parsed with `ppp`) in front of a listener
//! with `proxy_protocol = on`: the header a load balancer sends before the client's bytes gives
//! the client's real address and, in a v2 `PP2_TYPE_SSL` TLV, the CN of the client certificate
//! the proxy verified (used as user name with `proxy_protocol_use_cn_as_username`). A
//! connection without a valid header is closed. `LOCAL` (v2) and `UNKNOWN` (v1) headers keep
//! the socket's address, as the specification asks.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::{Buf, Bytes, BytesMut};
use ppp::{v1, v2, HeaderResult, PartialResult};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// The largest header accepted: a v2 header's 16 fixed bytes and a 16-bit length.
pub const MAX_HEADER: usize = 16 + 65_535;

/// `PP2_TYPE_SSL`: the TLV with the proxy's TLS facts.
const PP2_TYPE_SSL: u8 = 0x20;
/// `PP2_SUBTYPE_SSL_CN`: the client certificate's CN, inside `PP2_TYPE_SSL`.
const PP2_SUBTYPE_SSL_CN: u8 = 0x22;

/// Why a PROXY header was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The connection ended or failed before a whole header arrived.
    #[error("reading the PROXY header: {0}")]
    Io(#[from] io::Error),
    /// The bytes are not a PROXY protocol header (the client, or a proxy without
    /// `send-proxy`, is at fault).
    #[error("not a valid PROXY protocol header: {0}")]
    Invalid(String),
}

/// What a PROXY header said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyHeader {
    /// The client's address (`None` for `LOCAL` / `UNKNOWN` / unix sockets).
    pub source: Option<SocketAddr>,
    /// The client certificate's CN forwarded by the proxy (v2 only).
    pub common_name: Option<String>,
}

/// Reads a PROXY header from the start of `stream`. Returns what it said and the stream, with
/// any bytes read past the header put back in front.
pub async fn read_header<S>(mut stream: S) -> Result<(ProxyHeader, Rewind<S>), ProxyError>
where
    S: AsyncRead + Unpin,
{
    let mut buf = BytesMut::with_capacity(256);
    loop {
        if !buf.is_empty() {
            if let Some((header, len)) = parse(&buf)? {
                buf.advance(len);
                return Ok((header, Rewind::with_prefix(buf.freeze(), stream)));
            }
        }
        if buf.len() >= MAX_HEADER {
            return Err(ProxyError::Invalid("header too long".into()));
        }
        buf.reserve(256);
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(ProxyError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
    }
}

/// Parses a complete header at the start of `input`: `Ok(None)` when more bytes are needed.
pub fn parse(input: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    let result = HeaderResult::parse(input);
    if result.is_incomplete() {
        return Ok(None);
    }
    match result {
        HeaderResult::V1(Ok(h)) => {
            let source = match h.addresses {
                v1::Addresses::Tcp4(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
                v1::Addresses::Tcp6(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
                v1::Addresses::Unknown => None,
            };
            let header = ProxyHeader {
                source,
                common_name: None,
            };
            Ok(Some((header, h.header.len())))
        }
        HeaderResult::V2(Ok(h)) => {
            let source = match (h.command, h.addresses) {
                (v2::Command::Proxy, v2::Addresses::IPv4(a)) => {
                    Some(SocketAddr::from((a.source_address, a.source_port)))
                }
                (v2::Command::Proxy, v2::Addresses::IPv6(a)) => {
                    Some(SocketAddr::from((a.source_address, a.source_port)))
                }
                _ => None,
            };
            let mut common_name = None;
            for tlv in h.tlvs() {
                let tlv = tlv.map_err(|e| ProxyError::Invalid(e.to_string()))?;
                if tlv.kind == PP2_TYPE_SSL {
                    common_name = ssl_common_name(&tlv.value)?;
                }
            }
            Ok(Some((
                ProxyHeader {
                    source,
                    common_name,
                },
                h.len(),
            )))
        }
        HeaderResult::V1(Err(e)) => Err(ProxyError::Invalid(e.to_string())),
        HeaderResult::V2(Err(e)) => Err(ProxyError::Invalid(e.to_string())),
    }
}

/// The CN sub-TLV of a `PP2_TYPE_SSL` value: one byte of client flags and four of verify
/// result, then sub-TLVs (type: 1 byte, length: 2 bytes big-endian, value).
fn ssl_common_name(value: &[u8]) -> Result<Option<String>, ProxyError> {
    let bad = || ProxyError::Invalid("truncated PP2_TYPE_SSL TLV".into());
    let mut rest = value.get(5..).ok_or_else(bad)?;
    while !rest.is_empty() {
        let [kind, hi, lo, tail @ ..] = rest else {
            return Err(bad());
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let sub = tail.get(..len).ok_or_else(bad)?;
        if *kind == PP2_SUBTYPE_SSL_CN {
            let cn = std::str::from_utf8(sub)
                .map_err(|_| ProxyError::Invalid("PP2_SUBTYPE_SSL_CN is not UTF-8".into()))?;
            return Ok(Some(cn.to_owned()));
        }
        rest = &tail[len..];
    }
    Ok(None)
}

/// A stream with some bytes already read put back in front of it.
#[derive(Debug)]
pub struct Rewind<S> {
    prefix: Bytes,
    inner: S,
}

impl<S> Rewind<S> {
    /// `inner` with nothing put back.
    pub fn new(inner: S) -> Self {
        Rewind {
            prefix: Bytes::new(),
            inner,
        }
    }

    /// `inner`, read after `prefix`.
    pub fn with_prefix(prefix: Bytes, inner: S) -> Self {
        Rewind { prefix, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            let head = self.prefix.split_to(n);
            buf.put_slice(&head);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn v1_tcp4_gives_the_source_and_length() {
        let input = b"PROXY TCP4 192.0.2.7 10.0.0.1 40000 1883\r\n\x10rest";
        let (h, len) = parse(input).unwrap().unwrap();
        assert_eq!(h.source, Some("192.0.2.7:40000".parse().unwrap()));
        assert_eq!(&input[len..], b"\x10rest");
    }

    #[test]
    fn v1_unknown_and_partial() {
        let (h, _) = parse(b"PROXY UNKNOWN\r\n").unwrap().unwrap();
        assert_eq!(h.source, None);
        assert!(parse(b"PROXY TCP4 192.0.2.7").unwrap().is_none());
        assert!(parse(b"GET / HTTP/1.1\r\n\r\n").is_err());
        assert!(parse(b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c").is_err());
    }

    fn v2(tlvs: &[u8]) -> Vec<u8> {
        let mut h = b"\r\n\r\n\x00\r\nQUIT\n".to_vec();
        h.push(0x21); // version 2, PROXY
        h.push(0x11); // TCP over IPv4
        h.extend_from_slice(&((12 + tlvs.len()) as u16).to_be_bytes());
        h.extend_from_slice(&[198, 51, 100, 9, 10, 0, 0, 1]);
        h.extend_from_slice(&50_000u16.to_be_bytes());
        h.extend_from_slice(&1883u16.to_be_bytes());
        h.extend_from_slice(tlvs);
        h
    }

    #[test]
    fn v2_with_ssl_cn() {
        let cn = b"device-42";
        let mut ssl = vec![0x01, 0, 0, 0, 0];
        ssl.push(PP2_SUBTYPE_SSL_CN);
        ssl.extend_from_slice(&(cn.len() as u16).to_be_bytes());
        ssl.extend_from_slice(cn);
        let mut tlv = vec![PP2_TYPE_SSL];
        tlv.extend_from_slice(&(ssl.len() as u16).to_be_bytes());
        tlv.extend_from_slice(&ssl);
        let input = v2(&tlv);
        let (h, len) = parse(&input).unwrap().unwrap();
        assert_eq!(len, input.len());
        assert_eq!(h.source, Some("198.51.100.9:50000".parse().unwrap()));
        assert_eq!(h.common_name.as_deref(), Some("device-42"));
        assert!(parse(&input[..20]).unwrap().is_none());
    }

    #[test]
    fn v2_truncated_ssl_tlv_is_refused() {
        let tlv = [PP2_TYPE_SSL, 0, 7, 1, 0, 0, 0, 0, PP2_SUBTYPE_SSL_CN, 0];
        assert!(parse(&v2(&tlv)).is_err());
    }
}
