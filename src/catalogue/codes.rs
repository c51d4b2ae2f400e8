//! Individual codes, and user-written text as a terminal may show it.
//!
//! A code is what researchers call an animal by (`HW-MN0001`, `NEAQ 1234`,
//! `Notch`): typed into the app, read from a labels CSV or a folder name,
//! and sent to every laptop by sync. One rule ([`check_code`]) holds
//! wherever a code enters a catalogue: import, naming a new individual,
//! split, rename, and every operation received from the server or a
//! laptop ([`crate::sync::ops::Op::validate`]). A code the laptop takes
//! is therefore one the server takes, and the other way round; before
//! that rule a code the CLI imported could be refused by the server for
//! good, and with it every later operation about the animal.
//!
//! The rule: after taking off surrounding spaces ([`normalise_code`]; a
//! received code must already be trimmed), a code is 1 to
//! [`MAX_CODE_CHARS`] characters, with no control characters (newlines,
//! tabs, terminal escapes) and no invisible formatting characters
//! (bidirectional overrides, zero-width characters), which would make two
//! codes look alike or rearrange the text around them. Any other letters,
//! digits, punctuation and spaces inside, in any script, are fine.
//!
//! [`shown`] is the other half: text a person wrote (a code from an older
//! catalogue, a name, a file name, a server's refusal) escapes those same
//! characters before it reaches a terminal or a log, so no escape sequence
//! in the data ever acts on the screen.

use std::borrow::Cow;
use std::fmt::Write;

use crate::error::{Error, Result};

/// The longest code, in characters: far above any catalogue numbering
/// scheme or short name, and what the sync server has always taken (so
/// no code it held before the rule is refused now).
pub const MAX_CODE_CHARS: usize = 200;

/// At most this many characters of an offending value go into a message.
const SHOWN_IN_ERRORS: usize = 40;

/// Whether `c` must not reach a terminal raw and may not be in a code:
/// control characters (C0, DEL, C1), line and paragraph separators, and
/// invisible formatting characters (bidirectional embeddings, overrides,
/// isolates and marks; zero-width spaces and joiners; word joiner and
/// invisible operators; byte order mark; soft hyphen; interlinear
/// annotation marks).
pub fn is_hidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{17b4}'
                | '\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// `text` with every [`is_hidden_char`] written as `\u{..}` (a tab as
/// `\t`, a newline as `\n`), so printing it never moves the cursor, clears
/// the screen, sets a title or reorders the line; borrowed when nothing
/// needed escaping.
pub fn shown(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if is_hidden_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// At most [`SHOWN_IN_ERRORS`] characters of `text`, [`shown`], for a
/// message about it (a 10,000-character code is named, not repeated).
pub fn clipped(text: &str) -> String {
    let mut head: String = text.chars().take(SHOWN_IN_ERRORS).collect();
    if head.len() < text.len() {
        head.push('…');
    }
    shown(&head).into_owned()
}

/// Why `code` is not a code, or `Ok`. The reason names the code (clipped
/// and escaped) and what is wrong, for a message such as
/// `line 3: individual_id …`.
pub fn check_code(code: &str) -> std::result::Result<(), String> {
    if code.trim().is_empty() {
        return Err("is empty: every individual needs a code".into());
    }
    let n = code.chars().count();
    if n > MAX_CODE_CHARS {
        return Err(format!(
            "`{}` is {n} characters long; a code has at most {MAX_CODE_CHARS} characters",
            clipped(code)
        ));
    }
    if let Some(c) = code.chars().find(|c| is_hidden_char(*c)) {
        let what = if c.is_control() {
            "a control character"
        } else {
            "an invisible formatting character"
        };
        return Err(format!(
            "`{}` holds {what} (U+{:04X}); codes are printable text on one line",
            clipped(code),
            c as u32
        ));
    }
    if code.trim() != code {
        return Err(format!("`{}` starts or ends with spaces", clipped(code)));
    }
    Ok(())
}

/// `code` without surrounding spaces, if that is a code by [`check_code`];
/// otherwise an [`Error::Invalid`] that says why, naming it as
/// "individual code".
pub fn normalise_code(code: &str) -> Result<&str> {
    let code = code.trim();
    check_code(code).map_err(|why| Error::Invalid(format!("individual code {why}")))?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_codes_pass_and_keep_their_inner_spaces() {
        for code in [
            "W1",
            "HW-MN0001",
            "NEAQ 1234",
            "Notch",
            "Ørn",
            "座頭鯨-3",
            "=1+2",
        ] {
            assert_eq!(check_code(code), Ok(()), "{code}");
        }
        assert_eq!(normalise_code("  NEAQ 1234\u{a0}").unwrap(), "NEAQ 1234");
        assert_eq!(check_code(&"é".repeat(MAX_CODE_CHARS)), Ok(()));
    }

    #[test]
    fn each_broken_rule_is_named() {
        let long = "W".repeat(MAX_CODE_CHARS + 1);
        for (code, why) in [
            ("", "empty"),
            (" \t ", "empty"),
            (long.as_str(), "201 characters"),
            ("W1\nW2", "control character (U+000A)"),
            ("W\u{1b}[31m1", "control character (U+001B)"),
            ("W1\u{202e}", "invisible formatting character (U+202E)"),
            ("W\u{200b}1", "invisible"),
            (" W1", "spaces"),
        ] {
            let err = check_code(code).unwrap_err();
            assert!(err.contains(why), "{code:?}: {err}");
            assert!(!err.chars().any(is_hidden_char), "{err:?}");
        }
        let err = normalise_code("W\u{7}").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Invalid);
        assert!(
            err.to_string().starts_with("individual code `W\\u{7}`"),
            "{err}"
        );
    }

    #[test]
    fn shown_escapes_only_what_a_terminal_would_act_on() {
        assert!(matches!(shown("W1 Ørn/a.jpg"), Cow::Borrowed(_)));
        assert_eq!(
            shown("a\u{1b}]0;x\u{7}\tb\nc\u{202e}"),
            "a\\u{1b}]0;x\\u{7}\\tb\\nc\\u{202e}"
        );
        assert_eq!(
            clipped(&"x".repeat(100)).chars().count(),
            SHOWN_IN_ERRORS + 1
        );
    }

    proptest! {
        /// Whatever the text, what is shown holds nothing hidden, and a
        /// code that passes is shown as it is.
        #[test]
        fn prop_shown_text_holds_nothing_hidden(text in any::<String>()) {
            let out = shown(&text);
            prop_assert!(!out.chars().any(is_hidden_char), "{:?}", out);
            if check_code(&text).is_ok() {
                prop_assert_eq!(out.as_ref(), text.as_str());
                prop_assert_eq!(normalise_code(&text).unwrap(), text.as_str());
            }
        }

        /// Normalising either gives a code that passes the rule as
        /// received, or an invalid-input error that names it.
        #[test]
        fn prop_normalised_codes_pass_the_received_rule(text in "\\PC{0,8}[\\s\\x00-\\x1f\\u{202e}]{0,2}\\PC{0,8}") {
            match normalise_code(&text) {
                Ok(code) => prop_assert_eq!(check_code(code), Ok(())),
                Err(e) => {
                    prop_assert_eq!(e.kind(), crate::ErrorKind::Invalid);
                    prop_assert!(e.to_string().starts_with("individual code"));
                }
            }
        }
    }
}
