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
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::api::extract::RemoteAddr;
use crate::catalog::Catalog;
use crate::config::{CollectorConfig, LimitsConfig};
use crate::http::{self, AppState, PeerIdentity};
use crate::limits::Guard;
use crate::pki::{self, Authority};
use crate::revocation::{RevocationVerifier, RevokedAgents};
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
    limits: LimitsConfig,
    revocation_refresh: Duration,
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
        let store = Store::open(&config.database_url_in(dir))
            .await
            .context("opening the database")?;
        let guard = Guard::new(&config.limits, config.max_batch_bytes);
        guard
            .revoked
            .refresh(&store)
            .await
            .context("reading the revoked agents")?;
        let (ingest_tls, api_tls) = tls_configs(dir, guard.revoked.clone())?;
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
                guard,
            },
            limits: config.limits,
            revocation_refresh: Duration::from_secs(config.revocation_refresh_secs.max(1)),
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
        let ingest_router = http::ingest_router(self.state.clone());
        let api_router = http::api_router(self.state.clone());
        let l = &self.limits;
        let ingest = tokio::spawn(accept_loop(
            self.ingest,
            self.ingest_tls,
            ingest_router,
            true,
            Listener::new(l, l.ingest_max_connections),
        ));
        let api = tokio::spawn(accept_loop(
            self.api,
            self.api_tls,
            api_router,
            false,
            Listener::new(l, l.api_max_connections),
        ));
        let refresh = tokio::spawn(
            self.state
                .guard
                .revoked
                .clone()
                .refresh_forever(self.state.store.clone(), self.revocation_refresh),
        );
        shutdown.await;
        ingest.abort();
        api.abort();
        refresh.abort();
        self.state.store.close().await;
        Ok(())
    }
}

fn tls_configs(dir: &Path, revoked: RevokedAgents) -> anyhow::Result<(TlsAcceptor, TlsAcceptor)> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server_cert =
        CertificateDer::from_pem_file(dir.join("server.crt")).context("server.crt")?;
    let ca_cert = CertificateDer::from_pem_file(dir.join("ca.crt")).context("ca.crt")?;
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).context("server.key")?;
    // The chain includes the CA so agents can pin it by fingerprint at enrollment.
    let chain = vec![server_cert, ca_cert.clone()];
    let mut roots = RootCertStore::empty();
    roots.add(ca_cert)?;
    let webpki =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;
    let verifier = Arc::new(RevocationVerifier::new(webpki, revoked));
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

/// What each listener holds its clients to, from `[limits]`.
struct Listener {
    /// Open connections; the next one is accepted when one closes.
    connections: Arc<Semaphore>,
    /// Time to send a request's headers (HTTP/1.1; also bounds an idle
    /// keep-alive connection).
    header_timeout: Duration,
    /// Largest request head, in bytes.
    max_header_bytes: usize,
}

/// Streams one HTTP/2 connection may have open at once: an agent pushes one
/// batch at a time, a browser loads a page's assets.
const MAX_STREAMS: u32 = 32;

impl Listener {
    fn new(l: &LimitsConfig, max_connections: usize) -> Self {
        Self {
            connections: Arc::new(Semaphore::new(max_connections.max(1))),
            header_timeout: Duration::from_secs(l.header_timeout_secs.max(1)),
            // hyper's smallest read buffer.
            max_header_bytes: l.max_header_bytes.max(8192),
        }
    }

    /// hyper's connection settings: header size and time, HTTP/2 streams.
    fn builder(&self) -> auto::Builder<TokioExecutor> {
        let mut b = auto::Builder::new(TokioExecutor::new());
        b.http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout)
            .max_buf_size(self.max_header_bytes)
            .max_headers(128);
        b.http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(MAX_STREAMS)
            .max_header_list_size(u32::try_from(self.max_header_bytes).unwrap_or(u32::MAX))
            // A peer that stops answering pings is gone: free its slot.
            .keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(self.header_timeout);
        b
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: TlsAcceptor,
    router: Router,
    mtls: bool,
    limits: Listener,
) {
    let builder = Arc::new(limits.builder());
    loop {
        // Past the connection limit, new clients wait in the kernel's
        // backlog until a connection closes: the header and body deadlines
        // bound how long any one can hold its slot.
        let Ok(permit) = limits.connections.clone().acquire_owned().await else {
            return;
        };
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
        let builder = builder.clone();
        tokio::spawn(async move {
            let _permit = permit;
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
            let conn = builder
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
