//! Who the user is: the one name recorded on every decision, box, merge,
//! split, import and sync operation made on this machine.
//!
//! The CLI, the app and sync used to each find the user their own way
//! (`$USER`, then `$USERNAME`, or "unknown"). [`observer`] is now the only
//! rule, in this order:
//!
//! 1. a name given explicitly (the CLI's `--author`, the app's saved name);
//! 2. `$WHALEID_OBSERVER`;
//! 3. the catalogue setting `observer.name` (`whaleid catalogue config --observer`);
//! 4. the legacy `sync.author` setting (what `whaleid sync --author` remembered);
//! 5. the login name (`$USER`, else `$USERNAME`);
//! 6. nobody (`None`): the record says "by —" rather than inventing a name.
//!
//! A name given explicitly or set in the catalogue must be usable
//! ([`validate`]); a bad one is an error naming where it came from. The
//! environment's login name is only taken when it is usable.

use super::Catalogue;
use crate::error::{Error, Result};

/// Environment variable that names the observer for one run.
pub const ENV: &str = "WHALEID_OBSERVER";
/// The catalogue setting that names the observer.
pub const SETTING: &str = "observer.name";
/// The longest name accepted, in characters.
pub const MAX_LEN: usize = 200;

/// The observer's name, trimmed, or an error saying why `raw` is no name.
/// `what` names where it came from ("--author", "WHALEID_OBSERVER"...).
pub fn validate(raw: &str, what: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Error::Invalid(format!(
            "observer name ({what}) is empty: give the name to record on decisions"
        )));
    }
    if name.chars().count() > MAX_LEN {
        return Err(Error::Invalid(format!(
            "observer name ({what}) is {} characters long; at most {MAX_LEN} are allowed",
            name.chars().count()
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "observer name ({what}) {name:?} contains a control character (tab, newline...)"
        )));
    }
    Ok(name.to_string())
}

/// Who the user is, by the precedence in the module notes. `given` is the
/// explicit name (CLI `--author`, the app's preference).
pub fn observer(cat: &Catalogue, given: Option<&str>) -> Result<Option<String>> {
    resolve(given, |k| std::env::var(k).ok(), |k| cat.setting(k), true)
}

/// The name someone chose (steps 1 to 4, without the login name): what the
/// app asks for once when there is none. `cat` is `None` before a
/// catalogue is open.
pub fn chosen(cat: Option<&Catalogue>, given: Option<&str>) -> Result<Option<String>> {
    resolve(
        given,
        |k| std::env::var(k).ok(),
        |k| match cat {
            Some(c) => c.setting(k),
            None => Ok(None),
        },
        false,
    )
}

/// Save `name` (validated) as this catalogue's observer.
pub fn set_observer(cat: &mut Catalogue, name: &str) -> Result<String> {
    let name = validate(name, "catalogue config --observer")?;
    cat.set_setting(SETTING, &name)?;
    Ok(name)
}

/// The rule itself, with the environment and settings passed in so it can be
/// tested without touching the process environment.
fn resolve(
    given: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    setting: impl Fn(&str) -> Result<Option<String>>,
    login: bool,
) -> Result<Option<String>> {
    if let Some(name) = given {
        return validate(name, "given").map(Some);
    }
    if let Some(name) = env(ENV).filter(|v| !v.trim().is_empty()) {
        return validate(&name, ENV).map(Some);
    }
    for key in [SETTING, crate::sync::log::keys::AUTHOR] {
        if let Some(name) = setting(key)?.filter(|v| !v.trim().is_empty()) {
            return validate(&name, &format!("catalogue setting {key}")).map(Some);
        }
    }
    if !login {
        return Ok(None);
    }
    Ok(["USER", "USERNAME"]
        .into_iter()
        .filter_map(&env)
        .find_map(|v| validate(&v, "login").ok()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn run(
        given: Option<&str>,
        env: &[(&str, &str)],
        settings: &[(&str, &str)],
    ) -> Result<Option<String>> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let settings: HashMap<String, String> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        resolve(
            given,
            |k| env.get(k).cloned(),
            |k| Ok(settings.get(k).cloned()),
            true,
        )
    }

    const ALL_ENV: &[(&str, &str)] = &[
        (ENV, "Env Observer"),
        ("USER", "login"),
        ("USERNAME", "winlogin"),
    ];
    const ALL_SETTINGS: &[(&str, &str)] = &[(SETTING, "Setting Name"), ("sync.author", "Legacy")];

    #[test]
    fn each_source_wins_over_the_ones_after_it() {
        let some = |s: &str| Ok::<_, ()>(Some(s.to_string()));
        let got = |g, e, s| run(g, e, s).map_err(|_| ());
        assert_eq!(got(Some(" Ana "), ALL_ENV, ALL_SETTINGS), some("Ana"));
        assert_eq!(got(None, ALL_ENV, ALL_SETTINGS), some("Env Observer"));
        assert_eq!(got(None, &ALL_ENV[1..], ALL_SETTINGS), some("Setting Name"));
        assert_eq!(got(None, &ALL_ENV[1..], &ALL_SETTINGS[1..]), some("Legacy"));
        assert_eq!(got(None, &ALL_ENV[1..], &[]), some("login"));
        assert_eq!(got(None, &ALL_ENV[2..], &[]), some("winlogin"));
        assert_eq!(got(None, &[], &[]), Ok(None));
    }

    #[test]
    fn the_chosen_name_leaves_out_the_login() {
        let login = |k: &str| {
            ["USER", "USERNAME"]
                .contains(&k)
                .then(|| "login".to_string())
        };
        let none = resolve(None, login, |_| Ok(None), false).unwrap();
        assert_eq!(none, None);
        let set = resolve(
            None,
            |k| (k == "USER").then(|| "login".into()),
            |k| Ok((k == "sync.author").then(|| "Legacy".into())),
            false,
        )
        .unwrap();
        assert_eq!(set.as_deref(), Some("Legacy"));
    }

    #[test]
    fn blank_sources_are_skipped_not_recorded() {
        let got = run(None, &[(ENV, "  "), ("USER", "")], &[(SETTING, " ")]).unwrap();
        assert_eq!(got, None);
    }

    #[test]
    fn bad_names_are_refused_with_the_reason() {
        let long = "x".repeat(MAX_LEN + 1);
        for (bad, why) in [
            ("   ", "empty"),
            (long.as_str(), "201 characters"),
            ("Ana\nBob", "control character"),
        ] {
            let err = run(Some(bad), &[], &[]).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        // A bad stored setting is an error naming the setting, not a silent skip.
        let err = run(None, &[], &[(SETTING, "a\tb")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("observer.name"), "{err}");
        // A login name that is no usable name falls through to none.
        assert_eq!(run(None, &[("USER", "a\u{7}")], &[]).unwrap(), None);
        // Exactly the maximum is fine.
        let max = "é".repeat(MAX_LEN);
        assert_eq!(run(Some(&max), &[], &[]).unwrap(), Some(max.clone()));
    }

    #[test]
    fn the_catalogue_setting_is_read_and_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalogue::create(dir.path().join("c")).unwrap();
        assert!(set_observer(&mut cat, "\n").is_err());
        assert_eq!(set_observer(&mut cat, "  Kim Lee ").unwrap(), "Kim Lee");
        assert_eq!(cat.setting(SETTING).unwrap().as_deref(), Some("Kim Lee"));
        assert_eq!(observer(&cat, Some("Ana")).unwrap().as_deref(), Some("Ana"));
    }
}
