//! The `token` subcommand: one auth token made exactly as the server makes them, for `psql` and debugging.

use std::time::Duration;

use super::{ADMIN_USER, AuthError, TokenSettings, TokenSource};

/// Arguments of `aurora-dsql-mcp-rs token` (the lead fills them from flags and env fallbacks).
#[derive(Debug, Clone)]
pub struct TokenCommand {
    /// The cluster endpoint the token is signed for (`name` or `name:port`).
    pub endpoint: String,
    /// The AWS region the token is signed for.
    pub region: String,
    /// Database role; `admin` signs `DbConnectAdmin`. With neither this nor `admin`, a `DbConnect` token is made,
    /// like `aws dsql generate-db-connect-auth-token` (valid for any non-admin role).
    pub user: Option<String>,
    /// `--admin`: sign a `DbConnectAdmin` token for the role `admin`.
    pub admin: bool,
    /// Token lifetime, in seconds (`--expires-in`).
    pub expires_in: u64,
    /// AWS shared-config profile the credentials come from; `None` uses the default chain.
    pub profile: Option<String>,
}

impl TokenCommand {
    /// The settings the server would use for the same flags.
    pub fn settings(&self) -> Result<TokenSettings, AuthError> {
        let user = match (self.admin, self.user.as_deref().map(str::trim)) {
            (true, Some(u)) if !u.is_empty() && u != ADMIN_USER => {
                return Err(AuthError::invalid(format!(
                    "--admin signs for the role 'admin', but --database-user is '{u}': pass one of them"
                )));
            }
            (true, _) => ADMIN_USER.to_string(),
            (false, Some(u)) if !u.is_empty() => u.to_string(),
            // Any non-admin name selects DbConnect; the name itself is not part of the token.
            (false, _) => "postgres".to_string(),
        };
        let settings = TokenSettings {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            user,
            expires_in: Duration::from_secs(self.expires_in),
            profile: self.profile.clone().filter(|p| !p.trim().is_empty()),
        };
        settings.validate()?;
        Ok(settings)
    }
}

/// Returns the token; the caller prints it on stdout (and nothing else there).
pub async fn token_command(cmd: TokenCommand) -> Result<String, AuthError> {
    TokenSource::new(cmd.settings()?).token().await
}
