//! rustls client configuration for DSQL: the ring provider only, full chain and host-name verification against the
//! Amazon roots (webpki-roots) or a PEM file, and failures that name the host and the roots that were checked.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

/// Builds the client configuration. `root_cert` is `--ssl-root-cert`; without it the bundled webpki-roots are used
/// (they include Amazon Root CA 1-4, which sign the DSQL endpoints).
pub fn client_config(root_cert: Option<&Path>) -> Result<ClientConfig, String> {
    // An explicit provider: `ClientConfig::builder()` panics if another crate ever enables aws-lc-rs too.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (roots, described) = match root_cert {
        None => (
            RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() },
            "the Amazon roots bundled with the server (webpki-roots)".to_string(),
        ),
        Some(path) => load_pem_roots(path)?,
    };
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("cannot use the TLS roots from {described}: {e}"))?;
    let verifier = Arc::new(ContextVerifier { inner, roots: described });
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        // Not a relaxation: every check is webpki's; the wrapper only adds the host and roots to its errors.
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

fn load_pem_roots(path: &Path) -> Result<(RootCertStore, String), String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read --ssl-root-cert {shown}: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("--ssl-root-cert {shown} is not a valid PEM file: {e}"))?;
    let mut store = RootCertStore::empty();
    let (added, ignored) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!(
            "--ssl-root-cert {shown} contains no usable CA certificate (expected PEM `BEGIN CERTIFICATE` blocks{})",
            if ignored > 0 { format!("; {ignored} could not be parsed") } else { String::new() }
        ));
    }
    Ok((store, format!("the CA file {shown} ({added} certificate(s))")))
}

/// A certificate verification failure, with the name that was checked and the roots used.
#[derive(Debug, Clone)]
pub struct TlsCheckError {
    /// The host name the certificate was checked for (the endpoint, also with `--hostaddr`).
    pub server_name: String,
    /// Which roots were trusted, in words (the bundled Amazon roots or the `--ssl-root-cert` file).
    pub roots: String,
    /// rustls' verdict.
    pub cause: rustls::Error,
}

impl fmt::Display for TlsCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server certificate for {} was not accepted (checked against {}): {}",
            self.server_name, self.roots, self.cause
        )
    }
}

impl std::error::Error for TlsCheckError {}

#[derive(Debug)]
struct ContextVerifier {
    inner: Arc<WebPkiServerVerifier>,
    roots: String,
}

impl ServerCertVerifier for ContextVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now).map_err(|cause| {
            let err =
                TlsCheckError { server_name: server_name.to_str().into_owned(), roots: self.roots.clone(), cause };
            rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(Arc::new(err))))
        })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

/// Finds a [`TlsCheckError`] (or another rustls error) in an error's cause chain (`crate::error_chain`, which
/// also looks inside `io::Error` payloads).
pub fn find_tls_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<TlsFailure<'a>> {
    crate::error_chain::causes(err).find_map(|e| {
        if let Some(check) = e.downcast_ref::<TlsCheckError>() {
            return Some(TlsFailure::Certificate(check));
        }
        let rustls_err = e.downcast_ref::<rustls::Error>()?;
        if let rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) = rustls_err
            && let Some(check) = other.0.downcast_ref::<TlsCheckError>()
        {
            return Some(TlsFailure::Certificate(check));
        }
        Some(TlsFailure::Other(rustls_err))
    })
}

/// What [`find_tls_error`] found.
#[derive(Debug)]
pub enum TlsFailure<'a> {
    /// The server's certificate was not accepted.
    Certificate(&'a TlsCheckError),
    /// Any other TLS failure (handshake, protocol).
    Other(&'a rustls::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_roots_build_with_ring() {
        let cfg = client_config(None).unwrap();
        assert_eq!(cfg.crypto_provider().cipher_suites, rustls::crypto::ring::default_provider().cipher_suites);
    }

    #[test]
    fn missing_or_empty_root_files_are_named_in_the_error() {
        let err = client_config(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(err.contains("cannot read --ssl-root-cert /nonexistent/ca.pem"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = client_config(Some(&empty)).unwrap_err();
        assert!(err.contains("contains no usable CA certificate"), "{err}");
    }

    #[test]
    fn tls_errors_are_found_through_io_errors() {
        let check = TlsCheckError {
            server_name: "abc.dsql.us-east-1.on.aws".into(),
            roots: "the CA file x".into(),
            cause: rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        };
        let wrapped =
            rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(Arc::new(check))));
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, wrapped);
        match find_tls_error(&io) {
            Some(TlsFailure::Certificate(c)) => assert_eq!(c.server_name, "abc.dsql.us-east-1.on.aws"),
            other => panic!("not found: {other:?}"),
        }
    }
}
