//! IAM authentication for Aurora DSQL: cached AWS credentials, per-connection auth tokens (`admin` signs
//! `DbConnectAdmin`, every other role `DbConnect`), and the `token` subcommand.

mod command;
mod credentials;
pub mod endpoint;
mod error;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sdk_dsql::auth_token::{AuthTokenGenerator, Config as TokenConfig};
use aws_smithy_async::time::{SharedTimeSource, StaticTimeSource, SystemTimeSource};
use aws_types::SdkConfig;
use aws_types::region::Region;

pub use command::{TokenCommand, token_command};
pub use credentials::REFRESH_BEFORE_EXPIRY;
pub use error::{AuthError, AuthErrorKind};

use credentials::{CredentialCache, CredentialSource};
use error::ProfileChoice;

/// The DSQL role that needs `DbConnectAdmin`; every other role connects with `DbConnect`.
pub const ADMIN_USER: &str = "admin";

/// Default token lifetime, as `aws dsql generate-db-connect-auth-token`.
pub const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(900);

/// What every IAM auth token of one cluster is signed with; checked once by [`TokenSettings::validate`].
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// Cluster endpoint, `name` or `name:port`; only the name is signed.
    pub endpoint: String,
    /// The AWS region the token is signed for; must match a standard endpoint's region.
    pub region: String,
    /// Database role; `admin` selects `DbConnectAdmin`.
    pub user: String,
    /// How long each token stays valid for opening a connection (open connections outlive it).
    pub expires_in: Duration,
    /// Shared-config profile (`--profile`); `None` uses AWS_PROFILE or `default`.
    pub profile: Option<String>,
}

impl TokenSettings {
    /// Checks endpoint, region, user and lifetime, so configuration errors show at startup, not at the first query.
    pub fn validate(&self) -> Result<(), AuthError> {
        let ep = endpoint::parse_endpoint(&self.endpoint).map_err(AuthError::invalid)?;
        endpoint::check_region(&self.region, &ep.host).map_err(AuthError::invalid)?;
        if self.user.trim().is_empty() {
            return Err(AuthError::invalid(
                "the database user is empty: pass --database_user (e.g. admin, or a role mapped with AWS IAM GRANT)",
            ));
        }
        endpoint::check_expires_in(self.expires_in.as_secs()).map_err(AuthError::invalid)
    }

    /// The IAM action the token is signed for.
    pub fn action(&self) -> &'static str {
        if self.user == ADMIN_USER { "DbConnectAdmin" } else { "DbConnect" }
    }
}

/// Makes auth tokens; cheap to clone (shared cache and counter).
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    settings: TokenSettings,
    clock: SharedTimeSource,
    credentials: CredentialCache,
    issued: AtomicU64,
}

impl TokenSource {
    /// Credentials from the standard AWS chain, loaded at the first token.
    pub fn new(settings: TokenSettings) -> Self {
        let source = CredentialSource::Chain {
            profile: ProfileChoice::detect(settings.profile.clone()),
            region: settings.region.trim().to_string(),
            provider: Default::default(),
        };
        Self::build(settings, source, SharedTimeSource::new(SystemTimeSource::new()))
    }

    /// Fixed credentials and, optionally, a fixed clock (tests, and reproducing a token exactly).
    pub fn with_static(settings: TokenSettings, creds: Credentials, fixed_time: Option<SystemTime>) -> Self {
        let clock = match fixed_time {
            Some(t) => SharedTimeSource::new(StaticTimeSource::new(t)),
            None => SharedTimeSource::new(SystemTimeSource::new()),
        };
        Self::build(settings, CredentialSource::Static(creds), clock)
    }

    fn build(settings: TokenSettings, source: CredentialSource, clock: SharedTimeSource) -> Self {
        Self {
            inner: Arc::new(Inner {
                credentials: CredentialCache::new(source, clock.clone()),
                settings,
                clock,
                issued: AtomicU64::new(0),
            }),
        }
    }

    /// What this source signs its tokens with.
    pub fn settings(&self) -> &TokenSettings {
        &self.inner.settings
    }

    /// How many tokens this source (and its clones) has produced: one per new connection.
    pub fn tokens_issued(&self) -> u64 {
        self.inner.issued.load(Ordering::Relaxed)
    }

    /// A fresh token. It is a password: never log it.
    pub async fn token(&self) -> Result<String, AuthError> {
        let s = &self.inner.settings;
        s.validate()?;
        let host = endpoint::parse_endpoint(&s.endpoint).map_err(AuthError::invalid)?.host;
        let region = Region::new(s.region.trim().to_string());
        let creds = self.inner.credentials.get().await?;
        let config = TokenConfig::builder()
            .hostname(host)
            .region(region.clone())
            .expires_in(s.expires_in.as_secs())
            .credentials(creds)
            .build()
            .map_err(|e| AuthError::new(AuthErrorKind::Signing, format!("building the token signer failed: {e}")))?;
        // The generator takes its clock only from an SdkConfig.
        let sdk = SdkConfig::builder().region(region).time_source(self.inner.clock.clone()).build();
        let generator = AuthTokenGenerator::new(config);
        let token = if s.action() == "DbConnectAdmin" {
            generator.db_connect_admin_auth_token(&sdk).await
        } else {
            generator.db_connect_auth_token(&sdk).await
        }
        .map_err(|e| AuthError::new(AuthErrorKind::Signing, format!("signing the DSQL auth token failed: {e}")))?;
        self.inner.issued.fetch_add(1, Ordering::Relaxed);
        Ok(token.as_str().to_string())
    }
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("settings", &self.inner.settings)
            .field("tokens_issued", &self.tokens_issued())
            .finish_non_exhaustive()
    }
}
