//! Which pack a catalogue is used with, the rule the CLI and the app share.
//!
//! A catalogue holds the embeddings of one pack, named in its settings
//! (`pack.name`, `pack.version`: [`bind_pack`]), and remembers the folder it
//! was last used from (`pack.path`). When that folder is gone (the catalogue
//! came from another machine, or WhaleID was reinstalled elsewhere) and the
//! catalogue's pack is the generic one, or it has none yet, the generic pack
//! installed with WhaleID stands in ([`crate::install`]).

use std::path::{Path, PathBuf};

use crate::catalogue::{keys, Catalogue};
use crate::error::{Error, Result};
use crate::install;
use crate::packs::Pack;

pub use crate::ingest::import::bind_pack;

/// Name of the pack committed in `models/generic` and installed with WhaleID.
pub const GENERIC: &str = "generic";

/// The folder the catalogue was last used with, if it still holds a pack.
pub fn remembered_dir(cat: &Catalogue) -> Result<Option<PathBuf>> {
    Ok(cat
        .setting(keys::PACK_PATH)?
        .map(PathBuf::from)
        .filter(|p| p.join("pack.toml").is_file()))
}

/// The folder of the catalogue's pack on this machine: the remembered one,
/// else the installed generic pack when the catalogue's pack is the generic
/// one or it has none yet; `None` when its pack is another one that is not
/// here, or the generic pack is not installed.
pub fn pack_dir_of(cat: &Catalogue) -> Result<Option<PathBuf>> {
    if let Some(dir) = remembered_dir(cat)? {
        return Ok(Some(dir));
    }
    Ok(match cat.setting(keys::PACK_NAME)?.as_deref() {
        None | Some(GENERIC) => install::generic_pack_dir().ok(),
        Some(_) => None,
    })
}

/// [`pack_dir_of`], or an error naming the pack that is missing and where
/// it was last.
pub fn require_pack_dir(cat: &Catalogue) -> Result<PathBuf> {
    if let Some(dir) = pack_dir_of(cat)? {
        return Ok(dir);
    }
    match cat.setting(keys::PACK_NAME)? {
        Some(name) if name != GENERIC => Err(Error::Invalid(format!(
            "catalogue {} uses pack {name}, which is not on this machine (last used from {}): pass its folder with --pack, or import it",
            cat.root().display(),
            cat.setting(keys::PACK_PATH)?.unwrap_or_else(|| "an unknown folder".into())
        ))),
        _ => install::generic_pack_dir(),
    }
}

/// Bind `pack` (loaded from `dir`) to the catalogue and remember its folder.
/// Refuses a pack other than the one whose embeddings the catalogue holds.
pub fn bind(cat: &mut Catalogue, pack: &Pack, dir: &Path) -> Result<()> {
    bind_pack(cat, pack)?;
    let dir = dir.canonicalize().map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    cat.set_setting(keys::PACK_PATH, &dir.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_pack_is_found_where_it_was_and_not_replaced_once_gone() {
        let tmp = tempfile::tempdir().unwrap();
        let copy = whaleid_testkit::copy_pack("tiny");
        let dir = copy.path().to_path_buf();
        let pack = Pack::load(&dir).unwrap();
        let mut cat = Catalogue::create(tmp.path().join("cat")).unwrap();
        bind(&mut cat, &pack, &dir).unwrap();
        assert_eq!(
            pack_dir_of(&cat).unwrap(),
            Some(dir.canonicalize().unwrap())
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(remembered_dir(&cat).unwrap(), None);
        // Another pack's embeddings: the generic pack must not stand in.
        assert_eq!(pack_dir_of(&cat).unwrap(), None);
    }

    #[test]
    fn a_catalogue_without_a_pack_gets_the_installed_generic_one() {
        let tmp = tempfile::tempdir().unwrap();
        let cat = Catalogue::create(tmp.path().join("cat")).unwrap();
        assert_eq!(pack_dir_of(&cat).unwrap(), install::generic_pack_dir().ok());
    }

    #[test]
    fn binding_another_pack_is_refused_and_the_folder_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let copy = whaleid_testkit::copy_pack("tiny");
        let dir = copy.path().to_path_buf();
        let pack = Pack::load(&dir).unwrap();
        let mut cat = Catalogue::create(tmp.path().join("cat")).unwrap();
        bind(&mut cat, &pack, &dir).unwrap();
        let other_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/packs/tiny-nodetector");
        let other = Pack::load(&other_dir).unwrap();
        let err = bind(&mut cat, &other, &other_dir).unwrap_err().to_string();
        assert!(err.contains("holds embeddings of pack tiny"), "{err}");
        assert_eq!(
            remembered_dir(&cat).unwrap(),
            Some(dir.canonicalize().unwrap())
        );
    }
}
