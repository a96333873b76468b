//! Shared by the `transports_*` tests: a test PKI made with rcgen (a CA, a server certificate
//! for `localhost` / 127.0.0.1, client certificates by CN, CRLs), a plugin that records what
//! `auth_on_register` saw, a small MQTT client over any byte stream (TCP, TLS, WebSocket,
//! QUIC), brokers started from `vernemq.conf` text, and external tools run with a deadline.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use vmq_broker::{
    Answer, Broker, HookResult, Plugin, PublishModifiers, PublishRequest, RegisterModifiers,
    RegisterRequest, SubscribeRequest, SubscribeTopic,
};
use vmq_codec::{
    check, ConnAck, Connect, DecodeLimits, Packet, ProtocolVersion, PubAck, Publish, QoS,
    ReasonCode, Subscribe, Utf8Str,
};

/// How long a test waits for something that must happen.
pub const WAIT: Duration = Duration::from_secs(15);

/// A CA with its key, and the files of a server certificate signed by it.
pub struct Pki {
    pub dir: tempfile::TempDir,
    ca: Certificate,
    ca_key: KeyPair,
    pub cafile: PathBuf,
    pub certfile: PathBuf,
    pub keyfile: PathBuf,
    next_serial: Mutex<u64>,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "vmq test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = params.self_signed(&ca_key).unwrap();
        let cafile = dir.path().join("ca.pem");
        std::fs::write(&cafile, ca.pem()).unwrap();
        let pki = Pki {
            certfile: dir.path().join("server.pem"),
            keyfile: dir.path().join("server.key"),
            dir,
            ca,
            ca_key,
            cafile,
            next_serial: Mutex::new(100),
        };
        pki.write_server_cert("broker");
        pki
    }

    fn serial(&self) -> u64 {
        let mut n = self.next_serial.lock();
        *n += 1;
        *n
    }

    /// (Re)writes the server certificate and key files, with `cn` as subject CN.
    pub fn write_server_cert(&self, cn: &str) -> u64 {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        let serial = self.serial();
        params.serial_number = Some(SerialNumber::from(serial));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        std::fs::write(&self.certfile, cert.pem()).unwrap();
        std::fs::write(&self.keyfile, key.serialize_pem()).unwrap();
        serial
    }

    /// A client certificate with subject CN `cn`: (cert path, key path, serial).
    pub fn client(&self, cn: &str) -> (PathBuf, PathBuf, u64) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        let serial = self.serial();
        params.serial_number = Some(SerialNumber::from(serial));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        let certfile = self.dir.path().join(format!("{cn}.pem"));
        let keyfile = self.dir.path().join(format!("{cn}.key"));
        std::fs::write(&certfile, cert.pem()).unwrap();
        std::fs::write(&keyfile, key.serialize_pem()).unwrap();
        (certfile, keyfile, serial)
    }

    /// A CRL revoking `serials`, written to `crl.pem`.
    pub fn crl(&self, serials: &[u64]) -> PathBuf {
        let params = CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2024, 1, 1),
            next_update: rcgen::date_time_ymd(2100, 1, 1),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: SerialNumber::from(*s),
                    revocation_time: rcgen::date_time_ymd(2024, 1, 1),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.ca, &self.ca_key).unwrap();
        let path = self.dir.path().join("crl.pem");
        std::fs::write(&path, crl.pem().unwrap()).unwrap();
        path
    }

    /// A rustls client configuration trusting the CA, with a client certificate if given.
    pub fn client_config(&self, client: Option<(&Path, &Path)>) -> rustls::ClientConfig {
        use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(&self.cafile).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        match client {
            Some((cert, key)) => {
                let chain: Vec<_> = CertificateDer::pem_file_iter(cert)
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                let key = PrivateKeyDer::from_pem_file(key).unwrap();
                builder.with_client_auth_cert(chain, key).unwrap()
            }
            None => builder.with_no_client_auth(),
        }
    }
}

/// One `auth_on_register` call as the recorder saw it.
#[derive(Debug, Clone)]
pub struct Registration {
    pub client_id: String,
    pub username: Option<String>,
    pub peer: SocketAddr,
}

/// A plugin allowing everything and recording every `auth_on_register`.
#[derive(Default)]
pub struct Recorder {
    pub seen: Mutex<Vec<Registration>>,
}

impl Recorder {
    pub fn of(&self, client_id: &str) -> Option<Registration> {
        self.seen
            .lock()
            .iter()
            .rev()
            .find(|r| r.client_id == client_id)
            .cloned()
    }
}

impl Plugin for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }

    fn auth_on_register(&self, req: &RegisterRequest<'_>) -> Answer<HookResult<RegisterModifiers>> {
        self.seen.lock().push(Registration {
            client_id: req.subscriber_id.client_id.to_string(),
            username: req.username.map(|u| u.as_str().to_owned()),
            peer: req.peer,
        });
        HookResult::Ok(RegisterModifiers::default()).into()
    }

    fn auth_on_publish(&self, _req: &PublishRequest<'_>) -> Answer<HookResult<PublishModifiers>> {
        HookResult::Ok(PublishModifiers::default()).into()
    }

    fn auth_on_subscribe(
        &self,
        _req: &SubscribeRequest<'_>,
    ) -> Answer<HookResult<Option<Vec<SubscribeTopic>>>> {
        HookResult::Ok(None).into()
    }
}

/// Starts a broker from configuration text with the recorder as its only plugin.
pub async fn start(conf: &str) -> (Broker, Arc<Recorder>) {
    let config = vmq_conf::Config::from_str(conf, "transports.conf", &HashMap::new())
        .unwrap_or_else(|e| panic!("config: {e}"));
    let recorder = Arc::new(Recorder::default());
    let broker = Broker::builder(config)
        .plugin(recorder.clone())
        .start()
        .await
        .unwrap_or_else(|e| panic!("broker start: {e}"));
    (broker, recorder)
}

/// A minimal MQTT client over any byte stream.
pub struct Mqtt<S> {
    pub stream: S,
    rbuf: BytesMut,
    version: ProtocolVersion,
    next_id: u16,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Mqtt<S> {
    /// Sends CONNECT (MQTT 3.1.1, clean session) and returns the CONNACK's code.
    pub async fn connect(
        stream: S,
        client_id: &str,
        username: Option<&str>,
    ) -> (Mqtt<S>, ReasonCode) {
        let mut connect = Connect::new(ProtocolVersion::V3_1_1, client_id);
        connect.username = username.map(Utf8Str::from);
        let (c, ack) = Self::connect_with(stream, connect).await;
        (c, ack.reason_code)
    }

    /// Sends `connect` (MQTT 3.1.1) and returns the CONNACK.
    pub async fn connect_with(stream: S, connect: Connect) -> (Mqtt<S>, Box<ConnAck>) {
        let mut c = Mqtt::raw(stream);
        c.send(Packet::Connect(Box::new(connect))).await;
        match c.recv().await {
            Some(Packet::ConnAck(ack)) => (c, ack),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// A client on a stream where CONNECT is sent by hand.
    pub fn raw(stream: S) -> Mqtt<S> {
        Mqtt {
            stream,
            rbuf: BytesMut::new(),
            version: ProtocolVersion::V3_1_1,
            next_id: 0,
        }
    }

    /// Like [`Mqtt::connect`], but `None` when the connection ends before a CONNACK.
    pub async fn try_connect(
        stream: S,
        client_id: &str,
        username: Option<&str>,
    ) -> Option<(Mqtt<S>, ReasonCode)> {
        let mut c = Mqtt {
            stream,
            rbuf: BytesMut::new(),
            version: ProtocolVersion::V3_1_1,
            next_id: 0,
        };
        let mut connect = Connect::new(c.version, client_id);
        connect.username = username.map(Utf8Str::from);
        let mut buf = BytesMut::new();
        Packet::Connect(Box::new(connect))
            .encode(c.version, &mut buf)
            .unwrap();
        c.stream.write_all(&buf).await.ok()?;
        c.stream.flush().await.ok()?;
        match c.recv().await? {
            Packet::ConnAck(ack) => Some((c, ack.reason_code)),
            _ => None,
        }
    }

    pub async fn send(&mut self, packet: Packet) {
        let mut buf = BytesMut::new();
        packet.encode(self.version, &mut buf).unwrap();
        self.stream.write_all(&buf).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    /// The next packet, or `None` when the connection closed or nothing came within [`WAIT`].
    pub async fn recv(&mut self) -> Option<Packet> {
        self.recv_within(WAIT).await
    }

    pub async fn recv_within(&mut self, limit: Duration) -> Option<Packet> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(n) = check(&self.rbuf, &DecodeLimits::default()).unwrap() {
                let frame = self.rbuf.split_to(n).freeze();
                return Some(Packet::decode(frame, self.version).unwrap());
            }
            self.rbuf.reserve(4096);
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.rbuf)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return None,
            }
        }
    }

    pub async fn subscribe(&mut self, filter: &str) -> ReasonCode {
        self.next_id += 1;
        let id = self.next_id;
        self.send(Packet::Subscribe(Subscribe::new(
            id,
            filter,
            QoS::AtLeastOnce,
        )))
        .await;
        match self.recv().await {
            Some(Packet::SubAck(a)) if a.packet_id == id => a.reason_codes[0],
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }

    /// Publishes at QoS 1 and waits for the PUBACK.
    pub async fn publish(&mut self, topic: &str, payload: &[u8]) {
        self.next_id += 1;
        let id = self.next_id;
        let mut p = Publish::new(topic, Bytes::copy_from_slice(payload));
        p.qos = QoS::AtLeastOnce;
        p.packet_id = id;
        self.send(Packet::Publish(Box::new(p))).await;
        match self.recv().await {
            Some(Packet::PubAck(a)) if a.packet_id == id => {}
            other => panic!("expected PUBACK, got {other:?}"),
        }
    }

    /// The next PUBLISH delivered (acknowledged): (topic, payload).
    pub async fn delivered(&mut self) -> (String, Bytes) {
        match self.recv().await {
            Some(Packet::Publish(p)) => {
                if p.qos == QoS::AtLeastOnce {
                    self.send(Packet::PubAck(PubAck::new(p.packet_id))).await;
                }
                (p.topic.to_string(), p.payload)
            }
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }
}

/// Whether an external command exists.
pub fn have(cmd: &str) -> bool {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd} >/dev/null 2>&1"))
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs a command with a deadline: (success, stdout, stderr).
pub async fn run(cmd: &mut tokio::process::Command, limit: Duration) -> (bool, String, String) {
    cmd.kill_on_drop(true)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(Ok(out)) => (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
        Ok(Err(e)) => panic!("{cmd:?}: {e}"),
        Err(_) => (false, String::new(), format!("{cmd:?} timed out")),
    }
}

/// The python with paho-mqtt 2, if there is one.
pub fn paho_python() -> Option<&'static str> {
    ["python3", "python"].into_iter().find(|py| {
        std::process::Command::new(py)
            .args([
                "-c",
                "import paho.mqtt, sys; sys.exit(0 if paho.mqtt.__version__ >= '2' else 1)",
            ])
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Skips (returns true and says so) when a peer is missing, unless CI requires it.
pub fn missing(what: &str, present: bool) -> bool {
    if present {
        return false;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{what} is required in CI (cargo xtask deps installs it)");
    }
    eprintln!("skipped: {what} is not installed (cargo xtask deps installs it)");
    true
}
