//! Passkeys: the relying party a page's host makes, the ceremonies in flight, and the check
//! of an assertion against the stored credential and its counter.
//!
//! The WebAuthn ceremonies themselves are `webauthn-rs`'s (its passkey flavour: user
//! verification required, so a passkey is two factors in itself). A ceremony's state never
//! leaves the gateway: it waits here under a random id, bound to whoever asked (the hash of the
//! page's CSRF token, which belongs to one session or one pre-session cookie), and is taken
//! out at its first answer, so a challenge is answered once at most. Ceremonies live as long
//! as the browser is told to wait, in bounded caches that drop the least recently made first:
//! one for signed-in people (adding a passkey, the second factor) and a smaller one for the
//! sign-in page's passwordless button, which anyone can load, so that a flood of sign-in pages
//! never pushes out the ceremonies of people signed in.

use std::sync::Arc;
use std::time::Duration;

use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration, Url, Webauthn,
    WebauthnBuilder, WebauthnError,
};

use crate::config::Config;

/// How long the browser is given, and a ceremony kept.
pub const CEREMONY_LIFETIME: Duration = Duration::from_secs(300);
/// Ceremonies of signed-in people in flight at most; the least recently made go first.
const MAX_SIGNED_IN_CEREMONIES: u64 = 100_000;
/// Passwordless ceremonies in flight at most (one per sign-in page shown).
const MAX_PASSWORDLESS_CEREMONIES: u64 = 20_000;
/// The longest name a person may give a passkey, in characters.
pub const MAX_NAME: usize = 64;
/// Largest credential (JSON from the browser) read.
pub const MAX_CREDENTIAL_JSON: usize = 8 * 1024;

/// What a ceremony is for, with its state.
pub enum Step {
    /// Adding a passkey named `name` for `user_id`.
    Register {
        user_id: i64,
        name: String,
        state: PasskeyRegistration,
    },
    /// The second factor of `user_id`, with one of their passkeys.
    SecondFactor {
        user_id: i64,
        state: PasskeyAuthentication,
    },
    /// Signing in with a passkey alone: whoever the authenticator names.
    Passwordless { state: DiscoverableAuthentication },
}

/// A relying party: its id (a host name) and the library's checks for it.
pub struct RelyingParty {
    pub id: String,
    pub webauthn: Webauthn,
    /// The page's host and port, as checked (for the page's script source).
    pub authority: String,
}

/// A ceremony in flight.
pub struct Ceremony {
    /// Who may answer it: the SHA-256 of the CSRF token of the page that started it.
    owner: [u8; 32],
    /// The relying party it was started for (the host of that page).
    pub rp: RelyingParty,
    pub step: Step,
}

/// The ceremonies in flight.
pub struct Ceremonies {
    signed_in: Cache<String, Arc<Ceremony>>,
    passwordless: Cache<String, Arc<Ceremony>>,
}

impl std::fmt::Debug for Ceremonies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ceremonies")
            .field("signed_in", &self.signed_in.entry_count())
            .field("passwordless", &self.passwordless.entry_count())
            .finish()
    }
}

fn ceremony_cache(capacity: u64) -> Cache<String, Arc<Ceremony>> {
    Cache::builder()
        .max_capacity(capacity)
        .eviction_policy(EvictionPolicy::lru())
        .time_to_live(CEREMONY_LIFETIME)
        .build()
}

impl Default for Ceremonies {
    fn default() -> Self {
        Ceremonies {
            signed_in: ceremony_cache(MAX_SIGNED_IN_CEREMONIES),
            passwordless: ceremony_cache(MAX_PASSWORDLESS_CEREMONIES),
        }
    }
}

fn owner_of(csrf: &str) -> [u8; 32] {
    Sha256::digest(csrf.as_bytes()).into()
}

impl Ceremonies {
    /// Keeps a ceremony for the page whose CSRF token is `csrf`; returns its id.
    pub fn start(&self, csrf: &str, rp: RelyingParty, step: Step) -> String {
        let id = crate::session::random_token();
        let cache = match step {
            Step::Passwordless { .. } => &self.passwordless,
            _ => &self.signed_in,
        };
        let ceremony = Ceremony {
            owner: owner_of(csrf),
            rp,
            step,
        };
        cache.insert(id.clone(), Arc::new(ceremony));
        id
    }

    /// Takes ceremony `id` out, if it is live and the form answering it carries `csrf`, the
    /// token of the page that started it. A ceremony is taken once: a second answer finds
    /// nothing. One asked by another browser is left alone.
    pub fn take(&self, id: &str, csrf: &str) -> Option<Arc<Ceremony>> {
        if id.is_empty() || id.len() > 64 {
            return None;
        }
        let cache = [&self.signed_in, &self.passwordless]
            .into_iter()
            .find(|c| c.contains_key(id))?;
        let found = cache.get(id)?;
        let same: bool =
            subtle::ConstantTimeEq::ct_eq(&found.owner[..], &owner_of(csrf)[..]).into();
        if !same {
            return None;
        }
        cache.remove(id)
    }
}

/// The relying party for a page on `host` (the `Host` header, with any port), or `None` when
/// passkeys cannot work there: a host no app serves, an address rather than a name, or one
/// outside the configured `rp_id`.
///
/// The rp id is `[webauthn] rp_id`, else the cookie domain, else the host itself. The one
/// origin accepted is the page's own: `https://host`, and `http://host` too when the request
/// came in plain and cookies are not marked `Secure` (a local set-up; behind a proxy that ends
/// TLS, browsers are on `https`).
pub fn relying_party(config: &Config, host: &str, tls: bool) -> Option<RelyingParty> {
    let origin = Url::parse(&format!("https://{host}")).ok()?;
    // A host and an optional port, nothing else (a `Host` header can hold anything).
    let bare = origin.username().is_empty()
        && origin.password().is_none()
        && origin.path() == "/"
        && origin.query().is_none()
        && origin.fragment().is_none();
    if !bare {
        return None;
    }
    let name = origin.domain()?.to_ascii_lowercase();
    let authority = match origin.port() {
        Some(port) => format!("{name}:{port}"),
        None => name.clone(),
    };
    // An app's host, never merely one under the cookie domain (a sibling the gateway does not
    // serve); an app without `hosts` serves every host.
    if !config.router.knows_host(&name) && !config.router.has_catch_all() {
        return None;
    }
    let rp_id = config
        .webauthn
        .rp_id
        .clone()
        .or_else(|| config.session.cookie_domain.clone())
        .unwrap_or_else(|| name.clone());
    let mut builder = WebauthnBuilder::new(&rp_id, &origin)
        .ok()?
        .rp_name(&config.totp.issuer)
        .timeout(CEREMONY_LIFETIME);
    let plain = Url::parse(&format!("http://{authority}")).ok()?;
    if !tls && !config.session.secure {
        builder = builder.append_allowed_origin(&plain);
    }
    let webauthn = builder.build().ok()?;
    Some(RelyingParty {
        id: rp_id,
        webauthn,
        authority,
    })
}

/// The options a page hands the browser to create a passkey, as JSON. The library asks for
/// a key the authenticator need not keep; a kept ("discoverable") one is asked for instead,
/// when the authenticator can, so that the same passkey also signs in without a username.
pub fn creation_options_json(ccr: &webauthn_rs::prelude::CreationChallengeResponse) -> String {
    let mut value = serde_json::to_value(ccr).unwrap_or_default();
    if let Some(selection) = value
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(|v| v.as_object_mut())
    {
        selection.insert("residentKey".into(), "preferred".into());
        selection.insert("requireResidentKey".into(), false.into());
    }
    value.to_string()
}

/// The options a page hands the browser to use a passkey, as JSON. A sign-in without a
/// username is asked for with a button, not in the username field's suggestions.
pub fn request_options_json(rcr: &webauthn_rs::prelude::RequestChallengeResponse) -> String {
    let mut value = serde_json::to_value(rcr).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.remove("mediation");
    }
    value.to_string()
}

/// A stored passkey as the library reads it; `None` when its record does not parse.
pub fn parse(credential: &str) -> Option<Passkey> {
    serde_json::from_str(credential).ok()
}

/// What became of an assertion.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a credential, not this user's, a bad signature, no user verification: refused.
    Invalid(&'static str),
    /// The signature counter did not move forward: the key may have been copied.
    PossibleClone,
}

/// Reads a library error on an assertion as a refusal, with the words of its audit row.
pub fn refusal(e: &WebauthnError) -> Refusal {
    match e {
        WebauthnError::CredentialPossibleCompromise => Refusal::PossibleClone,
        WebauthnError::InvalidRPOrigin => Refusal::Invalid("wrong origin"),
        WebauthnError::UserNotVerified => Refusal::Invalid("user not verified"),
        WebauthnError::MismatchedChallenge => Refusal::Invalid("wrong challenge"),
        WebauthnError::CredentialNotFound | WebauthnError::InvalidUserUniqueId => {
            Refusal::Invalid("unknown passkey")
        }
        _ => Refusal::Invalid("assertion refused"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        let text = format!(
            "[session]\nsecure = false\n{extra}\n[[apps]]\nname = \"app\"\n\
             hosts = [\"app.example.com\"]\nupstream = \"127.0.0.1:1\"\n"
        );
        Config::parse(std::path::Path::new("t.toml"), &text).unwrap()
    }

    #[test]
    fn passkeys_work_only_on_the_apps_hosts_by_name() {
        let c = config("");
        assert!(relying_party(&c, "app.example.com", false).is_some());
        assert!(relying_party(&c, "app.example.com:8443", true).is_some());
        assert!(relying_party(&c, "evil.example.net", false).is_none());
        assert!(relying_party(&c, "127.0.0.1:8080", false).is_none());
        assert!(relying_party(&c, "[::1]:8080", false).is_none());
        // A `Host` header holds whatever the client sends: only a host and a port pass.
        for odd in [
            "x script-src *@app.example.com",
            "app.example.com/evil",
            "app.example.com?x",
            "app.example.com#x",
            "a:b@app.example.com",
        ] {
            assert!(relying_party(&c, odd, false).is_none(), "{odd}");
        }
        let rp = relying_party(&c, "APP.example.com:8443", true).unwrap();
        assert_eq!(rp.authority, "app.example.com:8443");
    }

    #[test]
    fn an_app_on_every_host_takes_passkeys_on_any_name() {
        let text =
            "[session]\nsecure = false\n[[apps]]\nname = \"any\"\nupstream = \"127.0.0.1:1\"\n";
        let c = Config::parse(std::path::Path::new("t.toml"), text).unwrap();
        let rp = relying_party(&c, "localhost:8080", false).unwrap();
        assert_eq!(
            rp.webauthn.get_allowed_origins()[1].as_str(),
            "http://localhost:8080/"
        );
        assert!(relying_party(&c, "127.0.0.1:8080", false).is_none());
    }

    #[test]
    fn the_page_origin_is_the_only_one_accepted() {
        let c = config("");
        let rp = relying_party(&c, "app.example.com:8080", false).unwrap();
        let origins: Vec<String> = rp
            .webauthn
            .get_allowed_origins()
            .iter()
            .map(|u| u.to_string())
            .collect();
        assert_eq!(
            origins,
            [
                "https://app.example.com:8080/",
                "http://app.example.com:8080/"
            ]
        );
        let rp = relying_party(&c, "app.example.com", true).unwrap();
        assert_eq!(rp.webauthn.get_allowed_origins().len(), 1);
    }

    #[test]
    fn an_rp_id_outside_the_host_leaves_passkeys_off_there() {
        let c = config("[webauthn]\nrp_id = \"other.org\"");
        assert!(relying_party(&c, "app.example.com", false).is_none());
        let c = config("[webauthn]\nrp_id = \"example.com\"");
        assert_eq!(
            relying_party(&c, "app.example.com", false).unwrap().id,
            "example.com"
        );
        // A cookie domain is the default rp id, but a host under it that no app serves gets
        // no passkeys.
        let c = config("cookie_domain = \"example.com\"");
        assert_eq!(
            relying_party(&c, "app.example.com", false).unwrap().id,
            "example.com"
        );
        assert!(relying_party(&c, "sibling.example.com", false).is_none());
    }

    #[test]
    fn a_ceremony_is_answered_once_and_only_by_the_page_that_asked() {
        let c = config("");
        let rp = relying_party(&c, "app.example.com", false).unwrap();
        assert_eq!(rp.id, "app.example.com");
        let (_, state) = rp.webauthn.start_discoverable_authentication().unwrap();
        let ceremonies = Ceremonies::default();
        let id = ceremonies.start("token-a", rp, Step::Passwordless { state });
        assert!(ceremonies.take(&id, "token-b").is_none());
        assert!(ceremonies.take(&id, "token-a").is_some());
        assert!(ceremonies.take(&id, "token-a").is_none());
        assert!(ceremonies.take("", "token-a").is_none());
    }

    /// Ceremonies recorded from Chromium's virtual authenticator (see the browser test
    /// `record_passkey_fixtures`): a registration, then an assertion with that passkey.
    mod recorded {
        use serde_json::Value;
        use webauthn_rs::prelude::{
            PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
            RegisterPublicKeyCredential,
        };

        use super::super::*;

        fn fixture() -> Value {
            serde_json::from_str(include_str!("../../tests/fixtures/passkeys.json")).unwrap()
        }

        fn rp_for(origin: &str) -> Webauthn {
            let origin = Url::parse(origin).unwrap();
            WebauthnBuilder::new("app.test", &origin)
                .unwrap()
                .build()
                .unwrap()
        }

        fn part<T: serde::de::DeserializeOwned>(f: &Value, pointer: &str) -> T {
            serde_json::from_value(f.pointer(pointer).unwrap().clone()).unwrap()
        }

        /// The recorded passkey, registered as the gateway would.
        fn registered(f: &Value) -> Passkey {
            let rp = rp_for(f["origin"].as_str().unwrap());
            let state: PasskeyRegistration = part(f, "/registration/state");
            let response: RegisterPublicKeyCredential = part(f, "/registration/response");
            rp.finish_passkey_registration(&response, &state).unwrap()
        }

        #[test]
        fn the_recorded_registration_gives_the_browsers_credential() {
            let f = fixture();
            let passkey = registered(&f);
            let response: RegisterPublicKeyCredential = part(&f, "/registration/response");
            assert_eq!(passkey.cred_id().to_vec(), response.raw_id.to_vec());
            // What the store keeps reads back as the same passkey.
            let stored = serde_json::to_string(&passkey).unwrap();
            assert_eq!(parse(&stored).unwrap().cred_id(), passkey.cred_id());
        }

        #[test]
        fn a_registration_made_on_another_origin_is_refused() {
            let f = fixture();
            let rp = rp_for("http://app.test:1");
            let state: PasskeyRegistration = part(&f, "/registration/state");
            let response: RegisterPublicKeyCredential = part(&f, "/registration/response");
            let err = rp
                .finish_passkey_registration(&response, &state)
                .unwrap_err();
            assert_eq!(refusal(&err), Refusal::Invalid("wrong origin"));
        }

        #[test]
        fn the_recorded_assertion_checks_out_verified_and_counted() {
            let f = fixture();
            registered(&f);
            let rp = rp_for(f["origin"].as_str().unwrap());
            let state: PasskeyAuthentication = part(&f, "/authentication/state");
            let response: PublicKeyCredential = part(&f, "/authentication/response");
            let result = rp.finish_passkey_authentication(&response, &state).unwrap();
            assert!(result.user_verified());
            assert!(result.counter() > 0, "the virtual authenticator counts");
        }

        #[test]
        fn an_assertion_on_another_origin_is_refused() {
            let f = fixture();
            let rp = rp_for("https://app.test");
            let state: PasskeyAuthentication = part(&f, "/authentication/state");
            let response: PublicKeyCredential = part(&f, "/authentication/response");
            let err = rp
                .finish_passkey_authentication(&response, &state)
                .unwrap_err();
            assert_eq!(refusal(&err), Refusal::Invalid("wrong origin"));
        }

        #[test]
        fn an_assertion_for_another_challenge_is_refused() {
            let f = fixture();
            let passkey = registered(&f);
            let rp = rp_for(f["origin"].as_str().unwrap());
            // A new challenge for the same passkey: the recorded answer does not answer it.
            let (_, state) = rp.start_passkey_authentication(&[passkey]).unwrap();
            let response: PublicKeyCredential = part(&f, "/authentication/response");
            let err = rp
                .finish_passkey_authentication(&response, &state)
                .unwrap_err();
            assert_eq!(refusal(&err), Refusal::Invalid("wrong challenge"));
        }

        #[test]
        fn a_counter_that_does_not_move_forward_is_a_possible_clone() {
            let f = fixture();
            let rp = rp_for(f["origin"].as_str().unwrap());
            let response: PublicKeyCredential = part(&f, "/authentication/response");
            let counter = {
                let state: PasskeyAuthentication = part(&f, "/authentication/state");
                rp.finish_passkey_authentication(&response, &state)
                    .unwrap()
                    .counter()
            };
            // The stored counter has reached the assertion's (another copy of the key was used
            // since): the same answer is now a sign of a copied key.
            let mut state = f.pointer("/authentication/state").unwrap().clone();
            let credentials = state
                .pointer_mut("/ast/credentials")
                .and_then(Value::as_array_mut)
                .unwrap();
            for credential in credentials.iter_mut() {
                credential["counter"] = counter.into();
            }
            let state: PasskeyAuthentication = serde_json::from_value(state).unwrap();
            let err = rp
                .finish_passkey_authentication(&response, &state)
                .unwrap_err();
            assert_eq!(refusal(&err), Refusal::PossibleClone);
        }

        #[test]
        fn a_tampered_signature_is_refused() {
            let f = fixture();
            let rp = rp_for(f["origin"].as_str().unwrap());
            let state: PasskeyAuthentication = part(&f, "/authentication/state");
            let mut response = f.pointer("/authentication/response").unwrap().clone();
            let signature = response["response"]["signature"].as_str().unwrap();
            // Change one character in the middle of the base64url signature.
            let mut chars: Vec<char> = signature.chars().collect();
            let i = chars.len() / 2;
            chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
            response["response"]["signature"] = chars.into_iter().collect::<String>().into();
            let response: PublicKeyCredential = serde_json::from_value(response).unwrap();
            let err = rp
                .finish_passkey_authentication(&response, &state)
                .unwrap_err();
            assert_eq!(refusal(&err), Refusal::Invalid("assertion refused"));
        }

        #[test]
        fn options_ask_for_a_kept_key_and_a_button_not_autofill() {
            let f = fixture();
            let rp = rp_for(f["origin"].as_str().unwrap());
            let (ccr, _) = rp
                .start_passkey_registration(webauthn_rs::prelude::Uuid::nil(), "a", "A", None)
                .unwrap();
            let options: Value = serde_json::from_str(&creation_options_json(&ccr)).unwrap();
            let selection = &options["publicKey"]["authenticatorSelection"];
            assert_eq!(selection["residentKey"], "preferred");
            assert_eq!(selection["userVerification"], "required");
            let (rcr, _) = rp.start_discoverable_authentication().unwrap();
            let options: Value = serde_json::from_str(&request_options_json(&rcr)).unwrap();
            assert!(options.get("mediation").is_none());
            assert_eq!(options["publicKey"]["userVerification"], "required");
        }
    }
}
