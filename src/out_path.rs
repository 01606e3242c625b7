//! Output paths are checked before the first host starts, so a typo in a
//! path never costs a run: `--plot`, `--out-dir` and every later option
//! that writes a file call these checks while parsing their arguments.

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::path::Path;

use anyhow::{Result, bail};

/// The folder `path` would be written in (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Checks that the file `path`, given to option `flag`, can be written
/// once the run ends: its extension is one of `extensions` (compared
/// without case; any extension when empty), it is not a folder, its folder
/// exists, and a file can be created there (an existing file is opened for
/// writing, not truncated; a new one is created and removed again).
pub(crate) fn check_output_file(flag: &str, path: &Path, extensions: &[&str]) -> Result<()> {
    let shown = path.display();
    if !extensions.is_empty() {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        if !ext
            .as_deref()
            .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
        {
            let wanted = extensions
                .iter()
                .map(|e| format!(".{e}"))
                .collect::<Vec<_>>()
                .join(" or ");
            let got = ext.map_or_else(|| "no extension".to_string(), |e| format!("a .{e} file"));
            bail!(
                "{flag} {shown}: fanout writes {wanted} files only, and {got} would hold something else; name the file with {wanted}"
            );
        }
    }
    if path.is_dir() {
        bail!("{flag} {shown}: is a folder; give a file name inside it");
    }
    let dir = parent(path);
    if !dir.is_dir() {
        bail!(
            "{flag} {shown}: the folder {} does not exist; create it first (mkdir -p {}) or choose another path",
            dir.display(),
            dir.display()
        );
    }
    let probe = if path.exists() {
        OpenOptions::new().write(true).open(path).map(drop)
    } else {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|file| {
                drop(file);
                std::fs::remove_file(path)
            })
    };
    match probe {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => bail!(
            "{flag} {shown}: cannot be written here (permission denied); choose a path you can write"
        ),
        Err(e) => bail!("{flag} {shown}: cannot be written ({e}); choose another path"),
    }
}

/// Checks that the folder `path`, given to option `flag`, can be created
/// or replaced: it is not a file, and the folder it goes in exists or can
/// be created. (Whether an existing folder may be replaced is
/// `fanout_report::OutDir`'s check.)
pub(crate) fn check_output_dir(flag: &str, path: &Path) -> Result<()> {
    let shown = path.display();
    if path.exists() && !path.is_dir() {
        bail!("{flag} {shown}: is a file, not a folder; choose a folder path");
    }
    let mut ancestor = parent(path);
    while !ancestor.exists() {
        ancestor = parent(ancestor);
    }
    if !ancestor.is_dir() {
        bail!(
            "{flag} {shown}: {} is a file, so the folder cannot be created there; choose another path",
            ancestor.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_checked_before_the_run() {
        let tmp = tempfile::tempdir().unwrap();
        let ok = tmp.path().join("chart.svg");
        check_output_file("--plot", &ok, &["svg"]).unwrap();
        assert!(!ok.exists(), "the probe file was removed");
        check_output_file("--plot", &tmp.path().join("CHART.SVG"), &["svg"]).unwrap();
        std::fs::write(&ok, "old").unwrap();
        check_output_file("--plot", &ok, &["svg"]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&ok).unwrap(),
            "old",
            "not truncated"
        );

        let err = check_output_file("--plot", &tmp.path().join("c.png"), &["svg"]).unwrap_err();
        assert!(
            err.to_string()
                .contains("writes .svg files only, and a .png file would hold something else"),
            "{err}"
        );
        let err = check_output_file("--plot", &tmp.path().join("c"), &["svg"]).unwrap_err();
        assert!(err.to_string().contains("no extension"), "{err}");
        let missing = tmp.path().join("docs").join("sweep.svg");
        let err = check_output_file("--plot", &missing, &["svg"]).unwrap_err();
        assert!(
            err.to_string()
                .contains("does not exist; create it first (mkdir -p"),
            "{err}"
        );
        let err = check_output_file("--plot", tmp.path(), &[]).unwrap_err();
        assert!(err.to_string().contains("is a folder"), "{err}");
        check_output_file("--timeline", &tmp.path().join("t.any"), &[]).unwrap();
    }

    #[test]
    fn folders_are_checked_before_the_run() {
        let tmp = tempfile::tempdir().unwrap();
        check_output_dir("--out-dir", &tmp.path().join("a").join("b")).unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let err = check_output_dir("--out-dir", &file).unwrap_err();
        assert!(err.to_string().contains("is a file"), "{err}");
        let err = check_output_dir("--out-dir", &file.join("sub")).unwrap_err();
        assert!(err.to_string().contains("cannot be created there"), "{err}");
    }
}
