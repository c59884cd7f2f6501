//! Files written whole: every write goes to a temporary name beside its target and is renamed
//! over it, so a crash, a kill or a full disk leaves the old file or the new one, never part of
//! one (DESIGN.md "Writes").

use std::io::Write;
use std::path::{Path, PathBuf};

/// The temporary name `path` is written under first: hidden, beside it, one per process.
fn temporary(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `bytes` to `path` through a temporary file that is flushed to disk and then renamed
/// over `path`; on failure the temporary file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temporary(path);
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A file written a piece at a time under its temporary name and renamed over its target by
/// [`PartialFile::commit`]; dropped uncommitted (an error, a panic), the temporary file is
/// removed and the target untouched.
pub struct PartialFile {
    target: PathBuf,
    tmp: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl PartialFile {
    pub fn create(target: &Path) -> std::io::Result<Self> {
        let tmp = temporary(target);
        let file = std::fs::File::create(&tmp)?;
        Ok(PartialFile {
            target: target.to_path_buf(),
            tmp,
            file: Some(std::io::BufWriter::new(file)),
        })
    }

    /// Flushes to disk and renames into place.
    pub fn commit(mut self) -> std::io::Result<()> {
        let file = self.file.take().expect("present until commit");
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&self.tmp, &self.target)
    }
}

impl Write for PartialFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.as_mut().expect("present until commit").write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().expect("present until commit").flush()
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// The largest weights file a loader reads (64 GiB).
pub const MAX_WEIGHTS_BYTES: u64 = 64 << 30;
/// The largest JSON file of a model directory a loader reads (4 GiB).
pub const MAX_JSON_BYTES: u64 = 4 << 30;

/// Refuses what a loader must not read: a path that is not a regular file (a directory, a
/// device such as `/dev/zero` behind a symlink, a pipe) or one larger than `max` bytes.
pub fn check_regular(path: &Path, max: u64) -> Result<(), crate::Error> {
    let meta = std::fs::metadata(path).map_err(|e| crate::Error::io(path, e))?;
    if !meta.is_file() {
        return Err(crate::Error::Format(format!("{}: not a regular file", path.display())));
    }
    if meta.len() > max {
        return Err(crate::Error::Format(format!(
            "{}: {} bytes, more than such a file can be ({max})",
            path.display(),
            meta.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_file_appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        std::fs::write(&target, "old").unwrap();
        {
            let mut f = PartialFile::create(&target).unwrap();
            f.write_all(b"half").unwrap();
            // dropped: an error part way
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
        let mut f = PartialFile::create(&target).unwrap();
        f.write_all(b"new, ").unwrap();
        f.write_all(b"whole").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new, whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn replaces_whole_and_leaves_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("rnnlab-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.json");
        write_atomic(&p, b"old").unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        // A target that cannot be replaced (a directory): an error, the temporary file gone.
        let d = dir.join("sub");
        std::fs::create_dir_all(d.join("x")).unwrap();
        assert!(write_atomic(&d, b"x").is_err());
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(left.iter().all(|n| !n.contains(".tmp-")), "{left:?}");
        // Not regular files: a directory, a device.
        assert!(check_regular(&dir, 10)
            .unwrap_err()
            .to_string()
            .contains("not a regular file"));
        if Path::new("/dev/zero").exists() {
            assert!(check_regular(Path::new("/dev/zero"), u64::MAX).is_err());
        }
        assert!(check_regular(&p, 2).unwrap_err().to_string().contains("more than"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
