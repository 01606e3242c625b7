//! Records the versions of the SSH crates this binary was built with (from
//! Cargo.lock), for `fanout --version`; the C libraries' versions are read
//! from the libraries themselves at run time (src/version.rs).

use std::path::Path;

fn main() {
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    for (krate, var) in [
        ("russh", "FANOUT_RUSSH_VERSION"),
        ("ssh2", "FANOUT_SSH2_VERSION"),
    ] {
        let version = locked_version(&text, krate).unwrap_or_else(|| "unknown".into());
        println!("cargo:rustc-env={var}={version}");
    }
}

/// `version = "X"` of the `[[package]]` named `name` in a Cargo.lock, with
/// ` patched` after it when the package comes from a path (no `source`:
/// vendor/russh, `[patch.crates-io]`), so that `--version` says the
/// binary does not run the published crate.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    lock.split("[[package]]").find_map(|package| {
        let mut lines = package.lines().map(str::trim);
        let quoted = |line: &str, key: &str| {
            line.strip_prefix(key)?
                .trim_start()
                .strip_prefix('=')?
                .trim()
                .strip_prefix('"')?
                .strip_suffix('"')
                .map(str::to_string)
        };
        let found = lines
            .clone()
            .any(|l| quoted(l, "name").as_deref() == Some(name));
        let registry = lines.clone().any(|l| quoted(l, "source").is_some());
        let version = found.then(|| lines.find_map(|l| quoted(l, "version")))??;
        Some(if registry {
            version
        } else {
            format!("{version} patched")
        })
    })
}
