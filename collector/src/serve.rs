//! The TLS listeners. We accept TLS ourselves (tokio-rustls) instead of using
//! `axum::serve` so each connection's client certificate can be read once and
//! attached to every request on it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::api::extract::RemoteAddr;
use crate::catalog::Catalog;
use crate::config::CollectorConfig;
use crate::http::{self, AppState, PeerIdentity};
use crate::pki::{self, Authority};
use crate::store::Store;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A collector with its listeners bound, ready to run.
pub struct Server {
    ingest: TcpListener,
    api: TcpListener,
    ingest_tls: TlsAcceptor,
    api_tls: TlsAcceptor,
    state: AppState,
    max_batch_bytes: usize,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addresses", &self.addresses())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Load keys and configuration from `dir`, open the database and bind.
    pub async fn bind(dir: &Path) -> anyhow::Result<Self> {
        let config = CollectorConfig::load(dir)?;
        let ca = Authority::load(dir).context("loading the CA")?;
        let (ingest_tls, api_tls) = tls_configs(dir)?;
        let store = Store::open(&config.database_url_in(dir))
            .await
            .context("opening the database")?;
        let catalog = Arc::new(Catalog::bundled().context("loading the bundled catalog")?);
        if !store.catalog_imported(&catalog.version).await? {
            let log = store.import_catalog(&catalog, "bundled", &[]).await?;
            tracing::info!(version = %log.version, created = log.created, "Catalog imported.");
        }
        let ingest = TcpListener::bind(config.ingest_listen)
            .await
            .with_context(|| {
                format!("cannot listen on {} (ingest_listen)", config.ingest_listen)
            })?;
        let api = TcpListener::bind(config.api_listen)
            .await
            .with_context(|| format!("cannot listen on {} (api_listen)", config.api_listen))?;
        Ok(Self {
            ingest,
            api,
            ingest_tls,
            api_tls,
            state: AppState {
                store,
                ca: Arc::new(ca),
                public_ingest_url: config.public_ingest_url,
                catalog,
                public_api_url: config.public_api_url,
                auth: http::AuthSettings {
                    session: config.auth.session(),
                    throttle: config.auth.throttle(),
                },
            },
            max_batch_bytes: config.max_batch_bytes,
        })
    }

    /// Bound addresses (ingest, api).
    pub fn addresses(&self) -> (SocketAddr, SocketAddr) {
        (
            self.ingest.local_addr().expect("bound socket"),
            self.api.local_addr().expect("bound socket"),
        )
    }

    /// Serve until `shutdown` resolves.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        let ingest_router = http::ingest_router(self.state.clone(), self.max_batch_bytes);
        let api_router = http::api_router(self.state.clone());
        let ingest = tokio::spawn(accept_loop(
            self.ingest,
            self.ingest_tls,
            ingest_router,
            true,
        ));
        let api = tokio::spawn(accept_loop(self.api, self.api_tls, api_router, false));
        shutdown.await;
        ingest.abort();
        api.abort();
        self.state.store.close().await;
        Ok(())
    }
}

fn tls_configs(dir: &Path) -> anyhow::Result<(TlsAcceptor, TlsAcceptor)> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server_cert =
        CertificateDer::from_pem_file(dir.join("server.crt")).context("server.crt")?;
    let ca_cert = CertificateDer::from_pem_file(dir.join("ca.crt")).context("ca.crt")?;
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).context("server.key")?;
    // The chain includes the CA so agents can pin it by fingerprint at enrollment.
    let chain = vec![server_cert, ca_cert.clone()];
    let mut roots = RootCertStore::empty();
    roots.add(ca_cert)?;
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;
    let mut ingest = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain.clone(), key.clone_key())?;
    let mut api = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    for c in [&mut ingest, &mut api] {
        c.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    }
    Ok((
        TlsAcceptor::from(Arc::new(ingest)),
        TlsAcceptor::from(Arc::new(api)),
    ))
}

async fn accept_loop(listener: TcpListener, tls: TlsAcceptor, router: Router, mtls: bool) {
    loop {
        let (tcp, remote) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Out of file descriptors and the like: back off, do not spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let tls = tls.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::info!(%remote, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::info!(%remote, "TLS handshake timed out");
                    return;
                }
            };
            let peer = mtls.then(|| {
                let certs = stream.get_ref().1.peer_certificates();
                let leaf = certs.and_then(|c| c.first());
                PeerIdentity(match leaf {
                    Some(c) => pki::peer_agent(c).map_err(|e| e.to_string()),
                    None => Err("no client certificate".to_string()),
                })
            });
            let service = tower::service_fn(move |mut req: Request<Incoming>| {
                if let Some(p) = &peer {
                    req.extensions_mut().insert(p.clone());
                }
                req.extensions_mut().insert(RemoteAddr(remote));
                router.clone().oneshot(req)
            });
            let conn = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .await;
            if let Err(e) = conn {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
        });
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("Shutting down.");
}
