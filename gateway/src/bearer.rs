//! Who calls the JSON API: its bearer token, checked without a call to the
//! provider wherever possible.
//!
//! A JWT access token (RFC 9068, header `typ` `at+jwt`) is checked here
//! against the provider's cached keys ([`crate::jwks`]): signature, issuer,
//! audience (`api.audience`), expiry and not-before, with [`LEEWAY_SECS`] of
//! clock skew. Any other token is introspected (RFC 7662) and the answer,
//! negative ones too, kept for `api.introspection_cache_secs` (never past the
//! token's own expiry), so a token costs the provider one call however often
//! it is sent. Every call has the client's timeout: a provider that does not
//! answer is a 503, never a hung request. Tokens are kept only as hashes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::{JsonWebKey, TokenIntrospectionResponse};
use serde::Deserialize;

use crate::Error;
use crate::config::ApiSection;
use crate::oidc::Oidc;

/// Clock skew allowed on `exp` and `nbf`.
pub(crate) const LEEWAY_SECS: i64 = 30;
/// At most this many introspection answers are kept.
const CACHE_ENTRIES: usize = 10_000;

/// What a valid token grants: the client it was issued to and its scopes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Grant {
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// An introspection answer (none: not a valid token) and when it lapses.
type Answer = (Instant, Option<Grant>);

/// Introspection answers by the token's SHA-256.
#[derive(Default)]
pub(crate) struct Introspected {
    answers: Mutex<HashMap<[u8; 32], Answer>>,
}

impl Introspected {
    fn get(&self, key: &[u8; 32]) -> Option<Option<Grant>> {
        let answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        answers
            .get(key)
            .filter(|(until, _)| *until > Instant::now())
            .map(|(_, grant)| grant.clone())
    }

    fn put(&self, key: [u8; 32], until: Instant, grant: Option<Grant>) {
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        if answers.len() >= CACHE_ENTRIES {
            let now = Instant::now();
            answers.retain(|_, (u, _)| *u > now);
            if answers.len() >= CACHE_ENTRIES {
                answers.clear();
            }
        }
        answers.insert(key, (until, grant));
    }
}

/// The grant of `token`, or `None` if it is not a valid token for this API
/// (401); `Unavailable` if the provider had to be asked and did not answer.
pub(crate) async fn check(
    oidc: &Oidc,
    api: &ApiSection,
    cache: &Introspected,
    token: &str,
) -> Result<Option<Grant>, Error> {
    // Something that cannot be a token is refused without asking anyone.
    if !well_formed(token) {
        tracing::info!("bearer token refused (malformed)");
        return Ok(None);
    }
    if let Some(audience) = &api.audience
        && let Some(jwt) = Jwt::parse(token)
    {
        let keys = oidc
            .keys()
            .for_kid(oidc.http(), jwt.header.kid.as_deref())
            .await?;
        let now = carenet_fabric::clock::now_ms() / 1000;
        return Ok(
            match jwt.verify(keys.keys(), oidc.issuer(), audience, now) {
                Ok(grant) => Some(grant),
                Err(why) => {
                    tracing::info!(why, "bearer token refused");
                    None
                }
            },
        );
    }
    let key: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
        .as_ref()
        .try_into()
        .map_err(|_| Error::Config("sha-256 is 32 bytes".into()))?;
    if let Some(known) = cache.get(&key) {
        return Ok(known);
    }
    let answer = oidc.introspect(token).await?;
    let now = carenet_fabric::clock::now_ms() / 1000;
    let keep = Duration::from_secs(api.introspection_cache_secs);
    let (grant, until) = match judge(&answer, oidc.issuer(), api.audience.as_deref(), now) {
        Ok((grant, exp)) => {
            let left =
                Duration::from_secs(u64::try_from(exp.map_or(i64::MAX, |e| e - now)).unwrap_or(0));
            (Some(grant), keep.min(left))
        }
        Err(why) => {
            tracing::info!(why, "bearer token refused");
            (None, keep)
        }
    };
    cache.put(key, Instant::now() + until, grant.clone());
    Ok(grant)
}

/// Longer bearer tokens are refused unread.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// A bearer token as RFC 6750 writes one (b64token), of a sane length.
fn well_formed(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// An introspection answer: active, a bearer token of this issuer, for this
/// audience (when the config names one), within its time.
fn judge(
    answer: &openidconnect::core::CoreTokenIntrospectionResponse,
    issuer: &str,
    audience: Option<&str>,
    now: i64,
) -> Result<(Grant, Option<i64>), &'static str> {
    if !answer.active() {
        return Err("not active");
    }
    if let Some(t) = answer.token_type()
        && !t.as_ref().eq_ignore_ascii_case("bearer")
    {
        return Err("not an access token");
    }
    if answer.iss().is_some_and(|i| i != issuer) {
        return Err("another issuer");
    }
    if let (Some(want), Some(aud)) = (audience, answer.aud())
        && !aud.iter().any(|a| a == want)
    {
        return Err("another audience");
    }
    let exp = answer.exp().map(|t| t.timestamp());
    if exp.is_some_and(|e| e + LEEWAY_SECS <= now) {
        return Err("expired");
    }
    if answer
        .nbf()
        .is_some_and(|t| t.timestamp() - LEEWAY_SECS > now)
    {
        return Err("not yet valid");
    }
    let client_id = answer
        .client_id()
        .map(|c| c.as_str().to_owned())
        .ok_or("no client")?;
    let scopes = answer
        .scopes()
        .map(|s| s.iter().map(|s| s.as_str().to_owned()).collect())
        .unwrap_or_default();
    Ok((Grant { client_id, scopes }, exp))
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

/// The claims of RFC 9068 the API reads.
#[derive(Deserialize)]
struct Claims {
    iss: String,
    aud: serde_json::Value,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

/// A token in JWS compact form, its parts decoded.
pub(crate) struct Jwt {
    header: Header,
    signing_input: String,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl Jwt {
    /// `None` if `token` is not a JWS (then it is an opaque token).
    pub fn parse(token: &str) -> Option<Self> {
        let mut parts = token.split('.');
        let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
        Some(Self {
            header,
            signing_input: format!("{h}.{p}"),
            payload: URL_SAFE_NO_PAD.decode(p).ok()?,
            signature: URL_SAFE_NO_PAD.decode(s).ok()?,
        })
    }

    /// Checks the token against `keys`; the reason it fails names no
    /// part of the token.
    pub fn verify<K>(
        &self,
        keys: &[K],
        issuer: &str,
        audience: &str,
        now: i64,
    ) -> Result<Grant, &'static str>
    where
        K: JsonWebKey<SigningAlgorithm = CoreJwsSigningAlgorithm>,
    {
        let typ = self.header.typ.as_deref().unwrap_or_default();
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        if !typ.eq_ignore_ascii_case("at+jwt") {
            return Err("not an access token (typ)");
        }
        let alg: CoreJwsSigningAlgorithm =
            serde_json::from_value(serde_json::Value::String(self.header.alg.clone()))
                .map_err(|_| "unknown algorithm")?;
        if matches!(
            alg,
            CoreJwsSigningAlgorithm::None
                | CoreJwsSigningAlgorithm::HmacSha256
                | CoreJwsSigningAlgorithm::HmacSha384
                | CoreJwsSigningAlgorithm::HmacSha512
        ) {
            return Err("not signed with the provider's key");
        }
        let kid = self.header.kid.as_deref();
        let signed = keys
            .iter()
            .filter(|k| kid.is_none() || k.key_id().map(|i| i.as_str()) == kid)
            .any(|k| {
                k.verify_signature(&alg, self.signing_input.as_bytes(), &self.signature)
                    .is_ok()
            });
        if !signed {
            return Err("signature");
        }
        let claims: Claims = serde_json::from_slice(&self.payload).map_err(|_| "claims")?;
        if claims.iss != issuer {
            return Err("another issuer");
        }
        let for_us = match &claims.aud {
            serde_json::Value::String(a) => a == audience,
            serde_json::Value::Array(list) => list.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        };
        if !for_us {
            return Err("another audience");
        }
        if claims.exp + LEEWAY_SECS <= now {
            return Err("expired");
        }
        if claims.nbf.is_some_and(|nbf| nbf - LEEWAY_SECS > now) {
            return Err("not yet valid");
        }
        let client_id = claims.client_id.ok_or("no client_id")?;
        let scopes = claims
            .scope
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        Ok(Grant { client_id, scopes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openidconnect::core::CoreJsonWebKey;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

    const ISS: &str = "https://idp.example";
    const AUD: &str = "urn:carenet:api";
    const NOW: i64 = 1_800_000_000;

    struct Signer {
        pair: EcdsaKeyPair,
        rng: ring::rand::SystemRandom,
    }

    impl Signer {
        fn new() -> Self {
            let rng = ring::rand::SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                    .unwrap();
            Self { pair, rng }
        }

        fn jwk(&self, kid: &str) -> CoreJsonWebKey {
            let point = self.pair.public_key().as_ref();
            serde_json::from_value(serde_json::json!({
                "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            }))
            .unwrap()
        }

        fn token(&self, header: serde_json::Value, claims: serde_json::Value) -> String {
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let sig = self.pair.sign(&self.rng, input.as_bytes()).unwrap();
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
        }
    }

    fn header() -> serde_json::Value {
        serde_json::json!({"alg": "ES256", "typ": "at+jwt", "kid": "k1"})
    }

    fn claims() -> serde_json::Value {
        serde_json::json!({
            "iss": ISS, "aud": AUD, "exp": NOW + 600, "iat": NOW, "nbf": NOW,
            "client_id": "las-po-1", "sub": "las-po-1", "scope": "carenet-api other",
        })
    }

    fn check(
        signer: &Signer,
        keys: &[CoreJsonWebKey],
        h: serde_json::Value,
        c: serde_json::Value,
    ) -> Result<Grant, &'static str> {
        Jwt::parse(&signer.token(h, c))
            .expect("a JWS")
            .verify(keys, ISS, AUD, NOW)
    }

    #[test]
    fn a_valid_access_token_grants_its_client_and_scopes() {
        let s = Signer::new();
        let grant = check(&s, &[s.jwk("k1")], header(), claims()).unwrap();
        assert_eq!(grant.client_id, "las-po-1");
        assert_eq!(grant.scopes, ["carenet-api", "other"]);
    }

    #[test]
    fn each_claim_and_the_type_are_checked() {
        let s = Signer::new();
        let keys = [s.jwk("k1")];
        let with = |k: &str, v: serde_json::Value| {
            let mut c = claims();
            c[k] = v;
            c
        };
        assert_eq!(
            check(
                &s,
                &keys,
                header(),
                with("iss", "https://evil.example".into())
            ),
            Err("another issuer")
        );
        assert_eq!(
            check(&s, &keys, header(), with("aud", "urn:other".into())),
            Err("another audience")
        );
        assert!(
            check(
                &s,
                &keys,
                header(),
                with("aud", serde_json::json!(["urn:other", AUD]))
            )
            .is_ok()
        );
        assert_eq!(
            check(&s, &keys, header(), with("exp", (NOW - LEEWAY_SECS).into())),
            Err("expired")
        );
        assert!(
            check(&s, &keys, header(), with("exp", (NOW - 5).into())).is_ok(),
            "within the leeway"
        );
        assert_eq!(
            check(&s, &keys, header(), with("nbf", (NOW + 120).into())),
            Err("not yet valid")
        );
        // An ID token (typ JWT, or none) is not an access token.
        for typ in [serde_json::json!("JWT"), serde_json::Value::Null] {
            let mut h = header();
            h["typ"] = typ;
            assert_eq!(
                check(&s, &keys, h, claims()),
                Err("not an access token (typ)")
            );
        }
        let mut h = header();
        h["typ"] = "application/at+jwt".into();
        assert!(check(&s, &keys, h, claims()).is_ok());
    }

    #[test]
    fn only_the_providers_keys_sign() {
        let s = Signer::new();
        let other = Signer::new();
        // Signed by another key under the same key id.
        assert_eq!(
            check(&s, &[other.jwk("k1")], header(), claims()),
            Err("signature")
        );
        // A key id the set does not hold.
        assert_eq!(
            check(&s, &[s.jwk("k2")], header(), claims()),
            Err("signature")
        );
        // After a rotation the set holds both keys; the token's names the new one.
        assert!(check(&s, &[other.jwk("k0"), s.jwk("k1")], header(), claims()).is_ok());
        // Unsigned, or "signed" with a shared secret.
        for alg in ["none", "HS256"] {
            let mut h = header();
            h["alg"] = alg.into();
            assert_eq!(
                check(&s, &[s.jwk("k1")], h, claims()),
                Err("not signed with the provider's key")
            );
        }
        // A tampered payload.
        let token = s.token(header(), claims());
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut changed = claims();
        changed["client_id"] = "las-zc".into();
        let forged = URL_SAFE_NO_PAD.encode(changed.to_string());
        parts[1] = &forged;
        let jwt = Jwt::parse(&parts.join(".")).unwrap();
        assert_eq!(jwt.verify(&[s.jwk("k1")], ISS, AUD, NOW), Err("signature"));
    }

    #[test]
    fn malformed_tokens_are_refused_unread() {
        assert!(well_formed("UNgELCi5p_5JgHPXPRqVeeSgsCa-bjxJtoEGSEikkoV"));
        assert!(well_formed("abc.def.ghi"));
        assert!(well_formed("dGVzdA=="));
        for bad in [
            "",
            "==",
            "a b",
            "a\"b",
            "<script>",
            "ü",
            &"a".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn opaque_tokens_are_not_jws() {
        assert!(Jwt::parse("7Qk2x_opaque-token").is_none());
        assert!(Jwt::parse("a.b.c.d").is_none());
    }
}
