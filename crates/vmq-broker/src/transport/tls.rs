//! TLS for `ssl`, `wss` and `quic` listeners, with rustls and its `ring` provider.
//!
//! Settings as VerneMQ's (`certfile`, `keyfile`, `cafile`, `require_certificate`,
//! `use_identity_as_username`, `tls_version`, `ciphers`, `crlfile`), with these differences,
//! each refused with an error naming the key rather than ignored:
//! - TLS 1.0 and 1.1 (`tls_version = tlsv1` / `tlsv1.1`): rustls implements TLS 1.2 and 1.3 only.
//! - TLS-PSK (`psk_support = on`, `PSK-*` ciphers): rustls has no PSK cipher suites.
//! - `ciphers` may name only suites rustls implements: the ECDHE AES-GCM and ChaCha20-Poly1305
//!   suites of TLS 1.2 and the three TLS 1.3 suites, by their OpenSSL or IANA names.
//! - `keypasswd` (encrypted private keys): decrypt the key file instead
//!   (`openssl pkey -in enc.pem -out key.pem`).
//!
//! `depth` is not enforced (webpki bounds chains itself). With `require_certificate = off`
//! no client certificate is requested (as VerneMQ's `verify_none`), so
//! `use_identity_as_username` needs `require_certificate = on`.
//!
//! Certificates are reloaded without a restart: the files' modification times are looked at
//! (at most every [`RELOAD_CHECK_INTERVAL`]) when a connection arrives, and a changed set is
//! loaded for the connections that follow; connections already open keep their session. A
//! reload that fails keeps the previous configuration and logs why.
//! [`TlsSource::reload`] forces a reload (VerneMQ's `vmq-admin tls clear-pem-cache`).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use parking_lot::RwLock;
use rustls::{
    crypto::CryptoProvider,
    pki_types::{pem::PemObject, CertificateDer, CertificateRevocationListDer, PrivateKeyDer},
    server::WebPkiClientVerifier,
    CipherSuite, RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::{server::TlsStream, TlsAcceptor};
use tracing::{info, warn};
use vmq_conf::{ListenerKind, TlsOptions, TlsVersion};

use super::TransportError;

/// How often, at most, the certificate files are checked for changes.
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// The ALPN protocol id of MQTT over QUIC.
pub const QUIC_ALPN: &[u8] = b"mqtt";

/// Cipher suites rustls (ring) implements, by OpenSSL name and IANA name.
const CIPHERS: &[(&str, &str, CipherSuite)] = &[
    (
        "TLS_AES_256_GCM_SHA384",
        "TLS13_AES_256_GCM_SHA384",
        CipherSuite::TLS13_AES_256_GCM_SHA384,
    ),
    (
        "TLS_AES_128_GCM_SHA256",
        "TLS13_AES_128_GCM_SHA256",
        CipherSuite::TLS13_AES_128_GCM_SHA256,
    ),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS13_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// Maps one configured cipher name (OpenSSL or IANA spelling) to a rustls suite.
pub fn cipher_suite(name: &str) -> Option<CipherSuite> {
    CIPHERS
        .iter()
        .find(|(openssl, iana, _)| {
            name.eq_ignore_ascii_case(openssl)
                || name.eq_ignore_ascii_case(iana)
                || iana.strip_prefix("TLS13_").is_some_and(|rest| {
                    name.strip_prefix("TLS_")
                        .is_some_and(|n| n.eq_ignore_ascii_case(rest))
                })
        })
        .map(|(_, _, suite)| *suite)
}

/// A listener's TLS configuration, reloaded when its files change.
#[derive(Debug)]
pub struct TlsSource {
    listener: String,
    opts: TlsOptions,
    quic: bool,
    loaded: RwLock<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    config: Arc<ServerConfig>,
    stamps: Vec<Option<(SystemTime, u64)>>,
    checked: Instant,
}

impl TlsSource {
    /// Loads the configuration of listener `listener` (`<kind>.<name>`); `options` are the
    /// listener's raw options (for `psk_support`).
    pub fn new(
        listener: String,
        opts: &TlsOptions,
        kind: ListenerKind,
        options: &BTreeMap<String, String>,
    ) -> Result<TlsSource, TransportError> {
        if let Some(v) = options.get("psk_support") {
            if v == "on" {
                return Err(TransportError::Unsupported {
                    listener,
                    key: "psk_support",
                    value: v.clone(),
                    reason: "TLS-PSK cannot be offered: rustls implements no PSK cipher suites; \
                             use client certificates (require_certificate) instead"
                        .into(),
                });
            }
        }
        let quic = kind == ListenerKind::Quic;
        let stamps = file_stamps(opts);
        let config = build(&listener, opts, quic)?;
        Ok(TlsSource {
            listener,
            opts: opts.clone(),
            quic,
            loaded: RwLock::new(Loaded {
                config,
                stamps,
                checked: Instant::now(),
            }),
        })
    }

    /// The configuration for a new connection, reloaded first if the files changed.
    pub fn current(&self) -> Arc<ServerConfig> {
        {
            let loaded = self.loaded.read();
            if loaded.checked.elapsed() < RELOAD_CHECK_INTERVAL {
                return loaded.config.clone();
            }
        }
        let mut loaded = self.loaded.write();
        if loaded.checked.elapsed() >= RELOAD_CHECK_INTERVAL {
            loaded.checked = Instant::now();
            let stamps = file_stamps(&self.opts);
            if stamps != loaded.stamps {
                loaded.stamps = stamps;
                match build(&self.listener, &self.opts, self.quic) {
                    Ok(config) => {
                        info!(listener = %self.listener, "TLS certificates reloaded");
                        loaded.config = config;
                    }
                    Err(e) => warn!(
                        listener = %self.listener,
                        error = %e,
                        "TLS files changed but could not be loaded; keeping the previous ones"
                    ),
                }
            }
        }
        loaded.config.clone()
    }

    /// Reloads the files now (VerneMQ's `vmq-admin tls clear-pem-cache`).
    pub fn reload(&self) -> Result<(), TransportError> {
        let config = build(&self.listener, &self.opts, self.quic)?;
        let mut loaded = self.loaded.write();
        loaded.config = config;
        loaded.stamps = file_stamps(&self.opts);
        loaded.checked = Instant::now();
        Ok(())
    }

    /// Runs the server side of a TLS handshake on `stream`.
    pub async fn accept<S>(&self, stream: S) -> std::io::Result<TlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        TlsAcceptor::from(self.current()).accept(stream).await
    }
}

/// The CN of the first certificate a client presented, if any.
pub fn peer_common_name(certs: Option<&[CertificateDer<'_>]>) -> Option<String> {
    let first = certs?.first()?;
    let (_, cert) = x509_parser::parse_x509_certificate(first.as_ref()).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}

fn file_stamps(opts: &TlsOptions) -> Vec<Option<(SystemTime, u64)>> {
    [&opts.certfile, &opts.keyfile, &opts.cafile, &opts.crlfile]
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(p.as_ref()?).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        })
        .collect()
}

fn read(listener: &str, key: &'static str, path: &Path) -> Result<Vec<u8>, TransportError> {
    std::fs::read(path).map_err(|source| TransportError::Read {
        listener: listener.to_owned(),
        key,
        path: path.to_owned(),
        source,
    })
}

fn content(listener: &str, key: &'static str, path: &Path, reason: String) -> TransportError {
    TransportError::Content {
        listener: listener.to_owned(),
        key,
        path: path.to_owned(),
        reason,
    }
}

fn certificates(
    listener: &str,
    key: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let pem = read(listener, key, path)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| content(listener, key, path, format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(content(
            listener,
            key,
            path,
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in the file".into(),
        ));
    }
    Ok(certs)
}

fn required<'a>(
    listener: &str,
    key: &'static str,
    value: &'a Option<PathBuf>,
    why: &'static str,
) -> Result<&'a Path, TransportError> {
    value.as_deref().ok_or_else(|| TransportError::Missing {
        listener: listener.to_owned(),
        key,
        why,
    })
}

fn protocol_versions(
    listener: &str,
    opts: &TlsOptions,
    quic: bool,
) -> Result<Vec<&'static SupportedProtocolVersion>, TransportError> {
    if quic {
        // QUIC carries TLS 1.3 by definition (RFC 9001).
        return Ok(vec![&rustls::version::TLS13]);
    }
    let mut out = Vec::new();
    for v in &opts.tls_version {
        match v {
            TlsVersion::Tlsv1_2 => out.push(&rustls::version::TLS12),
            TlsVersion::Tlsv1_3 => out.push(&rustls::version::TLS13),
            TlsVersion::Tlsv1 | TlsVersion::Tlsv1_1 => {
                return Err(TransportError::Unsupported {
                    listener: listener.to_owned(),
                    key: "tls_version",
                    value: if *v == TlsVersion::Tlsv1 {
                        "tlsv1".into()
                    } else {
                        "tlsv1.1".into()
                    },
                    reason: "TLS 1.0 and 1.1 are obsolete (RFC 8996) and rustls does not \
                             implement them; use tlsv1.2 or tlsv1.3"
                        .into(),
                })
            }
        }
    }
    Ok(out)
}

fn provider(listener: &str, opts: &TlsOptions) -> Result<CryptoProvider, TransportError> {
    let mut provider = rustls::crypto::ring::default_provider();
    if opts.ciphers.is_empty() {
        return Ok(provider);
    }
    let mut wanted = Vec::new();
    for name in &opts.ciphers {
        let Some(suite) = cipher_suite(name) else {
            let reason = if name.to_ascii_uppercase().contains("PSK") {
                "TLS-PSK suites are not implemented by rustls".to_owned()
            } else {
                format!(
                    "rustls implements only these suites: {}",
                    CIPHERS
                        .iter()
                        .map(|(o, _, _)| *o)
                        .collect::<Vec<_>>()
                        .join(":")
                )
            };
            return Err(TransportError::Unsupported {
                listener: listener.to_owned(),
                key: "ciphers",
                value: name.clone(),
                reason,
            });
        };
        wanted.push(suite);
    }
    provider
        .cipher_suites
        .retain(|s: &SupportedCipherSuite| wanted.contains(&s.suite()));
    Ok(provider)
}

/// Builds a rustls server configuration from the listener's settings.
fn build(
    listener: &str,
    opts: &TlsOptions,
    quic: bool,
) -> Result<Arc<ServerConfig>, TransportError> {
    if opts.keypasswd.is_some() {
        return Err(TransportError::Unsupported {
            listener: listener.to_owned(),
            key: "keypasswd",
            value: "(set)".into(),
            reason: "encrypted private keys are not supported; decrypt the key file \
                     (openssl pkey -in encrypted.pem -out key.pem) and unset keypasswd"
                .into(),
        });
    }
    let certfile = required(
        listener,
        "certfile",
        &opts.certfile,
        "the server certificate",
    )?;
    let keyfile = required(
        listener,
        "keyfile",
        &opts.keyfile,
        "the server's private key",
    )?;
    let chain = certificates(listener, "certfile", certfile)?;
    let key_pem = read(listener, "keyfile", keyfile)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        content(
            listener,
            "keyfile",
            keyfile,
            format!("no usable private key: {e}"),
        )
    })?;
    let provider = Arc::new(provider(listener, opts)?);
    let versions = protocol_versions(listener, opts, quic)?;
    let tls_err = |e: rustls::Error| TransportError::Tls {
        listener: listener.to_owned(),
        reason: e.to_string(),
    };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(tls_err)?;
    let builder = if opts.require_certificate {
        let cafile = required(
            listener,
            "cafile",
            &opts.cafile,
            "require_certificate = on verifies client certificates against it",
        )?;
        let mut roots = RootCertStore::empty();
        for ca in certificates(listener, "cafile", cafile)? {
            roots
                .add(ca)
                .map_err(|e| content(listener, "cafile", cafile, e.to_string()))?;
        }
        let mut verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
        if let Some(crlfile) = &opts.crlfile {
            let pem = read(listener, "crlfile", crlfile)?;
            let crls: Vec<CertificateRevocationListDer<'static>> =
                CertificateRevocationListDer::pem_slice_iter(&pem)
                    .collect::<Result<_, _>>()
                    .map_err(|e| content(listener, "crlfile", crlfile, format!("bad PEM: {e}")))?;
            if crls.is_empty() {
                return Err(content(
                    listener,
                    "crlfile",
                    crlfile,
                    "no PEM CRL (-----BEGIN X509 CRL-----) in the file".into(),
                ));
            }
            verifier = verifier.with_crls(crls);
        }
        let verifier = verifier.build().map_err(|e| TransportError::Tls {
            listener: listener.to_owned(),
            reason: format!("client certificate verifier: {e}"),
        })?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        content(
            listener,
            "keyfile",
            keyfile,
            format!("does not match the certificate in certfile: {e}"),
        )
    })?;
    if quic {
        config.alpn_protocols = vec![QUIC_ALPN.to_vec()];
        config.max_early_data_size = 0;
    }
    Ok(Arc::new(config))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn cipher_names_map_to_rustls_suites() {
        assert_eq!(
            cipher_suite("ECDHE-RSA-AES128-GCM-SHA256"),
            Some(CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
        );
        assert_eq!(
            cipher_suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            Some(CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
        );
        assert_eq!(
            cipher_suite("TLS_AES_128_GCM_SHA256"),
            Some(CipherSuite::TLS13_AES_128_GCM_SHA256)
        );
        assert_eq!(cipher_suite("AES128-SHA"), None);
        assert_eq!(cipher_suite("PSK-AES128-GCM-SHA256"), None);
    }

    fn opts() -> TlsOptions {
        TlsOptions {
            certfile: Some("/nonexistent/cert.pem".into()),
            keyfile: Some("/nonexistent/key.pem".into()),
            keypasswd: None,
            cafile: None,
            require_certificate: false,
            use_identity_as_username: false,
            tls_version: vec![TlsVersion::Tlsv1_2],
            ciphers: Vec::new(),
            crlfile: None,
            depth: 1,
            handshake_timeout: None,
        }
    }

    #[test]
    fn errors_name_the_key_and_file() {
        let e = build("ssl.default", &opts(), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("listener.ssl.default.certfile"), "{e}");
        assert!(e.contains("/nonexistent/cert.pem"), "{e}");
        let mut o = opts();
        o.certfile = None;
        let e = build("ssl.default", &o, false).unwrap_err().to_string();
        assert!(e.contains("certfile is not set"), "{e}");
    }

    #[test]
    fn obsolete_versions_psk_and_unknown_ciphers_are_refused() {
        let mut o = opts();
        o.tls_version = vec![TlsVersion::Tlsv1_1];
        assert!(matches!(
            protocol_versions("ssl.x", &o, false),
            Err(TransportError::Unsupported {
                key: "tls_version",
                ..
            })
        ));
        let mut o = opts();
        o.ciphers = vec!["PSK-AES256-GCM-SHA384".into()];
        let e = provider("ssl.x", &o).unwrap_err().to_string();
        assert!(
            e.contains("listener.ssl.x.ciphers") && e.contains("PSK"),
            "{e}"
        );
        let options = BTreeMap::from([("psk_support".to_string(), "on".to_string())]);
        let e = TlsSource::new("ssl.x".into(), &opts(), ListenerKind::Ssl, &options)
            .unwrap_err()
            .to_string();
        assert!(e.contains("psk_support"), "{e}");
    }
}
