//! Text that came from the database (error messages, DETAIL and HINT, names quoted back), sealed where it is read so
//! that the server's one renderer (`server::render`) shows it between untrusted-data markers carrying the answer's
//! random id. A seal is a pair of Unicode noncharacters (reserved for a program's internal use) around the text; the
//! text's own copies of those two characters are dropped, so stored text can neither close a seal nor open one.
//! Sealed text travels inside ordinary `String`s (tool errors are strings), and only the renderer resolves it.

use std::fmt::{self, Display, Write};

/// Opens sealed database text.
pub const OPEN: char = '\u{FDD0}';
/// Closes sealed database text.
pub const CLOSE: char = '\u{FDD1}';

/// Database text, written sealed: `format!("ERROR {code}: {}", DbText(db.message()))`. It has no other way out.
pub struct DbText<'a>(pub &'a str);

impl Display for DbText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char(OPEN)?;
        for piece in self.0.split([OPEN, CLOSE]) {
            f.write_str(piece)?;
        }
        f.write_char(CLOSE)
    }
}

/// Whether `text` holds sealed database text (or a stray seal character).
pub fn has_seals(text: &str) -> bool {
    text.contains([OPEN, CLOSE])
}

/// The text with seals removed, for places that are not an answer to the agent: the log on stderr, text stored
/// back in the database (a migration's last error).
pub fn unsealed(text: &str) -> std::borrow::Cow<'_, str> {
    if has_seals(text) {
        std::borrow::Cow::Owned(text.replace([OPEN, CLOSE], ""))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_seal_characters_cannot_close_or_open_a_seal() {
        let sealed = DbText(&format!("a{CLOSE}outside{OPEN}b")).to_string();
        assert_eq!(sealed, format!("{OPEN}aoutsideb{CLOSE}"));
        assert!(has_seals(&sealed));
        assert!(!has_seals("plain"));
    }
}
