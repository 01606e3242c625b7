//! Authentication on russh: the target's credentials in order — key file,
//! ssh-agent, password, keyboard-interactive (answered with the password) —
//! and the private keys loaded once per run. Messages name what was tried,
//! never a secret.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use fanout_core::{Secret, Target};
use fanout_engine::AttemptError;
use fanout_transport::ssh::auth::{self as policy, AuthReport, Method};
use russh::MethodKind;
use russh::client::{AuthResult, Handle, KeyboardInteractiveAuthResponse};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use tokio::sync::OnceCell;

use super::Shared;
use super::session::{Client, Ending, cut_off_handshake};

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
                Ok(Err(russh::keys::Error::KeyIsEncrypted)) => {
                    Err(policy::key_file_encrypted(path))
                }
                Ok(Err(russh::keys::Error::IO(e))) => Err(policy::key_file_unreadable(path, &e)),
                Ok(Err(e)) => Err(policy::key_file_unusable(path, e)),
                Err(e) => Err(policy::key_file_unusable(path, e)),
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

/// How a login attempt stopped short of an answer.
enum Stop {
    /// The connection is gone (russh's error): what the device said when
    /// it hung up decides what that was.
    Lost(russh::Error),
    /// Every credential was tried, or none could be ([`AuthReport`]).
    Failed(AttemptError),
}

/// Tries the target's credentials in the policy's order
/// ([`policy::ORDER`]): each method the device has not refused yet (what
/// it accepts is known after its first refusal).
///
/// A device out of sessions disconnects right after the handshake, saying
/// so (`TooManyConnections`): then no credential was judged, and the
/// attempt is a handshake the device cut off, as libssh2 reports it,
/// whether the disconnect came before the first login was sent or while
/// it was under way. Any other disconnect once a login was sent stays an
/// auth failure ([`policy::lost`]): a device may hang up on a wrong
/// password.
pub(super) async fn authenticate(
    h: &mut Handle<Client>,
    shared: &Shared,
    target: &Target,
    user: &str,
    ending: &mut Ending,
) -> Result<(), AttemptError> {
    if h.is_closed() {
        let farewell = ending.farewell(h).await;
        return Err(cut_off_handshake(
            target,
            farewell.as_ref(),
            "the device closed the connection before any login was sent",
        ));
    }
    match methods(h, shared, target, user).await {
        Ok(()) => Ok(()),
        Err(Stop::Failed(e)) => Err(e),
        Err(Stop::Lost(e)) => Err(match ending.farewell(h).await {
            Some(f) if f.out_of_sessions() => cut_off_handshake(target, Some(&f), e),
            Some(f) => policy::lost(target, user, f.words()),
            None => policy::lost(target, user, e),
        }),
    }
}

async fn methods(
    h: &mut Handle<Client>,
    shared: &Shared,
    target: &Target,
    user: &str,
) -> Result<(), Stop> {
    let creds = &target.credentials;
    let mut report = AuthReport::default();
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

    for method in policy::ORDER {
        let accepted = match method {
            Method::KeyFile => match &creds.key_file {
                Some(path) if allowed(&remaining, MethodKind::PublicKey) => {
                    match shared.keys.load(path, creds.key_passphrase.as_ref()).await {
                        Ok(key) => {
                            let hash = rsa_hash(h, key.public_key()).await;
                            report.tried_key_file(path);
                            let result = h
                                .authenticate_publickey(user, PrivateKeyWithHashAlg::new(key, hash))
                                .await
                                .map_err(Stop::Lost)?;
                            done(result, &mut remaining)
                        }
                        Err(note) => {
                            report.note(note);
                            false
                        }
                    }
                }
                _ => false,
            },
            Method::Agent if creds.agent && allowed(&remaining, MethodKind::PublicKey) => {
                agent(h, user, &mut remaining, &mut report).await
            }
            Method::Agent => false,
            Method::Password => match &creds.password {
                Some(password) if allowed(&remaining, MethodKind::Password) => {
                    report.tried_password();
                    let result = h
                        .authenticate_password(user, password.expose())
                        .await
                        .map_err(Stop::Lost)?;
                    done(result, &mut remaining)
                }
                _ => false,
            },
            Method::KeyboardInteractive => match &creds.password {
                Some(password) if allowed(&remaining, MethodKind::KeyboardInteractive) => {
                    report.tried_keyboard_interactive();
                    keyboard_interactive(h, user, password).await?
                }
                _ => false,
            },
        };
        if accepted {
            return Ok(());
        }
    }
    Err(Stop::Failed(report.failed(target, user)))
}

/// Tries each key of the running ssh-agent; `true` when one is accepted.
async fn agent(
    h: &mut Handle<Client>,
    user: &str,
    remaining: &mut Option<russh::MethodSet>,
    report: &mut AuthReport,
) -> bool {
    let mut agent = match AgentClient::connect_env().await {
        Ok(agent) => agent,
        Err(russh::keys::Error::IO(e)) => {
            report.note(policy::agent_connect_failed(&e));
            return false;
        }
        Err(e) => {
            report.note(policy::agent_unreachable(e));
            return false;
        }
    };
    let identities = match agent.request_identities().await {
        Ok(ids) => ids,
        Err(e) => {
            report.note(policy::agent_list_failed(e));
            return false;
        }
    };
    let keys: Vec<(PublicKey, String)> = identities
        .into_iter()
        .filter_map(|id| match id {
            AgentIdentity::PublicKey { key, comment } => Some((key, comment)),
            AgentIdentity::Certificate { .. } => None,
        })
        .collect();
    if keys.is_empty() {
        report.note(policy::agent_empty());
    }
    for (key, comment) in keys {
        if !allowed(remaining, MethodKind::PublicKey) {
            break;
        }
        let hash = rsa_hash(h, &key).await;
        report.tried_agent_key(&comment);
        match h
            .authenticate_publickey_with(user, key, hash, &mut agent)
            .await
        {
            Ok(AuthResult::Success) => return true,
            Ok(AuthResult::Failure {
                remaining_methods, ..
            }) => *remaining = Some(remaining_methods),
            Err(e) => report.note(format!("ssh-agent could not sign: {e}")),
        }
    }
    false
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
) -> Result<bool, Stop> {
    let mut reply = h
        .authenticate_keyboard_interactive_start(user, None)
        .await
        .map_err(Stop::Lost)?;
    for _ in 0..policy::KEYBOARD_INTERACTIVE_ROUNDS {
        match reply {
            KeyboardInteractiveAuthResponse::Success => return Ok(true),
            KeyboardInteractiveAuthResponse::Failure { .. } => return Ok(false),
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                let answers = prompts
                    .iter()
                    .map(|p| {
                        policy::answer_prompt(&p.prompt, p.echo, password.expose()).to_string()
                    })
                    .collect();
                reply = h
                    .authenticate_keyboard_interactive_respond(answers)
                    .await
                    .map_err(Stop::Lost)?;
            }
        }
    }
    Ok(false)
}
