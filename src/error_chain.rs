//! Walking an error's causes, in one place: every message that explains a library error (a connection, TLS,
//! credentials, the knowledge server) and every search for a typed cause (an I/O kind, a TLS check, a connect
//! failure) goes through [`causes`]. Two things the standard `source()` walk gets wrong for us are handled here:
//! `io::Error` hides its own payload from `source()` (so a typed failure carried inside an I/O error would be
//! skipped), and many libraries repeat their cause's text in their own `Display` (so naive joining says it twice).

use std::error::Error;

/// The error itself, then each cause in turn; an `io::Error`'s payload counts as its cause.
pub fn causes<'a>(err: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(err), |e| next(*e))
}

/// The first error of type `T` in the chain (the error itself included).
pub fn find<'a, T: Error + 'static>(err: &'a (dyn Error + 'static)) -> Option<&'a T> {
    causes(err).find_map(|e| e.downcast_ref::<T>())
}

/// The error and its causes on one line, `outer: inner: innermost`, leaving out a cause whose text the line
/// already holds (tokio-postgres' and hyper's top-level `Display` alone say only "error connecting to server" or
/// "client error (Connect)").
pub fn text(err: &(dyn Error + 'static)) -> String {
    let mut out = err.to_string();
    for cause in causes(err).skip(1) {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

fn next<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a (dyn Error + 'static)> {
    match e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
        Some(inner) => Some(inner as &(dyn Error + 'static)),
        None => e.source(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("error connecting to server")
        }
    }
    impl Error for Outer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[derive(Debug, PartialEq)]
    struct Payload(&'static str);
    impl std::fmt::Display for Payload {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl Error for Payload {}

    #[test]
    fn a_payload_inside_an_io_error_is_found_and_said_once() {
        let err = Outer(std::io::Error::other(Payload("token expired")));
        assert_eq!(find::<Payload>(&err), Some(&Payload("token expired")));
        assert!(find::<std::fmt::Error>(&err).is_none());
        // The io::Error's own text is the payload's: said once.
        assert_eq!(text(&err), "error connecting to server: token expired");
        assert_eq!(causes(&err).count(), 3);
    }

    #[test]
    fn a_lone_error_is_its_own_text() {
        let err = Payload("alone");
        assert_eq!(text(&err), "alone");
        assert_eq!(causes(&err).count(), 1);
    }
}
