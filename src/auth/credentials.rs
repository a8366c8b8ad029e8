//! AWS credentials for signing: the standard chain (with the ring-only HTTPS client), loaded lazily once and cached
//! until shortly before expiry, because the token generator itself re-resolves credentials on every call. A profile
//! named explicitly is used strictly: only that profile, never the rest of the chain.

use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_async::time::SharedTimeSource;
use aws_smithy_http_client::tls;
use aws_types::region::Region;
use tokio::sync::{Mutex, OnceCell};

use super::error::{AuthError, AuthErrorKind, ProfileChoice};

/// Refresh this long before the credentials' own expiry, so a token is never signed with keys about to lapse.
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// Credentials without an expiry (static keys) are re-read this often, so a rotated profile is picked up.
const NO_EXPIRY_REUSE: Duration = Duration::from_secs(15 * 60);

pub(crate) enum CredentialSource {
    Static(Credentials),
    Chain { profile: ProfileChoice, region: String, provider: OnceCell<Option<SharedCredentialsProvider>> },
}

pub(crate) struct CredentialCache {
    source: CredentialSource,
    clock: SharedTimeSource,
    cached: Mutex<Option<(Credentials, SystemTime)>>,
}

impl CredentialCache {
    pub fn new(source: CredentialSource, clock: SharedTimeSource) -> Self {
        Self { source, clock, cached: Mutex::new(None) }
    }

    /// Returns cached credentials, or loads them (one loader at a time; failures are not cached).
    pub async fn get(&self) -> Result<Credentials, AuthError> {
        let mut cached = self.cached.lock().await;
        let now = self.clock.now();
        if let Some((creds, refresh_at)) = cached.as_ref()
            && now < *refresh_at
        {
            return Ok(creds.clone());
        }
        let creds = self.load().await?;
        let refresh_at = match creds.expiry() {
            Some(expiry) => {
                if expiry <= now {
                    let ago = now.duration_since(expiry).unwrap_or_default().as_secs();
                    return Err(AuthError::expired(ago, self.profile()));
                }
                // Short-lived credentials (under 5 min left) are still usable once; reload on the next token.
                expiry.checked_sub(REFRESH_BEFORE_EXPIRY).unwrap_or(now).max(now)
            }
            None => now + NO_EXPIRY_REUSE,
        };
        *cached = Some((creds.clone(), refresh_at));
        Ok(creds)
    }

    fn profile(&self) -> Option<&ProfileChoice> {
        match &self.source {
            CredentialSource::Static(_) => None,
            CredentialSource::Chain { profile, .. } => Some(profile),
        }
    }

    async fn load(&self) -> Result<Credentials, AuthError> {
        match &self.source {
            CredentialSource::Static(creds) => Ok(creds.clone()),
            CredentialSource::Chain { profile, region, provider } => {
                let provider = provider
                    .get_or_init(|| load_chain(profile.explicit.clone(), region.clone()))
                    .await
                    .clone()
                    .ok_or_else(|| {
                        AuthError::new(
                            AuthErrorKind::NoCredentials,
                            "no AWS credentials found: the AWS configuration defines no credential provider",
                        )
                    })?;
                provider.provide_credentials().await.map_err(|e| AuthError::from_credentials(&e, profile))
            }
        }
    }
}

/// aws-config without default features has no HTTP client; SSO, STS (web identity, assume-role), ECS and IMDS
/// sources need one, so give it the ring-based client (never aws-lc).
async fn load_chain(profile: Option<String>, region: String) -> Option<SharedCredentialsProvider> {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .build_https();
    if let Some(p) = profile {
        // A profile named by the user (`--profile`, a cluster's `profile`) is used strictly: only that profile of
        // the shared config and credentials files (static keys, SSO, credential_process, assume-role chains it
        // names). The default chain would try environment keys first and, if the profile cannot be found, go on
        // to other sources: a named cluster could then run as someone else.
        let config = ProviderConfig::default()
            .with_region(Some(Region::new(region)))
            .with_http_client(http)
            .with_behavior_version(Some(BehaviorVersion::latest()));
        let provider = ProfileFileCredentialsProvider::builder().configure(&config).profile_name(p).build();
        return Some(SharedCredentialsProvider::new(provider));
    }
    // No profile named: the standard chain (environment keys, AWS_PROFILE or `default`, SSO, web identity, ECS,
    // IMDS).
    let loader = aws_config::defaults(BehaviorVersion::latest()).region(Region::new(region)).http_client(http);
    loader.load().await.credentials_provider()
}
