//! TLS: rustls with the suites SGP.22 asks for, serving the axum router.

use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rustls::crypto::aws_lc_rs as provider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::Error;

/// A rustls server configuration: TLS 1.3, and TLS 1.2 restricted to
/// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (SGP.22 §2.6.6), serving `chain` (DPtls first,
/// DER) with its PKCS#8 key.
///
/// # Errors
/// [`Error::Tls`] if the key does not fit the certificate or is unsupported.
pub fn tls_config(chain: Vec<Vec<u8>>, key_pkcs8: Vec<u8>) -> Result<rustls::ServerConfig, Error> {
    let mut p = provider::default_provider();
    p.cipher_suites = vec![
        provider::cipher_suite::TLS13_AES_128_GCM_SHA256,
        provider::cipher_suite::TLS13_AES_256_GCM_SHA384,
        provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ];
    let certs = chain.into_iter().map(CertificateDer::from).collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pkcs8));
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(p))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Serves `app` over TLS on `listener` until the task is dropped.
///
/// # Errors
/// [`Error::Io`] if accepting fails.
pub async fn serve_tls(
    listener: TcpListener,
    config: rustls::ServerConfig,
    app: Router,
) -> Result<(), Error> {
    let acceptor = TlsAcceptor::from(Arc::new(config));
    loop {
        let (tcp, peer) = listener.accept().await?;
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
            };
            let svc = TowerToHyperService::new(app);
            if let Err(e) = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), svc)
                .await
            {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
        });
    }
}
