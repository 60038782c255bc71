//! Files that hold a party's data or secrets: databases (with their WAL and
//! SHM), exports, node configs and credentials are readable by their owner
//! only (0600) in directories only the owner may enter (0700), whatever the
//! process umask. Existing files and directories are tightened when they are
//! opened again, so a region made by an older version is fixed too.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` (and missing parents) as 0700 and sets `dir` itself to 0700.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

/// Writes `data` to `path` as a 0600 file (an existing file is truncated and
/// tightened).
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    f.write_all(data)?;
    f.sync_all()
}

/// Replaces `path` in one step with a 0600 file, so readers see the old or
/// the new content.
pub fn write_private_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    write_private(&tmp, data)?;
    fs::rename(&tmp, path)
}

/// Creates `path` empty as 0600 if missing, and sets an existing one to 0600.
pub fn touch_private(path: &Path) -> std::io::Result<()> {
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?
        .set_permissions(fs::Permissions::from_mode(0o600))
}

/// Sets an existing file to 0600; a missing one is left missing.
pub fn tighten(path: &Path) -> std::io::Result<()> {
    match fs::set_permissions(path, fs::Permissions::from_mode(0o600)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn files_and_dirs_are_the_owners_only() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("a/b");
        private_dir(&dir).expect("dir");
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        let f = dir.join("x");
        fs::write(&f, b"open").expect("write");
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).expect("chmod");
        write_private(&f, b"closed").expect("private");
        assert_eq!(mode(&f), 0o600);
        assert_eq!(fs::read(&f).expect("read"), b"closed");
        write_private_atomic(&dir.join("y"), b"y").expect("atomic");
        assert_eq!(mode(&dir.join("y")), 0o600);
        touch_private(&dir.join("z")).expect("touch");
        assert_eq!(mode(&dir.join("z")), 0o600);
        tighten(&dir.join("missing")).expect("missing is fine");
    }
}
