//! The built-in `vmq_passwd` and `vmq_acl` plugins over real sockets: a broker with
//! `allow_anonymous = off`, a password file and an ACL file written by the test, clients
//! (a small `vmq-codec` client, and mosquitto_pub when installed) accepted and refused per
//! protocol version as VerneMQ answers them, and both files reloaded after they change.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use bytes::{Bytes, BytesMut};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use vmq_auth::passwd::{format_line, PasswordHash};
use vmq_broker::Broker;
use vmq_codec::{
    check, Connect, DecodeLimits, Packet, ProtocolVersion, Publish, QoS, ReasonCode, Subscribe,
    Utf8Str,
};

const WAIT: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_millis(500);

/// A directory of its own per test, removed at the end.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "vmq-auth-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn passwd(users: &[(&str, &str)]) -> String {
    users
        .iter()
        .map(|(u, p)| {
            format!(
                "{}\n",
                format_line(u, &PasswordHash::sha512(p.as_bytes())).unwrap()
            )
        })
        .collect()
}

const ACL: &str = "\
# everyone (first section)
topic read public/#
user alice
topic alice/#
topic write inbox/alice
# patterns apply to every client
pattern %u/private/#
pattern read devices/%c/cmd
";

/// Writes the files then starts the broker (reload interval 1 s).
async fn start(dir: &Dir, extra: &str) -> (Broker, PathBuf, PathBuf) {
    let pw = dir.0.join("vmq.passwd");
    let acl = dir.0.join("vmq.acl");
    let mut users = passwd(&[("alice", "wonderland"), ("bob", "builder")]);
    users.push_str(&format!(
        "{}\n",
        format_line("carol", &PasswordHash::argon2id(b"modern").unwrap()).unwrap()
    ));
    std::fs::write(&pw, users).unwrap();
    std::fs::write(&acl, ACL).unwrap();
    let conf = format!(
        "allow_anonymous = off\n\
         listener.tcp.default = 127.0.0.1:0\n\
         systree_enabled = off\n\
         plugins.vmq_passwd = on\n\
         plugins.vmq_acl = on\n\
         vmq_passwd.password_file = {}\n\
         vmq_passwd.password_reload_interval = 1\n\
         vmq_acl.acl_file = {}\n\
         vmq_acl.acl_reload_interval = 1\n{extra}",
        pw.display(),
        acl.display()
    );
    let config = vmq_conf::Config::from_str(&conf, "auth.conf", &HashMap::new()).unwrap();
    let broker = Broker::builder(config).start().await.unwrap();
    (broker, pw, acl)
}

struct Client {
    stream: TcpStream,
    rbuf: BytesMut,
    version: ProtocolVersion,
    next_id: u16,
}

#[derive(Debug)]
enum End {
    Closed,
    Timeout,
}

impl Client {
    async fn connect(
        addr: SocketAddr,
        version: ProtocolVersion,
        client_id: &str,
        credentials: Option<(&str, &str)>,
    ) -> (Client, ReasonCode) {
        let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
            .await
            .unwrap()
            .unwrap();
        let mut c = Client {
            stream,
            rbuf: BytesMut::new(),
            version,
            next_id: 0,
        };
        let mut connect = Connect::new(version, client_id);
        if let Some((user, password)) = credentials {
            connect.username = Some(Utf8Str::from(user));
            connect.password = Some(Bytes::copy_from_slice(password.as_bytes()));
        }
        c.send(Packet::Connect(Box::new(connect))).await;
        match c.recv().await {
            Ok(Packet::ConnAck(ack)) => (c, ack.reason_code),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    async fn login(
        addr: SocketAddr,
        version: ProtocolVersion,
        client_id: &str,
        user: &str,
        pw: &str,
    ) -> Client {
        let (c, code) = Client::connect(addr, version, client_id, Some((user, pw))).await;
        assert_eq!(code, ReasonCode::Success, "{user} logs in");
        c
    }

    async fn send(&mut self, packet: Packet) {
        let mut buf = BytesMut::new();
        packet.encode(self.version, &mut buf).unwrap();
        let _ = self.stream.write_all(&buf).await;
    }

    async fn recv_within(&mut self, limit: Duration) -> Result<Packet, End> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(n) = check(&self.rbuf, &DecodeLimits::default()).unwrap() {
                let frame = self.rbuf.split_to(n).freeze();
                return Ok(Packet::decode(frame, self.version).unwrap());
            }
            self.rbuf.reserve(4096);
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.rbuf)).await {
                Err(_) => return Err(End::Timeout),
                Ok(Ok(0)) | Ok(Err(_)) => return Err(End::Closed),
                Ok(Ok(_)) => {}
            }
        }
    }

    async fn recv(&mut self) -> Result<Packet, End> {
        self.recv_within(WAIT).await
    }

    fn id(&mut self) -> u16 {
        self.next_id += 1;
        self.next_id
    }

    async fn subscribe(&mut self, filter: &str) -> ReasonCode {
        let id = self.id();
        self.send(Packet::Subscribe(Subscribe::new(
            id,
            filter,
            QoS::AtLeastOnce,
        )))
        .await;
        match self.recv().await {
            Ok(Packet::SubAck(a)) if a.packet_id == id => a.reason_codes[0],
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }

    /// Sends a QoS 1 PUBLISH and returns the PUBACK's code, or how the connection ended.
    async fn publish_qos1(&mut self, topic: &str) -> Result<ReasonCode, End> {
        let id = self.id();
        let mut p = Publish::new(topic, Bytes::from_static(b"payload"));
        p.qos = QoS::AtLeastOnce;
        p.packet_id = id;
        self.send(Packet::Publish(Box::new(p))).await;
        match self.recv().await? {
            Packet::PubAck(a) if a.packet_id == id => Ok(a.reason_code),
            other => panic!("expected PUBACK, got {other:?}"),
        }
    }

    async fn publish_qos0(&mut self, topic: &str) {
        self.send(Packet::Publish(Box::new(Publish::new(
            topic,
            Bytes::from_static(b"q0"),
        ))))
        .await;
    }

    /// The topic of the next PUBLISH delivered (acknowledging it), or `None` when quiet.
    async fn delivered(&mut self) -> Option<String> {
        match self.recv_within(QUIET).await {
            Ok(Packet::Publish(p)) => {
                if p.qos == QoS::AtLeastOnce {
                    self.send(Packet::PubAck(vmq_codec::PubAck::new(p.packet_id)))
                        .await;
                }
                Some(p.topic.to_string())
            }
            Ok(other) => panic!("expected PUBLISH, got {other:?}"),
            Err(End::Timeout) => None,
            Err(End::Closed) => panic!("connection closed"),
        }
    }
}

#[tokio::test]
async fn passwords_decide_connack_per_version() {
    let dir = Dir::new();
    let (broker, _, _) = start(&dir, "").await;
    let addr = broker.local_addrs()[0];
    for version in [
        ProtocolVersion::V3_1,
        ProtocolVersion::V3_1_1,
        ProtocolVersion::V5,
    ] {
        let code = |creds: Option<(&'static str, &'static str)>| async move {
            Client::connect(addr, version, "c1", creds).await.1
        };
        assert_eq!(
            code(Some(("alice", "wonderland"))).await,
            ReasonCode::Success
        );
        assert_eq!(code(Some(("carol", "modern"))).await, ReasonCode::Success);
        // A known user with a wrong password: vmq_passwd answers error (CONNACK 4 / 0x86).
        assert_eq!(
            code(Some(("alice", "wrong"))).await,
            ReasonCode::BadUserNameOrPassword,
            "{version:?}"
        );
        assert_eq!(
            code(Some(("carol", "wrong"))).await,
            ReasonCode::BadUserNameOrPassword
        );
        // Unknown user, or no credentials: next; no plugin accepts, so not authorized (5 / 0x87).
        assert_eq!(
            code(Some(("mallory", "wonderland"))).await,
            ReasonCode::NotAuthorized
        );
        assert_eq!(code(None).await, ReasonCode::NotAuthorized);
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn acl_v5_reason_codes_and_delivery() {
    let dir = Dir::new();
    let (broker, _, _) = start(&dir, "").await;
    let addr = broker.local_addrs()[0];
    let v5 = ProtocolVersion::V5;
    let mut alice = Client::login(addr, v5, "alice-1", "alice", "wonderland").await;
    let mut bob = Client::login(addr, v5, "dev7", "bob", "builder").await;

    assert_eq!(alice.subscribe("alice/#").await, ReasonCode::GrantedQoS1);
    assert_eq!(
        alice.subscribe("public/news").await,
        ReasonCode::GrantedQoS1
    );
    assert_eq!(alice.subscribe("#").await, ReasonCode::NotAuthorized);
    assert_eq!(
        alice.subscribe("bob/private/#").await,
        ReasonCode::NotAuthorized
    );
    assert_eq!(
        alice.subscribe("inbox/alice").await,
        ReasonCode::NotAuthorized
    );
    // Patterns: %u and %c.
    assert_eq!(
        alice.subscribe("alice/private/+").await,
        ReasonCode::GrantedQoS1
    );
    assert_eq!(
        bob.subscribe("bob/private/#").await,
        ReasonCode::GrantedQoS1
    );
    assert_eq!(
        bob.subscribe("devices/dev7/cmd").await,
        ReasonCode::GrantedQoS1
    );
    assert_eq!(
        bob.subscribe("devices/dev8/cmd").await,
        ReasonCode::NotAuthorized
    );
    assert_eq!(bob.subscribe("public/#").await, ReasonCode::GrantedQoS1);

    // Publishes: allowed ones are routed, refused ones get PUBACK 0x87 and go nowhere.
    assert_eq!(
        alice.publish_qos1("alice/x").await.unwrap(),
        ReasonCode::Success
    );
    assert_eq!(alice.delivered().await.as_deref(), Some("alice/x"));
    assert_eq!(
        bob.publish_qos1("alice/x").await.unwrap(),
        ReasonCode::NotAuthorized
    );
    assert_eq!(
        bob.publish_qos1("public/news").await.unwrap(),
        ReasonCode::NotAuthorized,
        "public/# is read-only"
    );
    bob.publish_qos0("alice/y").await;
    assert_eq!(
        alice.delivered().await,
        None,
        "refused publishes are not routed"
    );
    assert_eq!(
        bob.publish_qos1("bob/private/diary").await.unwrap(),
        ReasonCode::Success
    );
    assert_eq!(bob.delivered().await.as_deref(), Some("bob/private/diary"));
    broker.shutdown().await;
}

#[tokio::test]
async fn acl_v311_suback_0x80_and_disconnect_on_unauthorized_publish() {
    let dir = Dir::new();
    let (broker, _, _) = start(&dir, "").await;
    let addr = broker.local_addrs()[0];
    let v4 = ProtocolVersion::V3_1_1;
    let mut alice = Client::login(addr, v4, "alice-1", "alice", "wonderland").await;
    assert_eq!(alice.subscribe("alice/#").await, ReasonCode::GrantedQoS1);
    // 0x80 on the wire (decoded as the generic failure).
    assert_eq!(
        alice.subscribe("secret/#").await,
        ReasonCode::UnspecifiedError
    );
    assert_eq!(
        alice.publish_qos1("alice/ok").await.unwrap(),
        ReasonCode::Success
    );
    assert_eq!(alice.delivered().await.as_deref(), Some("alice/ok"));

    // MQTT 3.1.1 has no way to refuse a publish: VerneMQ closes the connection.
    let mut bob = Client::login(addr, v4, "bob-1", "bob", "builder").await;
    assert!(matches!(
        bob.publish_qos1("alice/x").await,
        Err(End::Closed)
    ));
    let mut bob = Client::login(addr, v4, "bob-2", "bob", "builder").await;
    bob.publish_qos0("alice/x").await;
    assert!(matches!(bob.recv().await, Err(End::Closed)));
    assert_eq!(alice.delivered().await, None);
    broker.shutdown().await;
}

#[tokio::test]
async fn acl_v31_acknowledges_and_drops_unless_configured() {
    let dir = Dir::new();
    let (broker, _, _) = start(&dir, "").await;
    let addr = broker.local_addrs()[0];
    let v3 = ProtocolVersion::V3_1;
    let mut alice = Client::login(addr, v3, "alice-1", "alice", "wonderland").await;
    assert_eq!(alice.subscribe("alice/#").await, ReasonCode::GrantedQoS1);
    let mut bob = Client::login(addr, v3, "bob-1", "bob", "builder").await;
    // Acknowledged as if accepted, but not routed; the connection stays.
    assert_eq!(
        bob.publish_qos1("alice/x").await.unwrap(),
        ReasonCode::Success
    );
    assert_eq!(alice.delivered().await, None);
    assert_eq!(bob.subscribe("public/#").await, ReasonCode::GrantedQoS1);
    broker.shutdown().await;

    let dir = Dir::new();
    let (broker, _, _) = start(&dir, "disconnect_on_unauthorized_publish_v3 = on\n").await;
    let addr = broker.local_addrs()[0];
    let mut bob = Client::login(addr, v3, "bob-1", "bob", "builder").await;
    assert!(matches!(
        bob.publish_qos1("alice/x").await,
        Err(End::Closed)
    ));
    broker.shutdown().await;
}

/// Polls `f` every 100 ms until it is true (the reload interval is 1 s).
async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn files_are_reloaded_after_they_change() {
    let dir = Dir::new();
    let (broker, pw, acl) = start(&dir, "").await;
    let addr = broker.local_addrs()[0];
    let v5 = ProtocolVersion::V5;

    // A new password for alice, a new user dave; bob removed.
    std::fs::write(&pw, passwd(&[("alice", "looking-glass"), ("dave", "d")])).unwrap();
    eventually("alice's new password works", || async {
        Client::connect(addr, v5, "a", Some(("alice", "looking-glass")))
            .await
            .1
            == ReasonCode::Success
    })
    .await;
    let old = Client::connect(addr, v5, "a", Some(("alice", "wonderland"))).await;
    assert_eq!(old.1, ReasonCode::BadUserNameOrPassword);
    let dave = Client::connect(addr, v5, "d", Some(("dave", "d"))).await;
    assert_eq!(dave.1, ReasonCode::Success);
    let bob = Client::connect(addr, v5, "b", Some(("bob", "builder"))).await;
    assert_eq!(bob.1, ReasonCode::NotAuthorized);

    // The ACL grants dave a topic.
    let mut d = Client::login(addr, v5, "d2", "dave", "d").await;
    assert_eq!(d.subscribe("dave/#").await, ReasonCode::NotAuthorized);
    std::fs::write(&acl, format!("{ACL}user dave\ntopic dave/#\n")).unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while d.subscribe("dave/#").await != ReasonCode::GrantedQoS1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new ACL is in force"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A removed file keeps the last content (VerneMQ skips the reload).
    std::fs::remove_file(&pw).unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let still = Client::connect(addr, v5, "d3", Some(("dave", "d"))).await;
    assert_eq!(still.1, ReasonCode::Success);
    broker.shutdown().await;
}

/// mosquitto_pub, when installed, against the same rules.
#[tokio::test]
async fn mosquitto_clients() {
    if std::process::Command::new("mosquitto_pub")
        .arg("--help")
        .output()
        .is_err()
    {
        eprintln!("mosquitto_pub not installed; skipped");
        return;
    }
    let dir = Dir::new();
    let (broker, _, _) = start(&dir, "").await;
    let port = broker.local_addrs()[0].port().to_string();
    let run = |user: &'static str, pw: &'static str, topic: &'static str, version: &'static str| {
        let port = port.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("mosquitto_pub")
                .args(["-h", "127.0.0.1", "-p", &port, "-u", user, "-P", pw])
                .args(["-t", topic, "-m", "hello", "-q", "1", "-V", version])
                .output()
                .unwrap()
        })
    };
    for version in ["mqttv311", "mqttv5"] {
        let ok = run("alice", "wonderland", "alice/from-mosquitto", version)
            .await
            .unwrap();
        assert!(
            ok.status.success(),
            "{version}: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
        let bad = run("alice", "nope", "alice/x", version).await.unwrap();
        assert!(!bad.status.success(), "{version}: wrong password refused");
        let unknown = run("mallory", "x", "alice/x", version).await.unwrap();
        assert!(!unknown.status.success(), "{version}: unknown user refused");
    }
    // Path check: the file the tests wrote is the one read.
    assert!(Path::new(&dir.0).join("vmq.passwd").exists());
    broker.shutdown().await;
}
