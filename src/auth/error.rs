//! `AuthError`: why no token could be made, which credential sources were tried, and what the user should run.

use std::error::Error as StdError;
use std::fmt;

use aws_config::meta::ProviderChainError;
use aws_credential_types::provider::error::CredentialsError;

/// What went wrong, for callers that branch on it (the message is what users read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthErrorKind {
    /// Endpoint, region, user or lifetime is malformed.
    InvalidSettings,
    /// No source in the credential chain had credentials.
    NoCredentials,
    /// A source had credentials but they have expired (SSO session, session token, credential_process output).
    CredentialsExpired,
    /// A source was configured but failed (bad profile, SSO/STS call failed, ...).
    CredentialsFailed,
    /// Signing the token failed.
    Signing,
}

/// Why no IAM token could be made: a [`AuthErrorKind`] to branch on and a message that says what to run.
#[derive(Debug, Clone)]
pub struct AuthError {
    kind: AuthErrorKind,
    message: String,
}

impl AuthError {
    /// What went wrong, for callers that branch on it.
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    pub(crate) fn new(kind: AuthErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(AuthErrorKind::InvalidSettings, message)
    }

    /// Turns a credential-chain failure into a message naming the sources tried and the fix.
    pub(crate) fn from_credentials(err: &CredentialsError, profile: &ProfileChoice) -> Self {
        let detail = crate::error_chain::text(err);
        let tried = tried_sources(err, profile);
        let lower = detail.to_ascii_lowercase();
        let login = format!("`aws sso login --profile {}`", profile.name());
        let (kind, what, fix) = match err {
            CredentialsError::CredentialsNotLoaded(_) => (
                AuthErrorKind::NoCredentials,
                "no AWS credentials found".to_string(),
                format!(
                    "set AWS_PROFILE (or pass --profile) to a profile listed by `aws configure list-profiles`; \
                     or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary keys); \
                     or run `aws configure`; for IAM Identity Center (SSO) profiles run {login}"
                ),
            ),
            _ if lower.contains("sso") => (
                AuthErrorKind::CredentialsExpired,
                format!("the AWS credentials from {} could not be used: {detail}", profile.describe()),
                format!("the IAM Identity Center (SSO) session is missing or expired: run {login}, then retry"),
            ),
            _ if lower.contains("expired") => (
                AuthErrorKind::CredentialsExpired,
                format!("the AWS credentials from {} could not be used: {detail}", profile.describe()),
                format!(
                    "run {login} if it is an SSO profile, re-export fresh AWS_SESSION_TOKEN keys, \
                     or rerun whatever refreshes your credential_process, then retry"
                ),
            ),
            _ => (
                AuthErrorKind::CredentialsFailed,
                format!("loading AWS credentials failed: {detail}"),
                format!(
                    "check {} with `aws sts get-caller-identity --profile {}`; for SSO run {login}; \
                     or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead",
                    profile.describe(),
                    profile.name()
                ),
            ),
        };
        Self::new(kind, format!("{what}.\nTried: {tried}.\nFix: {fix}."))
    }

    /// `profile` is `None` for credentials handed in directly (no chain involved).
    pub(crate) fn expired(expiry_secs_ago: u64, profile: Option<&ProfileChoice>) -> Self {
        let (from, login) = match profile {
            Some(p) => (p.describe(), format!("`aws sso login --profile {}`", p.name())),
            None => ("the supplied static credentials".to_string(), "`aws sso login`".to_string()),
        };
        Self::new(
            AuthErrorKind::CredentialsExpired,
            format!(
                "the AWS credentials from {from} expired {expiry_secs_ago} s ago.\nFix: run {login} for an SSO \
                 profile, or export fresh temporary keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, \
                 AWS_SESSION_TOKEN), then retry."
            ),
        )
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for AuthError {}

/// Which shared-config profile the chain reads, and where that choice came from (for messages).
#[derive(Debug, Clone)]
pub(crate) struct ProfileChoice {
    pub explicit: Option<String>,
    pub from_env: Option<String>,
}

impl ProfileChoice {
    pub fn detect(explicit: Option<String>) -> Self {
        let from_env = std::env::var("AWS_PROFILE").ok().filter(|p| !p.trim().is_empty());
        Self { explicit, from_env }
    }

    pub fn name(&self) -> &str {
        self.explicit.as_deref().or(self.from_env.as_deref()).unwrap_or("default")
    }

    pub fn describe(&self) -> String {
        match (&self.explicit, &self.from_env) {
            (Some(p), _) => format!("profile '{p}' (--profile)"),
            (None, Some(p)) => format!("profile '{p}' (AWS_PROFILE)"),
            (None, None) => "the 'default' profile".to_string(),
        }
    }
}

/// The chain reports each attempt only when nothing loaded; otherwise the first failing source stopped it.
fn tried_sources(err: &CredentialsError, profile: &ProfileChoice) -> String {
    let chain = err.source().and_then(|s| s.downcast_ref::<ProviderChainError<CredentialsError>>());
    match chain {
        Some(chain) if !chain.attempts().is_empty() => chain
            .attempts()
            .iter()
            .map(|a| format!("{} ({})", friendly_source(a.name(), profile), attempt_reason(a.error())))
            .collect::<Vec<_>>()
            .join("; "),
        _ => format!(
            "the standard AWS chain: environment variables, then {} in ~/.aws/config and ~/.aws/credentials \
             (static keys, SSO, assume-role, credential_process), web identity, container and instance roles",
            profile.describe()
        ),
    }
}

/// "not enabled" is the SDK's wording for "not configured"; the cause under it says what was missing.
fn attempt_reason(err: &CredentialsError) -> String {
    match (err, err.source()) {
        (CredentialsError::CredentialsNotLoaded(_), Some(cause)) => crate::error_chain::text(cause),
        (CredentialsError::CredentialsNotLoaded(_), None) => "not configured".to_string(),
        _ => crate::error_chain::text(err),
    }
}

fn friendly_source(name: &str, profile: &ProfileChoice) -> String {
    match name {
        "Environment" => "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY".to_string(),
        "Profile" => format!("{} in ~/.aws/config and ~/.aws/credentials", profile.describe()),
        "WebIdentityToken" => "web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN)".to_string(),
        "EcsContainer" => "container credentials (ECS task role / EKS pod identity)".to_string(),
        "Ec2InstanceMetadata" => "EC2 instance role (IMDS)".to_string(),
        other => other.to_string(),
    }
}
