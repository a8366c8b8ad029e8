//! Who a request speaks for: the identity a confirmation is bound to, so only the caller it was asked of can
//! answer it. Over stdio there is one caller ([`Principal::stdio`]); over HTTP `http` decides it from the credential
//! the request carried (the one bearer token, or a JWT's `iss` and `sub`) and puts it in the request's extensions,
//! where the server reads it. It lives here, below both, because neither room may use the other.

/// One caller's identity; compared, never shown to another caller.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Principal(String);

impl Principal {
    /// The one client of a stdio server (the process that started it).
    pub fn stdio() -> Principal {
        Principal("stdio".into())
    }

    /// An HTTP request when no credential is configured (loopback only): every caller is the same one.
    pub fn anonymous() -> Principal {
        Principal("anonymous".into())
    }

    /// Whoever holds the static bearer token: there is one token, so one principal.
    pub fn token() -> Principal {
        Principal("token".into())
    }

    /// A JWT's subject at its issuer. Encoded as a JSON pair so no choice of `iss` and `sub` spells another one.
    pub fn jwt(issuer: &str, subject: &str) -> Principal {
        Principal(format!("jwt:{}", serde_json::json!([issuer, subject])))
    }

    /// The identity as text (for binding digests and tests).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_and_subject_cannot_be_shifted_into_each_other() {
        assert_ne!(Principal::jwt("https://a.example/x", "y"), Principal::jwt("https://a.example/", "x\",\"y"));
        assert_ne!(Principal::jwt("https://a", "alice"), Principal::jwt("https://a", "bob"));
        assert_eq!(Principal::jwt("https://a", "alice"), Principal::jwt("https://a", "alice"));
        assert_ne!(Principal::token(), Principal::anonymous());
    }
}
