//! Loading whole files: VerneMQ 2.1.2's generated `vernemq.conf`, the documentation's
//! examples, includes, error reporting, environment overrides and listener hierarchy.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vmq_conf::{
    Config, ConfigError, ListenerKind, Origin, QueueDeliverMode, SharedSubscriptionPolicy,
    TlsVersion,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn no_env() -> HashMap<String, String> {
    HashMap::new()
}

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(name: &str) -> Config {
    match Config::load(Some(&fixture(name)), &no_env()) {
        Ok(c) => c,
        Err(e) => panic!("{name} must load:\n{e}"),
    }
}

#[test]
fn erlang_schedulers_set_the_worker_threads() {
    let workers = |text: &str| {
        Config::from_str(text, "vernemq.conf", &no_env())
            .expect("valid")
            .schedulers
    };
    assert_eq!(workers(""), 0, "one per core by default");
    assert_eq!(workers("erlang.schedulers.total = 4\n"), 4);
    assert_eq!(
        workers("erlang.schedulers.total = 4\nerlang.schedulers.online = 1\n"),
        1
    );
    let errs = errors_of("erlang.schedulers.online = many\n", &no_env());
    assert!(errs[0].starts_with("vernemq.conf:1:"), "{errs:?}");
}

fn errors_of(text: &str, env: &HashMap<String, String>) -> Vec<String> {
    match Config::from_str(text, "vernemq.conf", env) {
        Ok(_) => panic!("expected errors for {text:?}"),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

/// The `vernemq.conf` a real VerneMQ 2.1.2 generates (shared material, outside this repo).
#[test]
fn vernemq_2_1_generated_conf_loads_unchanged() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/compat/vernemq-2.1-default.conf");
    if !path.exists() {
        eprintln!("skipped: {} not present", path.display());
        return;
    }
    let cfg = match Config::load(Some(&path), &no_env()) {
        Ok(c) => c,
        Err(e) => panic!("generated conf must load:\n{e}"),
    };
    assert!(!cfg.allow_anonymous);
    assert_eq!(cfg.max_inflight_messages, 20);
    assert_eq!(cfg.max_client_id_size, 100);
    assert_eq!(cfg.nodename, "VerneMQ@127.0.0.1");
    assert_eq!(cfg.distributed_cookie, "vmq");
    assert_eq!(cfg.systree_interval, Duration::from_secs(20));
    assert_eq!(cfg.plugins.get("vmq_acl"), Some(&true));
    assert_eq!(cfg.plugins.get("vmq_webhooks"), Some(&false));
    // `listener.tcp.name.allow_anonymous_override` names a listener without an address.
    let kinds: Vec<(ListenerKind, &str, String)> = cfg
        .listeners
        .iter()
        .map(|l| (l.kind, l.name.as_str(), l.addr.to_string()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (ListenerKind::Http, "default", "127.0.0.1:8888".to_string()),
            (ListenerKind::Vmq, "clustering", "0.0.0.0:44053".to_string()),
        ]
    );
    let v = cfg
        .get("listener.tcp.name.allow_anonymous_override")
        .expect("set in the file");
    assert_eq!(v.value, "off");
    assert!(
        matches!(&v.origin, Origin::File { line: 316, .. }),
        "{}",
        v.origin
    );
    assert_eq!(
        cfg.get("leveldb.compression.algorithm")
            .map(|v| v.value.as_str()),
        Some("lz4")
    );
}

#[test]
fn documented_examples_parse() {
    for name in [
        "docs-listeners.conf",
        "docs-websockets.conf",
        "docs-options.conf",
        "docs-bridge.conf",
        "docs-db-auth.conf",
        "docs-webhooks.conf",
    ] {
        load(name);
    }
}

#[test]
fn listener_hierarchy_global_kind_name() {
    let cfg = load("docs-listeners.conf");
    let l = |kind, name: &str| {
        cfg.listeners
            .iter()
            .find(|l| l.kind == kind && l.name == name)
            .unwrap_or_else(|| panic!("listener {name}"))
    };
    let def = l(ListenerKind::Tcp, "default");
    assert_eq!(def.max_connections, Some(10_000)); // global
    assert_eq!(def.nr_of_acceptors, 10);
    assert_eq!(def.mountpoint, ""); // `off`
    assert_eq!(def.allowed_protocol_versions, vec![3, 4, 5]); // per kind
    assert!(def.tls.is_none());
    let other = l(ListenerKind::Tcp, "my_other");
    assert_eq!(other.max_connections, Some(100)); // per name
    assert_eq!(other.addr.to_string(), "127.0.0.1:18884");
    let ssl = l(ListenerKind::Ssl, "default");
    assert_eq!(ssl.mountpoint, "ssl-mountpoint"); // per kind
    assert_eq!(ssl.allowed_protocol_versions, vec![3, 4, 5, 131]); // schema default
    let tls = ssl.tls.as_ref().expect("ssl has tls");
    assert_eq!(tls.certfile, Some(PathBuf::from("/etc/ssl/cert.pem")));
    assert_eq!(tls.cafile, Some(PathBuf::from("/etc/ssl/cacerts.pem")));
    assert_eq!(tls.ciphers.len(), 3);
    assert_eq!(tls.tls_version, vec![TlsVersion::Tlsv1_2]);
    assert!(!tls.require_certificate);
    assert!(!ssl.allow_anonymous_override);
    let mine = l(ListenerKind::Ssl, "my_listener");
    let tls = mine.tls.as_ref().expect("ssl has tls");
    assert!(tls.require_certificate);
    assert!(tls.use_identity_as_username);
    assert_eq!(tls.handshake_timeout, Some(Duration::from_millis(8000)));
    assert_eq!(tls.keyfile, Some(PathBuf::from("/etc/ssl/key.pem"))); // per kind
    assert!(mine.allow_anonymous_override);
    // listener1/listener2 only carry a mountpoint: no address, no listener.
    assert!(cfg.listeners.iter().all(|l| l.name != "listener1"));
    assert_eq!(
        cfg.listeners_of(ListenerKind::Ws)
            .map(|l| l.addr.to_string())
            .collect::<Vec<_>>(),
        vec!["127.0.0.1:8888"]
    );
}

#[test]
fn wss_and_http_listener_options() {
    let cfg = load("docs-websockets.conf");
    let wss = cfg
        .listeners_of(ListenerKind::Wss)
        .next()
        .expect("wss listener");
    let tls = wss.tls.as_ref().expect("wss has tls");
    assert_eq!(tls.certfile, Some(PathBuf::from("./etc/cert.pem")));
    let http = cfg
        .listeners_of(ListenerKind::Http)
        .next()
        .expect("http listener");
    assert_eq!(
        http.options
            .get("max_request_line_length")
            .map(String::as_str),
        Some("32000")
    );
}

#[test]
fn typed_options_from_docs() {
    let cfg = load("docs-options.conf");
    assert_eq!(cfg.queue_deliver_mode, QueueDeliverMode::Balance);
    assert_eq!(cfg.max_message_rate, 2);
    assert_eq!(cfg.log.level, vmq_conf::LogLevel::Debug);
    assert_eq!(cfg.log.console, vmq_conf::LogTarget::Both);
    assert!(cfg.log.syslog);
    assert_eq!(cfg.plugins.get("vmq_diversity"), Some(&true));
    let web = load("docs-webhooks.conf");
    assert_eq!(
        web.persistent_client_expiration,
        Some(Duration::from_secs(7 * 24 * 3600))
    );
    assert_eq!(
        web.shared_subscription_policy,
        SharedSubscriptionPolicy::PreferLocal
    );
    let hooks: Vec<&str> = web.prefixed("vmq_webhooks").map(|(k, _)| k).collect();
    assert!(
        hooks.contains(&"vmq_webhooks.mywebhook1.endpoint"),
        "{hooks:?}"
    );
    let bridge = load("docs-bridge.conf");
    assert_eq!(
        bridge
            .get("vmq_bridge.tcp.br0.topic.2")
            .map(|v| v.value.as_str()),
        Some("$SYS/* in remote")
    );
}

#[test]
fn includes_resolve_relative_to_the_file_in_order() {
    let cfg = load("with-include/vernemq.conf");
    assert!(cfg.allow_anonymous);
    // The fragment sets 3, then the main file's later line sets 7.
    assert_eq!(cfg.max_inflight_messages, 7);
    let l = &cfg.listeners[0];
    assert_eq!(l.addr.to_string(), "127.0.0.1:1885");
    let origin = &cfg.get("listener.tcp.default").expect("set").origin;
    assert!(
        origin.to_string().ends_with("10-listeners.conf:1"),
        "{origin}"
    );
}

#[test]
fn missing_include_file_is_an_error() {
    let errs = errors_of("include does-not-exist.conf\n", &no_env());
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with("vernemq.conf:1: cannot include"),
        "{errs:?}"
    );
}

#[test]
fn errors_name_file_line_and_key_and_are_all_collected() {
    let text = "allow_anonymous = on\n\
                max_inflight_mesages = 10\n\
                max_inflight_messages = lots\n\
                listener.tcp.default = 127.0.0.1\n\
                queue_type = lifo\n\
                queue_type = random\n\
                persistent_client_expiration = 1x\n\
                max_inflight_messages2 = 3\n";
    let errs = errors_of(text, &no_env());
    assert_eq!(
        errs[0],
        "vernemq.conf:2: unknown key 'max_inflight_mesages'"
    );
    assert!(
        errs[1].starts_with("vernemq.conf:3: invalid value 'lots' for key 'max_inflight_messages'")
    );
    assert!(errs[2]
        .starts_with("vernemq.conf:4: invalid value '127.0.0.1' for key 'listener.tcp.default'"));
    assert_eq!(
        errs[3],
        "vernemq.conf:8: unknown key 'max_inflight_messages2'"
    );
    assert!(errs
        .iter()
        .any(|e| e.starts_with("vernemq.conf:6: invalid value 'random' for key 'queue_type'")));
    assert!(errs.iter().any(|e| e
        .starts_with("vernemq.conf:7: invalid value '1x' for key 'persistent_client_expiration'")));
    assert_eq!(errs.len(), 6, "{errs:#?}");
}

#[test]
fn out_of_range_integers_are_errors() {
    let errs = errors_of("max_inflight_messages = 70000\n", &no_env());
    assert!(errs[0].contains("between 0 and 65535"), "{errs:?}");
    let errs = errors_of("listener.tcp.default = 127.0.0.1:1883\nlistener.tcp.default.allowed_protocol_versions = 3,6\n", &no_env());
    assert!(errs[0].starts_with("vernemq.conf:2:"), "{errs:?}");
}

#[test]
fn documented_but_wrong_keys_are_rejected() {
    // listeners.md shows `mqtt.connect.timeout`; the schema's key is `mqtt_connect_timeout`.
    let errs = errors_of("mqtt.connect.timeout = 30000\n", &no_env());
    assert_eq!(
        errs,
        vec!["vernemq.conf:1: unknown key 'mqtt.connect.timeout'"]
    );
    // balancing.md shows `allow_multiple_sessions` (a VerneMQ 1.x key the 2.1 schema dropped):
    // accepted as an extension so such configurations keep working.
    let cfg = Config::from_str("allow_multiple_sessions = on\n", "vernemq.conf", &no_env())
        .expect("valid");
    assert!(cfg.allow_multiple_sessions);
    let cfg = Config::from_str("mqtt_connect_timeout = 30000\n", "vernemq.conf", &no_env())
        .expect("valid");
    assert_eq!(cfg.mqtt_connect_timeout, Duration::from_secs(30));
}

#[test]
fn publish_backpressure_is_an_opt_in_extension() {
    let cfg = Config::from_str("", "vernemq.conf", &no_env()).expect("valid");
    assert!(!cfg.publish_backpressure, "VerneMQ's behaviour by default");
    let cfg =
        Config::from_str("publish_backpressure = on\n", "vernemq.conf", &no_env()).expect("valid");
    assert!(cfg.publish_backpressure);
    let errs = errors_of("publish_backpressure = maybe\n", &no_env());
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("vernemq.conf:1:"), "{errs:?}");
}

#[test]
fn environment_overrides_file_and_defaults() {
    let e = env(&[
        ("DOCKER_VERNEMQ_ALLOW_ANONYMOUS", "on"),
        ("DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT", "127.0.0.1:1884"),
        ("DOCKER_VERNEMQ_MAX_INFLIGHT_MESSAGES", "1"),
        ("VMQ_MAX_INFLIGHT_MESSAGES", "2"),
        ("VMQ_LISTENER__TCP__DEFAULT__MOUNTPOINT", "env-mp"),
        ("DOCKER_VERNEMQ_ACCEPT_EULA", "yes"),
        ("HOME", "/root"),
    ]);
    let cfg = Config::from_str(
        "listener.tcp.default = 127.0.0.1:1883\nallow_anonymous = off\nretry_interval = 5s\n",
        "vernemq.conf",
        &e,
    )
    .expect("valid");
    assert!(cfg.allow_anonymous);
    assert_eq!(
        cfg.max_inflight_messages, 2,
        "VMQ_ wins over DOCKER_VERNEMQ_"
    );
    assert_eq!(cfg.retry_interval, Duration::from_secs(5));
    assert_eq!(cfg.listeners.len(), 1);
    assert_eq!(cfg.listeners[0].addr.to_string(), "127.0.0.1:1884");
    assert_eq!(cfg.listeners[0].mountpoint, "env-mp");
    assert_eq!(
        cfg.get("allow_anonymous")
            .map(|v| v.origin.to_string())
            .as_deref(),
        Some("env DOCKER_VERNEMQ_ALLOW_ANONYMOUS")
    );
    assert_eq!(
        cfg.get("max_online_messages").map(|v| v.origin.clone()),
        Some(Origin::Default)
    );
}

#[test]
fn bad_environment_values_name_the_variable() {
    let errs = errors_of(
        "",
        &env(&[
            ("DOCKER_VERNEMQ_ALLOW_ANONYMOUS", "maybe"),
            ("VMQ_NO_SUCH_KEY", "1"),
        ]),
    );
    assert_eq!(
        errs,
        vec![
            "env DOCKER_VERNEMQ_ALLOW_ANONYMOUS: invalid value 'maybe' for key 'allow_anonymous': expected on or off",
            "env VMQ_NO_SUCH_KEY: unknown key 'no_such_key'",
        ]
    );
}

#[test]
fn defaults_match_vernemq_2_1() {
    let cfg = Config::default();
    assert!(!cfg.allow_anonymous);
    assert_eq!(cfg.max_client_id_size, 100);
    assert_eq!(cfg.max_inflight_messages, 20);
    assert_eq!(cfg.max_online_messages, 1000);
    assert_eq!(cfg.max_offline_messages, 1000);
    assert_eq!(cfg.retry_interval, Duration::from_secs(20));
    assert_eq!(cfg.queue_type, vmq_conf::QueueType::Fifo);
    assert_eq!(cfg.queue_deliver_mode, QueueDeliverMode::Fanout);
    assert_eq!(cfg.persistent_client_expiration, None);
    assert_eq!(cfg.max_last_will_delay, None);
    assert_eq!(cfg.max_message_size, 0);
    assert_eq!(cfg.max_message_rate, 0);
    assert!(!cfg.upgrade_outgoing_qos);
    assert!(!cfg.allow_multiple_sessions);
    assert_eq!(cfg.mqtt_connect_timeout, Duration::from_millis(5000));
    assert!(!cfg.suppress_lwt_on_session_takeover);
    assert_eq!(cfg.topic_alias_max_client, 0);
    assert_eq!(cfg.topic_alias_max_broker, 0);
    assert_eq!(cfg.receive_max_client, 65535);
    assert_eq!(cfg.receive_max_broker, 65535);
    assert_eq!(
        cfg.shared_subscription_policy,
        SharedSubscriptionPolicy::PreferLocal
    );
    assert!(cfg.systree_enabled);
    assert_eq!(cfg.systree_interval, Duration::from_millis(20_000));
    assert_eq!(cfg.topic_max_depth, 10);
    assert_eq!(cfg.data_dir, PathBuf::from("./data/"));
    assert_eq!(cfg.max_ws_frame_size, Some(268_435_456));
    assert_eq!(cfg.log.console, vmq_conf::LogTarget::File);
    assert_eq!(cfg.log.level, vmq_conf::LogLevel::Info);
    assert_eq!(cfg.log.file, PathBuf::from("./log/console.log"));
    assert_eq!(
        cfg.plugins
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        vec![
            ("vmq_acl", true),
            ("vmq_bridge", false),
            ("vmq_diversity", false),
            ("vmq_passwd", true),
            ("vmq_webhooks", false),
        ]
    );
    assert_eq!(cfg.listeners.len(), 1);
    let l = &cfg.listeners[0];
    assert_eq!((l.kind, l.name.as_str()), (ListenerKind::Tcp, "default"));
    assert_eq!(l.addr.to_string(), "127.0.0.1:1883");
    assert_eq!(l.max_connections, Some(10_000));
    assert_eq!(l.allowed_protocol_versions, vec![3, 4, 5, 131]);
    assert_eq!(l.max_connection_lifetime, None);
    assert_eq!(
        cfg.get("listener.tcp.default").map(|v| v.origin.clone()),
        Some(Origin::Embedded)
    );
    let from_none = Config::load(None, &no_env()).expect("defaults load");
    assert_eq!(from_none.listeners, cfg.listeners);
}

#[test]
fn value_syntaxes() {
    let cfg = Config::from_str(
        "listener.tcp.default = 127.0.0.1:1883\n\
         listener.tcp.default.max_connections = infinity\n\
         listener.tcp.v6 = ::1:1884\n\
         listener.tcp.sock = local:/tmp/vmq.sock:0\n\
         listener.max_connection_lifetime = 1h\n\
         systree_interval = 10s\n\
         log.console.rotation.size = 10MB\n\
         max_last_will_delay = 2h\n\
         max_ws_frame_size = infinity\n\
         nodename = 'weird#name@host' # quoted\n",
        "vernemq.conf",
        &no_env(),
    )
    .expect("valid");
    let def = cfg
        .listeners
        .iter()
        .find(|l| l.name == "default")
        .expect("default");
    assert_eq!(def.max_connections, None);
    assert_eq!(def.max_connection_lifetime, Some(Duration::from_secs(3600)));
    let v6 = cfg.listeners.iter().find(|l| l.name == "v6").expect("v6");
    assert_eq!(v6.addr.to_string(), "[::1]:1884");
    let sock = cfg
        .listeners
        .iter()
        .find(|l| l.name == "sock")
        .expect("sock");
    assert_eq!(sock.local_path, Some(PathBuf::from("/tmp/vmq.sock")));
    assert_eq!(cfg.systree_interval, Duration::from_secs(10));
    assert_eq!(cfg.log.rotation_size, Some(10 * 1024 * 1024));
    assert_eq!(cfg.max_last_will_delay, Some(Duration::from_secs(7200)));
    assert_eq!(cfg.max_ws_frame_size, None);
    assert_eq!(cfg.nodename, "weird#name@host");
}

#[test]
fn unreadable_file_is_an_io_error() {
    let err = Config::load(Some(Path::new("/nonexistent/vernemq.conf")), &no_env())
        .expect_err("missing file");
    assert!(matches!(err.errors[0], ConfigError::Io { .. }));
}
