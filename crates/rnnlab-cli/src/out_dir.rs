//! `--out` of `train`: checked before any work, locked while the run writes, and made visible
//! whole. The model is written into a hidden staging directory beside the target and renamed
//! into place at the end, so a crash, a kill or a full disk leaves the old model directory (or
//! none), never a mix of two.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A model directory being written.
pub struct Staged {
    target: PathBuf,
    staging: PathBuf,
    lock: Option<(File, PathBuf)>,
    committed: bool,
}

fn bad(msg: String) -> anyhow::Error {
    rnnlab_text::Error::Data(msg).into()
}

/// `dir/.NAME.SUFFIX`: hidden names beside the target.
fn beside(target: &Path, suffix: &str) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    target.with_file_name(format!(".{name}.{suffix}"))
}

impl Staged {
    /// Checks `target` (an existing non-empty directory needs `overwrite`), takes the advisory
    /// lock beside it (a second run on the same `--out` fails at once, naming the first), and
    /// makes the staging directory.
    pub fn begin(target: &Path, overwrite: bool) -> Result<Self> {
        if target.file_name().is_none() {
            return Err(bad(format!("--out {}: name a directory", target.display())));
        }
        if target.exists() {
            if !target.is_dir() {
                return Err(bad(format!("--out {} exists and is not a directory", target.display())));
            }
            let empty = std::fs::read_dir(target)
                .with_context(|| format!("reading {}", target.display()))?
                .next()
                .is_none();
            if !empty && !overwrite {
                return Err(bad(format!(
                    "--out {} exists and is not empty: give --overwrite to replace it (the old model \
                     stays until the new one is complete), or another --out",
                    target.display()
                )));
            }
        }
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let lock_path = beside(target, "lock");
        let mut lock = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .with_context(|| format!("creating {}", lock_path.display()))?;
        if lock.try_lock().is_err() {
            let mut holder = String::new();
            let _ = lock.read_to_string(&mut holder);
            return Err(bad(format!(
                "another rnnlab (process {}) is writing {}; wait for it or choose another --out",
                holder.trim(),
                target.display()
            )));
        }
        let _ = lock
            .set_len(0)
            .and_then(|()| lock.rewind())
            .and_then(|()| write!(lock, "{}", std::process::id()));
        let staging = beside(target, &format!("partial-{}", std::process::id()));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).with_context(|| format!("removing {}", staging.display()))?;
        }
        std::fs::create_dir(&staging).with_context(|| format!("creating {}", staging.display()))?;
        Ok(Staged {
            target: target.to_path_buf(),
            staging,
            lock: Some((lock, lock_path)),
            committed: false,
        })
    }

    /// Where the run writes.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Renames the finished directory into place (the old one, if any, out of the way first
    /// and removed after).
    /// Writes the run's `recipe.toml` beside a trained model, commits the directory, and says
    /// why training stopped early if it did (`metrics["stopped"]`).
    pub fn commit_model(self, metrics: &serde_json::Value) -> Result<()> {
        if let Some(recipe) = crate::recipe::recipe() {
            let path = self.path().join("recipe.toml");
            rnnlab_baselines::files::write_atomic(&path, recipe.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
        }
        self.commit()?;
        if let Some(why) = metrics.get("stopped").and_then(|v| v.as_str()) {
            eprintln!("note: {why}");
        }
        Ok(())
    }

    pub fn commit(mut self) -> Result<()> {
        let old = beside(&self.target, &format!("old-{}", std::process::id()));
        let had_old = self.target.exists();
        if had_old {
            std::fs::rename(&self.target, &old).with_context(|| format!("moving {} aside", self.target.display()))?;
        }
        if let Err(e) = std::fs::rename(&self.staging, &self.target) {
            if had_old {
                let _ = std::fs::rename(&old, &self.target);
            }
            return Err(e).with_context(|| format!("moving the new model into {}", self.target.display()));
        }
        self.committed = true;
        if had_old {
            std::fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
        if let Some((lock, path)) = self.lock.take() {
            let _ = std::fs::remove_file(&path);
            drop(lock);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_used_directory_locks_and_replaces_whole() {
        let root = std::env::temp_dir().join(format!("rnnlab-outdir-{}", std::process::id()));
        let target = root.join("model");
        // A new directory: staged, then visible with its files and nothing else beside it.
        let s = Staged::begin(&target, false).unwrap();
        assert!(!target.exists());
        // A second run on the same --out while the first writes: refused, naming the first.
        let e = Staged::begin(&target, true).err().unwrap().to_string();
        assert!(
            e.contains(&std::process::id().to_string()) && e.contains("another rnnlab"),
            "{e}"
        );
        std::fs::write(s.path().join("model.json"), "new").unwrap();
        s.commit().unwrap();
        assert_eq!(std::fs::read_to_string(target.join("model.json")).unwrap(), "new");
        // Not empty: refused without --overwrite, before any work.
        let e = Staged::begin(&target, false).err().unwrap().to_string();
        assert!(e.contains("--overwrite"), "{e}");
        // A run that fails leaves the old model as it was.
        let s = Staged::begin(&target, true).unwrap();
        std::fs::write(s.path().join("model.json"), "half").unwrap();
        drop(s);
        assert_eq!(std::fs::read_to_string(target.join("model.json")).unwrap(), "new");
        // --overwrite replaces it whole.
        let s = Staged::begin(&target, true).unwrap();
        std::fs::write(s.path().join("other.json"), "x").unwrap();
        s.commit().unwrap();
        assert!(!target.join("model.json").exists() && target.join("other.json").exists());
        let left: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["model"]);
        // A file where the directory should be.
        std::fs::write(root.join("file"), "x").unwrap();
        assert!(Staged::begin(&root.join("file"), true).is_err());
        std::fs::remove_dir_all(&root).ok();
    }
}
