//! A front for the test PostgreSQL that answers the first connections the way a DSQL cluster that is still waking up
//! does (TLS with the cluster's certificate, then `FATAL: waking up cluster, please retry later`) and pipes every
//! later connection through to PostgreSQL unchanged.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::certs::ServerCert;

pub const WAKING_MESSAGE: &str = "waking up cluster, please retry later";

pub struct WakingProxy {
    pub port: u16,
    /// Connections accepted so far (waking answers plus piped ones).
    pub accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl WakingProxy {
    /// The first `waking_for` connections get the waking error; `waking_for = usize::MAX` never lets one through.
    pub async fn start(upstream_port: u16, cert: &ServerCert, waking_for: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let acceptor = TlsAcceptor::from(Arc::new(server_config(cert)));
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if n < waking_for {
                        let _ = answer_waking(client, acceptor).await;
                    } else {
                        let _ = pipe(client, upstream_port).await;
                    }
                });
            }
        });
        Self { port, accepted, task }
    }
}

impl Drop for WakingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn server_config(cert: &ServerCert) -> rustls::ServerConfig {
    let chain = vec![CertificateDer::from_pem_slice(cert.cert_pem.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap();
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap()
}

async fn answer_waking(mut client: TcpStream, acceptor: TlsAcceptor) -> std::io::Result<()> {
    let mut ssl_request = [0u8; 8];
    client.read_exact(&mut ssl_request).await?;
    client.write_all(b"S").await?;
    let mut tls = acceptor.accept(client).await?;
    let len = tls.read_u32().await? as usize;
    let mut startup = vec![0u8; len.saturating_sub(4)];
    tls.read_exact(&mut startup).await?;
    // SQLSTATE XX000 on purpose: the retry must key on the message, as DSQL's code for this is not documented.
    let mut fields = Vec::new();
    for (tag, value) in [(b'S', "FATAL"), (b'V', "FATAL"), (b'C', "XX000"), (b'M', WAKING_MESSAGE)] {
        fields.push(tag);
        fields.extend_from_slice(value.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut msg = vec![b'E'];
    msg.extend_from_slice(&((fields.len() + 4) as u32).to_be_bytes());
    msg.extend_from_slice(&fields);
    tls.write_all(&msg).await?;
    tls.shutdown().await
}

async fn pipe(mut client: TcpStream, upstream_port: u16) -> std::io::Result<()> {
    let mut server = TcpStream::connect(("127.0.0.1", upstream_port)).await?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await.map(|_| ())
}
