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
/// ` patched` after it unless the package comes from a registry (a path,
/// as vendor/russh through `[patch.crates-io]`, or a git fork), so that
/// `--version` says the binary does not run the published crate.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let quoted = |line: &str, key: &str| {
        line.strip_prefix(key)?
            .trim_start()
            .strip_prefix('=')?
            .trim()
            .strip_prefix('"')?
            .strip_suffix('"')
            .map(str::to_string)
    };
    // The lines of each table, a table ending where the next header starts
    // (`[[package]]`, `[metadata]`, `[[patch.unused]]`).
    let mut tables: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in lock.lines().map(str::trim) {
        if line.starts_with('[') {
            tables.push((line, Vec::new()));
        } else if let Some((_, lines)) = tables.last_mut() {
            lines.push(line);
        }
    }
    tables
        .iter()
        .filter(|(header, _)| *header == "[[package]]")
        .find(|(_, lines)| {
            lines
                .iter()
                .any(|l| quoted(l, "name").as_deref() == Some(name))
        })
        .and_then(|(_, lines)| {
            let version = lines.iter().find_map(|l| quoted(l, "version"))?;
            let registry = lines.iter().any(|l| {
                quoted(l, "source")
                    .is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+"))
            });
            Some(if registry {
                version
            } else {
                format!("{version} patched")
            })
        })
}
