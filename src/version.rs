//! `fanout --version`: fanout's version and the SSH libraries in this
//! binary: ssh2 and russh from Cargo.lock at build time (build.rs), libssh2
//! and OpenSSL asked at run time (the versions actually linked).

use std::ffi::{CStr, c_char, c_int};

// The bundled libssh2 (libssh2-sys) exports these; libssh2-sys binds
// neither, so they are declared here (libssh2.h, since 1.1 and 1.11).
unsafe extern "C" {
    fn libssh2_version(required: c_int) -> *const c_char;
    fn libssh2_crypto_engine() -> c_int;
}

/// Makes sure libssh2-sys (which provides the symbols above) is linked.
use libssh2_sys as _;

/// `0.1.0 (ssh2 0.9.6 / libssh2 1.11.2_DEV, OpenSSL 3.5.1; russh 0.65.1 patched)`.
pub(crate) fn text() -> String {
    format!(
        "{} (ssh2 {} / libssh2 {}, {}; russh {})",
        env!("CARGO_PKG_VERSION"),
        env!("FANOUT_SSH2_VERSION"),
        libssh2(),
        crypto(),
        env!("FANOUT_RUSSH_VERSION"),
    )
}

/// libssh2's own version string.
fn libssh2() -> String {
    // SAFETY: with 0, libssh2_version returns a pointer to its static,
    // NUL-terminated version string (never NULL when no minimum is asked).
    let ptr = unsafe { libssh2_version(0) };
    if ptr.is_null() {
        return "unknown".into();
    }
    // SAFETY: non-null, static and NUL-terminated (above).
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

/// libssh2's crypto backend; for OpenSSL, the version of the libcrypto in
/// use (`OpenSSL 3.5.1`, without the build date).
fn crypto() -> String {
    // SAFETY: a plain query of a compile-time constant of the library.
    let engine = unsafe { libssh2_crypto_engine() };
    match engine {
        1 => openssl(),
        0 => "no crypto backend".into(),
        2 => "libgcrypt".into(),
        3 => "mbedTLS".into(),
        4 => "WinCNG".into(),
        n => format!("crypto backend {n}"),
    }
}

fn openssl() -> String {
    // SAFETY: OpenSSL_version(OPENSSL_VERSION) returns a static
    // NUL-terminated string such as "OpenSSL 3.5.1 1 Jul 2025".
    let ptr = unsafe { openssl_sys::OpenSSL_version(openssl_sys::OPENSSL_VERSION) };
    if ptr.is_null() {
        return "OpenSSL (version unknown)".into();
    }
    // SAFETY: non-null, static and NUL-terminated (above).
    let full = unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned();
    full.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The clap command with this version (for parsing, completions and man).
pub(crate) fn command() -> clap::Command {
    use clap::CommandFactory;
    let version: &'static str = Box::leak(text().into_boxed_str());
    crate::cli::Cli::command().version(version)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_every_library_with_a_version() {
        let v = super::text();
        assert!(v.starts_with(env!("CARGO_PKG_VERSION")), "{v}");
        for part in ["(ssh2 0.", "/ libssh2 1.", ", OpenSSL ", "; russh 0."] {
            assert!(v.contains(part), "{v} lacks {part}");
        }
        assert!(!v.contains("unknown"), "{v}");
        // russh comes from vendor/russh (a path), ssh2 from the registry.
        assert!(v.ends_with(" patched)"), "{v}");
        assert!(!v.contains("patched /"), "{v}");
    }
}
