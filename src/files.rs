//! Files only their owner may read: the SQLite database (password and
//! token hashes) and the JWT secret kept beside it. One place for both.

use std::io::Write;
use std::path::Path;

/// Creates `path` readable by its owner only, failing if it exists (never
/// truncating what is there), with `contents`.
pub fn create_new_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents)
}

/// Narrows `path` to its owner if others may read it; whether it had to
/// (the caller says so: whoever could read it may have what it holds).
/// A file that is not there is left alone.
pub fn narrow_to_owner(path: &Path) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(path) else {
            return Ok(false);
        };
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            return Ok(true);
        }
    }
    Ok(false)
}
