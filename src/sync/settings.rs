//! What a catalogue remembers about syncing: the team's server, whether
//! original photos go too, and how far it has pulled.
//!
//! These live in the catalogue's settings table (they travel with the
//! catalogue folder; the token does not, it is the user's). The app and the
//! CLI read and write them only through these functions, so both agree on
//! the keys, on the form a server URL is stored in (the same URL is the key
//! the app keeps its token under), and on what an unset value means.

use super::client::{checked_url, LAST_SYNC, PULLED};
use crate::catalogue::Catalogue;
use crate::error::Result;

/// Setting keys. They are the ones the app wrote before these functions
/// existed, so catalogues keep their settings.
pub mod keys {
    /// The server URL, as [`super::server_url`] makes it.
    pub const SERVER: &str = "sync.server";
    /// `1` when original photos are synced too; anything else (or unset): not.
    pub const PHOTOS: &str = "sync.photos";
}

/// The form a server URL is remembered in: no surrounding spaces or
/// trailing slashes. Refused unless it is `http://` or `https://`.
pub fn server_url(input: &str) -> Result<String> {
    checked_url(input.trim())
}

/// The server this catalogue syncs with; `None` until one is set.
pub fn server(cat: &Catalogue) -> Result<Option<String>> {
    cat.setting(keys::SERVER)
}

/// Remember `url` (see [`server_url`]) as this catalogue's server; the URL
/// as stored.
pub fn set_server(cat: &mut Catalogue, url: &str) -> Result<String> {
    let url = server_url(url)?;
    cat.set_setting(keys::SERVER, &url)?;
    Ok(url)
}

/// Whether original photos are synced too; not until asked.
pub fn photos(cat: &Catalogue) -> Result<bool> {
    Ok(cat.setting(keys::PHOTOS)?.as_deref() == Some("1"))
}

pub fn set_photos(cat: &mut Catalogue, on: bool) -> Result<()> {
    cat.set_setting(keys::PHOTOS, if on { "1" } else { "0" })
}

/// The server position this catalogue has applied up to; 0 before the
/// first pull.
pub fn position(cat: &Catalogue) -> Result<i64> {
    Ok(cat
        .setting(PULLED)?
        .and_then(|p| p.parse().ok())
        .unwrap_or(0))
}

/// When the last sync finished (UTC, ISO 8601); `None` before the first.
pub fn last_sync(cat: &Catalogue) -> Result<Option<String>> {
    cat.setting(LAST_SYNC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn catalogue() -> (tempfile::TempDir, Catalogue) {
        let dir = tempfile::tempdir().unwrap();
        let cat = Catalogue::create(dir.path().join("c")).unwrap();
        (dir, cat)
    }

    #[test]
    fn nothing_is_remembered_in_a_new_catalogue() {
        let (_dir, cat) = catalogue();
        assert_eq!(server(&cat).unwrap(), None);
        assert!(!photos(&cat).unwrap());
        assert_eq!(position(&cat).unwrap(), 0);
        assert_eq!(last_sync(&cat).unwrap(), None);
    }

    #[test]
    fn the_server_is_remembered_without_spaces_or_trailing_slashes() {
        let (dir, mut cat) = catalogue();
        let stored = set_server(&mut cat, "  https://whales.example.org:8787// ").unwrap();
        assert_eq!(stored, "https://whales.example.org:8787");
        drop(cat);
        let cat = Catalogue::open(dir.path().join("c")).unwrap();
        assert_eq!(server(&cat).unwrap().as_deref(), Some(stored.as_str()));
    }

    #[test]
    fn a_server_that_is_not_http_is_refused_and_not_stored() {
        let (_dir, mut cat) = catalogue();
        let err = set_server(&mut cat, "ftp://whales.example.org").unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("ftp://whales.example.org") && text.contains("http://"),
            "{text}"
        );
        assert!(server_url("").is_err());
        assert_eq!(server(&cat).unwrap(), None);
    }

    #[test]
    fn photos_are_synced_only_when_switched_on() {
        let (_dir, mut cat) = catalogue();
        set_photos(&mut cat, true).unwrap();
        assert!(photos(&cat).unwrap());
        set_photos(&mut cat, false).unwrap();
        assert!(!photos(&cat).unwrap());
    }

    /// Catalogues configured by earlier versions of the app keep their
    /// settings: the keys and values are the ones it wrote.
    #[test]
    fn settings_written_before_these_functions_are_read_the_same() {
        let (_dir, mut cat) = catalogue();
        cat.set_setting("sync.server", "http://10.0.0.5:8787")
            .unwrap();
        cat.set_setting("sync.photos", "1").unwrap();
        cat.set_setting("sync.pulled", "42").unwrap();
        assert_eq!(
            server(&cat).unwrap().as_deref(),
            Some("http://10.0.0.5:8787")
        );
        assert!(photos(&cat).unwrap());
        assert_eq!(position(&cat).unwrap(), 42);
        set_photos(&mut cat, false).unwrap();
        assert_eq!(cat.setting("sync.photos").unwrap().as_deref(), Some("0"));
        set_server(&mut cat, "http://10.0.0.6:8787").unwrap();
        assert_eq!(
            cat.setting("sync.server").unwrap().as_deref(),
            Some("http://10.0.0.6:8787")
        );
    }

    #[test]
    fn an_unreadable_position_counts_as_never_pulled() {
        let (_dir, mut cat) = catalogue();
        cat.set_setting(PULLED, "not a number").unwrap();
        assert_eq!(position(&cat).unwrap(), 0);
    }
}
