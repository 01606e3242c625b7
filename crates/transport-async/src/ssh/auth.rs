//! Authentication on russh: the target's credentials in order — key file,
//! ssh-agent, password, keyboard-interactive (answered with the password) —
//! and the private keys loaded once per run. Messages name what was tried,
//! never a secret.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use fanout_core::{ErrorKind, Secret, Target};
use fanout_engine::AttemptError;
use fanout_transport::ssh::endpoint;
use russh::MethodKind;
use russh::client::{AuthResult, Handle, KeyboardInteractiveAuthResponse};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use tokio::sync::OnceCell;

use super::Shared;
use super::session::Client;

/// Loaded private keys, one load per file (and passphrase) per run: an
/// encrypted key costs a slow KDF, which must not be paid per host.
/// Slots are keyed by the path and a keyed hash of the passphrase (never
/// the passphrase itself, which stays a [`Secret`]).
#[derive(Default)]
pub(super) struct KeyCache {
    #[allow(clippy::type_complexity)]
    slots: Mutex<HashMap<(PathBuf, Option<u64>), Arc<OnceCell<Result<Arc<PrivateKey>, String>>>>>,
    /// Random per run: the hashes mean nothing outside this process.
    hasher: std::hash::RandomState,
}

impl KeyCache {
    pub(super) async fn load(
        &self,
        path: &Path,
        passphrase: Option<&Secret>,
    ) -> Result<Arc<PrivateKey>, String> {
        use std::hash::BuildHasher;
        let hash = passphrase.map(|p| self.hasher.hash_one(p.expose()));
        let cell = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((path.to_path_buf(), hash))
            .or_default()
            .clone();
        cell.get_or_init(|| async {
            let file = path.to_path_buf();
            let pass = passphrase.cloned();
            let loaded = tokio::task::spawn_blocking(move || {
                russh::keys::load_secret_key(&file, pass.as_ref().map(Secret::expose))
            })
            .await;
            match loaded {
                Ok(Ok(key)) => Ok(Arc::new(key)),
                Ok(Err(russh::keys::Error::KeyIsEncrypted)) => Err(format!(
                    "key file {} is encrypted: give its passphrase (key_passphrase_env in the inventory)",
                    path.display()
                )),
                Ok(Err(e)) => Err(format!(
                    "could not load key file {}: {e}; check the path, the format (OpenSSH/PEM) and the passphrase",
                    path.display()
                )),
                Err(e) => Err(format!(
                    "loading key file {} failed: {e}; check that the file is a readable OpenSSH or PEM private key",
                    path.display()
                )),
            }
        })
        .await
        .clone()
    }
}

/// Whether the server still accepts `method` (unknown before the first
/// failure: then every method is worth a try).
fn allowed(remaining: &Option<russh::MethodSet>, method: MethodKind) -> bool {
    remaining.as_ref().is_none_or(|m| m.contains(&method))
}

/// The device closed the connection while an authentication attempt was
/// under way: typically its limit of attempts (MaxAuthTries) or a lockout.
/// Reported `auth`, so it is never retried with the same credentials
/// (which could lock the account).
fn lost(target: &Target, user: &str, e: impl std::fmt::Display) -> AttemptError {
    AttemptError::new(
        ErrorKind::Auth,
        None,
        format!(
            "{} closed the connection while authenticating `{user}`: {e}; the device may limit authentication attempts (MaxAuthTries) or have locked the account: check the username and credentials (and the device's AAA logs) before trying again",
            endpoint(target)
        ),
    )
}

/// Tries the target's credentials in order: key file, ssh-agent, password,
/// keyboard-interactive (answered with the password).
pub(super) async fn authenticate(
    h: &mut Handle<Client>,
    shared: &Shared,
    target: &Target,
    user: &str,
) -> Result<(), AttemptError> {
    fanout_transport::ssh::require_credentials(target)?;
    let creds = &target.credentials;
    let mut tried: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut remaining: Option<russh::MethodSet> = None;
    let done = |result: AuthResult, remaining: &mut Option<russh::MethodSet>| match result {
        AuthResult::Success => true,
        AuthResult::Failure {
            remaining_methods, ..
        } => {
            *remaining = Some(remaining_methods);
            false
        }
    };

    if let Some(path) = &creds.key_file {
        match shared.keys.load(path, creds.key_passphrase.as_ref()).await {
            Ok(key) => {
                let hash = rsa_hash(h, key.public_key()).await;
                tried.push(format!("publickey ({})", path.display()));
                let result = h
                    .authenticate_publickey(user, PrivateKeyWithHashAlg::new(key, hash))
                    .await
                    .map_err(|e| lost(target, user, e))?;
                if done(result, &mut remaining) {
                    return Ok(());
                }
            }
            Err(note) => notes.push(note),
        }
    }

    if creds.agent && allowed(&remaining, MethodKind::PublicKey) {
        match AgentClient::connect_env().await {
            Ok(mut agent) => match agent.request_identities().await {
                Ok(identities) => {
                    let keys: Vec<PublicKey> = identities
                        .into_iter()
                        .filter_map(|id| match id {
                            AgentIdentity::PublicKey { key, .. } => Some(key),
                            AgentIdentity::Certificate { .. } => None,
                        })
                        .collect();
                    if keys.is_empty() {
                        notes.push("ssh-agent holds no keys (ssh-add KEYFILE)".into());
                    }
                    for key in keys {
                        if !allowed(&remaining, MethodKind::PublicKey) {
                            break;
                        }
                        let hash = rsa_hash(h, &key).await;
                        tried.push(format!("publickey (agent {})", key.algorithm().as_str()));
                        match h
                            .authenticate_publickey_with(user, key, hash, &mut agent)
                            .await
                        {
                            Ok(result) => {
                                if done(result, &mut remaining) {
                                    return Ok(());
                                }
                            }
                            Err(e) => notes.push(format!("ssh-agent could not sign: {e}")),
                        }
                    }
                }
                Err(e) => notes.push(format!("ssh-agent did not list its keys: {e}")),
            },
            Err(e) => notes.push(format!(
                "could not reach ssh-agent (SSH_AUTH_SOCK): {e}; start one or remove `agent: true`"
            )),
        }
    }

    if let Some(password) = &creds.password {
        if allowed(&remaining, MethodKind::Password) {
            tried.push("password".into());
            let result = h
                .authenticate_password(user, password.expose())
                .await
                .map_err(|e| lost(target, user, e))?;
            if done(result, &mut remaining) {
                return Ok(());
            }
        }
        if allowed(&remaining, MethodKind::KeyboardInteractive) {
            tried.push("keyboard-interactive".into());
            if keyboard_interactive(h, user, password, target).await? {
                return Ok(());
            }
        }
    }

    let mut message = format!(
        "authentication as `{user}` at {} failed (tried {})",
        endpoint(target),
        if tried.is_empty() {
            "nothing the device accepts".to_string()
        } else {
            tried.join(", ")
        }
    );
    for note in notes {
        message.push_str("; ");
        message.push_str(&note);
    }
    message.push_str("; check the username and credentials");
    Err(AttemptError::new(ErrorKind::Auth, None, message))
}

/// The signature hash for an RSA key (the best the server accepts); `None`
/// for every other key type.
async fn rsa_hash(h: &Handle<Client>, key: &PublicKey) -> Option<russh::keys::HashAlg> {
    if key.algorithm().is_rsa() {
        h.best_supported_rsa_hash().await.ok().flatten().flatten()
    } else {
        None
    }
}

/// Keyboard-interactive with the password as the answer to every hidden
/// prompt (what devices ask: `Password:`). `Ok(true)` when accepted.
async fn keyboard_interactive(
    h: &mut Handle<Client>,
    user: &str,
    password: &Secret,
    target: &Target,
) -> Result<bool, AttemptError> {
    let mut reply = h
        .authenticate_keyboard_interactive_start(user, None)
        .await
        .map_err(|e| lost(target, user, e))?;
    // A device asks once or twice; more rounds than this is a loop.
    for _ in 0..4 {
        match reply {
            KeyboardInteractiveAuthResponse::Success => return Ok(true),
            KeyboardInteractiveAuthResponse::Failure { .. } => return Ok(false),
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                let answers = prompts
                    .iter()
                    .map(|p| {
                        if !p.echo || p.prompt.to_ascii_lowercase().contains("password") {
                            password.expose().to_string()
                        } else {
                            String::new()
                        }
                    })
                    .collect();
                reply = h
                    .authenticate_keyboard_interactive_respond(answers)
                    .await
                    .map_err(|e| lost(target, user, e))?;
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disconnect_during_authentication_is_auth_not_connect() {
        let target = Target::new("r1", "127.0.0.1");
        let err = lost(&target, "admin", "Disconnected");
        assert_eq!(err.kind, ErrorKind::Auth, "never retried: {err:?}");
        assert!(err.message.contains("127.0.0.1:22"), "{}", err.message);
        assert!(err.message.contains("MaxAuthTries"), "{}", err.message);
    }
}
