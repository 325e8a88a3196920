//! Fuzz-style property tests, run on stable with proptest in the normal test suite: every
//! reader in `protocol` that takes outside input gets arbitrary bytes and strings, and valid
//! inputs with their parts flipped, cut, dropped or replaced by random JSON. The properties:
//!
//! - nothing panics (overflow included: the test profile checks arithmetic);
//! - each case finishes well under [`CASE_BUDGET`];
//! - where it is cheap, consistency: a valid token still verifies, any edit of its signature
//!   (or of the signed text) makes verification fail, a key read back is the same key, a
//!   form written out reads back the same.
//!
//! Run: `cargo test -p protocol --test fuzz` (~10 s in a debug build). More cases for a
//! longer hunt: `PROPTEST_CASES=5000 cargo test -p protocol --test fuzz --release`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value, json};

use protocol::jose::{self, Alg, PublicJwk, b64_encode};
use protocol::signing::SigningKey;
use protocol::{
    access_token, assertion_details, authorization_response, client_assertion, client_config, dpop,
    form, id_token, pkce, selvbetjening, tillitsrammeverk, ttt, urlencoding,
};

const NOW: i64 = 1_800_000_000;
const ISSUER: &str = "https://helseid-sts.test.nhn.no";
const TOKEN_URL: &str = "https://helseid-sts.test.nhn.no/connect/token";
const CLIENT_ID: &str = "e4d3c1a2-0000-4000-8000-000000000001";

/// The most one case may take. Real cases take milliseconds; this catches a parser that
/// goes quadratic or worse on some shape.
const CASE_BUDGET: Duration = Duration::from_millis(750);

fn cases(n: u32) -> ProptestConfig {
    // A fixed seed, so the suite is the same on every run (CI must not flake); a hunt for
    // new cases sets PROPTEST_RNG_SEED (and PROPTEST_CASES), which the default reads.
    let default = ProptestConfig::default();
    let rng_seed = if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
        default.rng_seed
    } else {
        proptest::test_runner::RngSeed::Fixed(20_261_206)
    };
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        default.cases
    } else {
        n
    };
    ProptestConfig {
        cases,
        rng_seed,
        max_shrink_iters: 512,
        // A failure prints its input; the ones found so far are plain tests below.
        failure_persistence: None,
        ..default
    }
}

/// Runs `f`, failing when it takes longer than [`CASE_BUDGET`].
fn quick<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(took < CASE_BUDGET, "{what} took {took:?}");
    out
}

// --- keys ---------------------------------------------------------------------------------

/// One key of each family, made once for the whole run (RSA key generation is the slow part).
fn keys() -> &'static [SigningKey] {
    static KEYS: OnceLock<Vec<SigningKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        vec![
            SigningKey::generate_ec(Alg::ES256, "k-es256".into()).unwrap(),
            SigningKey::generate_ec(Alg::ES384, "k-es384".into()).unwrap(),
            SigningKey::generate_ec(Alg::ES512, "k-es512".into()).unwrap(),
            SigningKey::generate_rsa(2048, Alg::PS256, "k-ps256".into()).unwrap(),
            SigningKey::generate_rsa(2048, Alg::RS256, "k-rs256".into()).unwrap(),
        ]
    })
}

fn key_index() -> impl Strategy<Value = usize> {
    0..keys().len()
}

/// The JWKS of every test key.
fn jwks() -> Value {
    json!({"keys": keys().iter().map(|k| k.public_jwk().to_json()).collect::<Vec<_>>()})
}

/// A compact JWS over any header (the key's `sign_jwt` would set `alg` and `kid` itself).
fn sign_with_header(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let mut token = b64_encode(&serde_json::to_vec(header).unwrap());
    token.push('.');
    token.push_str(&b64_encode(&serde_json::to_vec(claims).unwrap()));
    let sig = key.sign_raw(token.as_bytes()).unwrap();
    token.push('.');
    token.push_str(&b64_encode(&sig));
    token
}

// --- generators ---------------------------------------------------------------------------

/// Numbers that break arithmetic: the extremes of i64, u64 and f64, fractions, times near
/// [`NOW`] and digit strings (client assertions read `"iat": "1677743803"`).
fn awkward_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(i64::MIN)),
        Just(json!(i64::MAX)),
        Just(json!(u64::MAX)),
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(1e300)),
        Just(json!(-1e300)),
        Just(json!(0.5)),
        Just(json!(NOW as f64 + 0.999)),
        Just(json!("1800000000")),
        Just(json!("-9223372036854775808")),
        Just(json!("99999999999999999999")),
        (-400i64..400).prop_map(|d| json!(NOW + d)),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
    ]
}

/// Short text of any kind: printable, control characters, non-ASCII, empty.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ -~]{0,24}",
        "\\PC{0,24}",
        any::<String>(),
        "[\\x00-\\x1f\u{7f}\u{a0}\u{2028}\u{feff}]{1,4}",
    ]
}

/// base64url of random bytes, of lengths around those keys and signatures have.
fn b64_bytes() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..80),
        prop::collection::vec(any::<u8>(), 250..=260),
        prop::collection::vec(any::<u8>(), 30..=34),
        prop::collection::vec(any::<u8>(), 64..=68),
    ]
    .prop_map(|b| b64_encode(&b))
}

/// Any JSON, its object keys drawn mostly from `keys` and its strings mostly from `words`,
/// so random values land in fields the readers look at.
fn json_with(
    keys: &'static [&'static str],
    words: &'static [&'static str],
) -> BoxedStrategy<Value> {
    let key = prop_oneof![
        4 => prop::sample::select(keys).prop_map(str::to_owned),
        1 => "[a-zA-Z_]{1,10}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        awkward_number(),
        prop::sample::select(words).prop_map(Value::from),
        prop::sample::select(words).prop_map(Value::from),
        text().prop_map(Value::from),
        b64_bytes().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
    .boxed()
}

const JOSE_KEYS: &[&str] = &[
    "alg",
    "typ",
    "kid",
    "jwk",
    "kty",
    "crv",
    "x",
    "y",
    "n",
    "e",
    "d",
    "p",
    "q",
    "dp",
    "dq",
    "qi",
    "k",
    "oth",
    "use",
    "cty",
    "crit",
    "jku",
    "x5c",
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "htm",
    "htu",
    "ath",
    "nonce",
    "cnf",
    "jkt",
    "keys",
    "client_id",
    "scope",
];
const JOSE_WORDS: &[&str] = &[
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "HS256",
    "none",
    "EdDSA",
    "RSA",
    "EC",
    "oct",
    "OKP",
    "P-256",
    "P-384",
    "P-521",
    "secp256k1",
    "dpop+jwt",
    "DPoP+JWT",
    "JWT",
    "at+jwt",
    "client-authentication+jwt",
    "AQAB",
    "POST",
    "GET",
    ISSUER,
    TOKEN_URL,
    CLIENT_ID,
    "k-es256",
    "k-ps256",
];

/// JSON biased towards JOSE headers, JWKs and JWT claims.
fn jose_json() -> BoxedStrategy<Value> {
    json_with(JOSE_KEYS, JOSE_WORDS)
}

/// Strings shaped like compact JWS: 1 to 5 dot-separated parts, each base64url of random JSON,
/// of random bytes, or raw text.
fn jwtish() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        jose_json().prop_map(|v| b64_encode(&serde_json::to_vec(&v).unwrap())),
        b64_bytes(),
        "[A-Za-z0-9_=+/-]{0,40}",
        text(),
    ];
    prop::collection::vec(part, 1..6).prop_map(|parts| parts.join("."))
}

/// Any string a token parameter or header might carry.
fn token_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => jwtish(),
        1 => any::<String>(),
        1 => prop::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// One edit of a string: what a flipped bit, a cut-off copy or a careless paste does.
#[derive(Debug, Clone)]
enum Edit {
    Replace(Index, char),
    Delete(Index),
    Insert(Index, char),
    Truncate(Index),
    Repeat(Index, Index),
}

fn edit_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                .chars()
                .collect::<Vec<_>>()
        ),
        Just('.'),
        Just('='),
        Just('+'),
        Just('/'),
        Just(' '),
        any::<char>(),
    ]
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        3 => (any::<Index>(), edit_char()).prop_map(|(i, c)| Edit::Replace(i, c)),
        2 => any::<Index>().prop_map(Edit::Delete),
        2 => (any::<Index>(), edit_char()).prop_map(|(i, c)| Edit::Insert(i, c)),
        1 => any::<Index>().prop_map(Edit::Truncate),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::Repeat(a, b)),
    ];
    prop::collection::vec(edit, 1..4)
}

fn apply_edits(s: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    for edit in edits {
        let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len) };
        match edit {
            Edit::Replace(i, c) if !chars.is_empty() => {
                let i = at(i, chars.len());
                chars[i] = *c;
            }
            Edit::Delete(i) if !chars.is_empty() => {
                let i = at(i, chars.len());
                chars.remove(i);
            }
            Edit::Insert(i, c) => {
                let i = at(i, chars.len() + 1);
                chars.insert(i, *c);
            }
            Edit::Truncate(i) => {
                let i = at(i, chars.len() + 1);
                chars.truncate(i);
            }
            Edit::Repeat(a, b) if !chars.is_empty() => {
                let (a, b) = (at(a, chars.len()), at(b, chars.len()));
                let (from, to) = (a.min(b), a.max(b));
                let copy: Vec<char> = chars[from..=to].to_vec();
                chars.splice(to + 1..to + 1, copy);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// `token` with `edits` applied to one of its three parts (3: to the whole token).
fn edit_part(token: &str, part: usize, edits: &[Edit]) -> String {
    if part >= 3 {
        return apply_edits(token, edits);
    }
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[part] = apply_edits(&parts[part], edits);
    parts.join(".")
}

/// A change to a JSON object's field: set it to a value, or remove it. A `.` in the name
/// reaches one level down (`jwk.x`).
#[derive(Debug, Clone)]
struct FieldChange {
    field: &'static str,
    value: Option<Value>,
}

fn field_changes(
    fields: &'static [&'static str],
    values: BoxedStrategy<Value>,
) -> impl Strategy<Value = Vec<FieldChange>> {
    let change = (
        prop::sample::select(fields),
        prop::option::weighted(0.85, values),
    )
        .prop_map(|(field, value)| FieldChange { field, value });
    prop::collection::vec(change, 1..4)
}

fn apply_changes(target: &mut Value, changes: &[FieldChange]) {
    for change in changes {
        let (obj, name) = match change.field.split_once('.') {
            Some((outer, inner)) => (target.get_mut(outer), inner),
            None => (Some(&mut *target), change.field),
        };
        let Some(Value::Object(map)) = obj else {
            continue;
        };
        match &change.value {
            Some(v) => {
                map.insert(name.to_owned(), v.clone());
            }
            None => {
                map.remove(name);
            }
        }
    }
}

/// Values for known fields: random JSON, awkward numbers, or a plausible word.
fn field_value() -> BoxedStrategy<Value> {
    prop_oneof![
        2 => jose_json(),
        2 => awkward_number(),
        1 => prop::sample::select(JOSE_WORDS).prop_map(Value::from),
        1 => b64_bytes().prop_map(Value::from),
    ]
    .boxed()
}

/// Every JSON pointer inside a value (not the root).
fn pointers(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(child, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(child, &p, out);
            }
        }
        _ => {}
    }
}

/// Replaces the element at a random pointer of `v` with `with`, or removes it when `with`
/// is `None`.
fn mutate_at(v: &mut Value, which: &Index, with: Option<Value>) {
    let mut all = Vec::new();
    pointers(v, "", &mut all);
    if all.is_empty() {
        return;
    }
    let target = which.get(&all).clone();
    match with {
        Some(new) => {
            if let Some(slot) = v.pointer_mut(&target) {
                *slot = new;
            }
        }
        None => {
            let (parent, key) = target.rsplit_once('/').unwrap();
            let key = key.replace("~1", "/").replace("~0", "~");
            match v.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.remove(&key);
                }
                Some(Value::Array(a)) => {
                    if let Ok(i) = key.parse::<usize>()
                        && i < a.len()
                    {
                        a.remove(i);
                    }
                }
                _ => {}
            }
        }
    }
}

// --- compact JWS, JWK, JWKS ---------------------------------------------------------------

/// Reads `s` with every token reader; `unsigned`: `s` is not a test key's token (an edited
/// token may be one again: an edit can restore what it changed, or add only outer
/// whitespace, which `parse_compact` trims; its own check knows the original).
fn read_token_everywhere(s: &str, unsigned: bool) {
    let _ = jose::decode_unverified(s);
    let _ = jose::b64_decode(s);
    let _ = id_token::parse(s);
    let _ = id_token::check_at_hash(s, "access-token");
    let _ = id_token::check_at_hash("a.b.c", s);
    let expected = id_token::Expected {
        issuer: ISSUER,
        client_id: CLIENT_ID,
        nonce: "n",
        now: NOW,
    };
    let _ = id_token::validate(s, &jwks(), &expected);
    for prefix in ["", "Bearer ", "DPoP ", "bearer  ", "Basic "] {
        let _ = access_token::parse_authorization(&format!("{prefix}{s}"));
    }
    let _ = client_assertion::claimed_client(s);
    let _ = client_assertion::other_method(Some(s), Some(s));
    if let Ok(jws) = jose::parse_compact(s) {
        let _ = jws.alg();
        for name in [
            "alg", "typ", "kid", "iat", "exp", "nbf", "sub", "iss", "jti",
        ] {
            let _ = jws.header_str(name);
            let _ = jws.claim_str(name);
            let _ = jws.claim_time(name);
        }
        let _ = access_token::check_typ(&jws.header);
        let _ = access_token::check_issuer(&jws.claims, ISSUER);
        let _ = access_token::check_expiry(&jws.claims, NOW, 5);
        let _ = access_token::check_not_before(&jws.claims, NOW, 5);
        let _ = access_token::check_audience(&jws.claims, "nhn:api");
        let _ = access_token::check_sole_audience(&jws.claims, "nhn:api");
        let _ = access_token::check_user_identity(&jws.claims);
        let _ = access_token::check_user_level(&jws.claims);
        let _ = access_token::scopes(&jws.claims);
        let _ = access_token::cnf_jkt(&jws.claims);
        let _ = access_token::security_level(&jws.claims);
        let _ = access_token::organisation(&jws.claims);
        let _ = access_token::tillitsrammeverk(&jws.claims);
        let _ = id_token::check_signature(&jws, &jwks());
        if unsigned {
            // Not one of these strings is signed by a test key.
            for key in keys() {
                assert!(jws.verify(key.public_jwk()).is_err(), "verifies: {s:?}");
            }
        }
    }
}

/// Reads `v` as a public JWK (and as a private one); a key that reads writes back to itself.
fn read_jwk_everywhere(v: &Value) {
    if let Ok(jwk) = PublicJwk::from_json(v) {
        let again = PublicJwk::from_json(&jwk.to_json()).expect("a key read writes back readable");
        assert_eq!(again.thumbprint(), jwk.thumbprint());
        assert_eq!(again.material, jwk.material);
        let _ = jwk.to_spki_pem();
        let _ = jose::hs256_confusion_secret(&jwk);
        let _ = format!("{jwk:?}");
    }
    if let Some(map) = v.as_object() {
        let _ = PublicJwk::public_part(map);
    }
    for alg in [Alg::ES256, Alg::PS256] {
        if let Ok(key) = SigningKey::from_private_jwk(v, alg) {
            // A private key that reads signs tokens its public half verifies.
            let token = key.sign_jwt(Map::new(), &json!({"sub": "s"})).unwrap();
            let jws = jose::parse_compact(&token).unwrap();
            assert!(jws.verify(key.public_jwk()).is_ok());
        }
    }
}

proptest! {
    #![proptest_config(cases(400))]

    #[test]
    fn token_readers_survive_any_string(s in token_text()) {
        quick("token readers", || read_token_everywhere(&s, true));
    }

    #[test]
    fn jwk_readers_survive_any_json(v in jose_json()) {
        quick("JWK readers", || read_jwk_everywhere(&v));
    }
}

proptest! {
    #![proptest_config(cases(200))]

    /// A token signed with a test key verifies with it, not with another key, and any edit
    /// of the signed text or the signature makes verification fail.
    #[test]
    fn signed_tokens_verify_and_any_edit_fails(
        k in key_index(),
        claims in jose_json(),
        part in 0..4usize,
        edits in edits(),
    ) {
        let key = &keys()[k];
        let claims = if claims.is_object() { claims } else { json!({"v": claims}) };
        let token = key.sign_jwt(Map::new(), &claims).unwrap();
        quick("verification", || {
            let jws = jose::parse_compact(&token).unwrap();
            assert_eq!(jws.verify(key.public_jwk()), Ok(key.alg));
            let other = &keys()[(k + 1) % keys().len()];
            assert!(jws.verify(other.public_jwk()).is_err());
            let signed = id_token::check_signature(&jws, &jwks()).unwrap();
            assert_eq!(signed.kid.as_deref(), Some(key.kid.as_str()));
            let (header, payload) = jose::decode_unverified(&token).unwrap();
            assert_eq!(header["alg"], key.alg.as_str());
            // Compared with the claims read back from their own text: serde_json reads
            // some floats back a last digit off.
            let text = serde_json::to_vec(&claims).unwrap();
            assert_eq!(payload, serde_json::from_slice::<Value>(&text).unwrap());
        });
        let edited = edit_part(&token, part, &edits);
        quick("edited token", || {
            read_token_everywhere(&edited, false);
            // `parse_compact` trims, so an edit that only adds outer whitespace is no edit.
            if edited.trim() != token {
                let verdict = jose::parse_compact(&edited).and_then(|j| j.verify(key.public_jwk()));
                assert!(verdict.is_err(), "edited token still verifies: {edited}");
            }
        });
    }

    /// Valid JWKs (public and private) with fields replaced or removed.
    #[test]
    fn mutated_jwks_never_panic(
        k in key_index(),
        private in any::<bool>(),
        changes in field_changes(
            &["kty", "crv", "x", "y", "n", "e", "d", "p", "q", "dp", "dq", "qi", "kid", "alg", "use", "oth"],
            field_value(),
        ),
    ) {
        let key = &keys()[k];
        let mut jwk = if private { key.to_private_jwk().unwrap() } else { key.public_jwk().to_json() };
        quick("the unmutated key", || read_jwk_everywhere(&jwk));
        apply_changes(&mut jwk, &changes);
        quick("mutated JWK", || read_jwk_everywhere(&jwk));
    }

    /// A token checked against a JWK Set that is random, or valid with a key or the set's
    /// shape replaced.
    #[test]
    fn mutated_jwk_sets_never_panic(
        k in key_index(),
        kid in prop::option::of(prop::sample::select(&["k-es256", "k-ps256", "other", ""][..])),
        which in any::<Index>(),
        with in prop::option::weighted(0.8, field_value()),
        random in jose_json(),
    ) {
        let key = &keys()[k];
        let mut header = Map::new();
        match kid {
            Some(kid) => { header.insert("kid".into(), kid.into()); }
            None => { header.insert("kid".into(), Value::Null); }
        }
        let token = key.sign_jwt(header, &json!({"sub": "s"})).unwrap();
        let jws = jose::parse_compact(&token).unwrap();
        let mut set = jwks();
        mutate_at(&mut set, &which, with);
        quick("JWKS", || {
            let _ = id_token::check_signature(&jws, &set);
            let _ = id_token::check_signature(&jws, &random);
            let _ = id_token::check_signature(&jws, &json!({"keys": random}));
        });
    }
}

#[test]
fn oversized_and_deeply_nested_tokens_are_refused_quickly() {
    let deep = |open: &str, n: usize| b64_encode(open.repeat(n).as_bytes());
    let big = "A".repeat(jose::MAX_JWS_LEN + 1);
    let cases = [
        format!("{}.e30.e30", deep("[", 10_000)),
        format!("e30.{}.e30", deep("{\"a\":", 10_000)),
        format!("{}.{}.", deep("[", 100_000), deep("[", 100_000)),
        format!("{big}.{big}.{big}"),
        ".".repeat(100_000),
    ];
    for token in &cases {
        quick("oversized token", || {
            assert!(jose::parse_compact(token).is_err());
            read_token_everywhere(token, true);
        });
    }
    // Just under the limit: read, and refused by every verifier.
    let near = format!("e30.e30.{}", "A".repeat(jose::MAX_JWS_LEN - 10));
    quick("token at the limit", || read_token_everywhere(&near, true));
    // The same as a JWK or JWKS: serde_json refuses nesting past its recursion limit.
    let text = "[".repeat(10_000);
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

// --- DPoP proofs --------------------------------------------------------------------------

/// A valid proof's header and claims for `key`, as HelseID.Library builds them.
fn proof_parts(key: &SigningKey) -> (Value, Value) {
    let mut jwk = key.public_jwk().to_json();
    jwk.as_object_mut().unwrap().remove("kid");
    let header = json!({"typ": "dpop+jwt", "alg": key.alg.as_str(), "jwk": jwk});
    let claims = json!({
        "jti": "proof-1", "htm": "POST", "htu": TOKEN_URL, "iat": NOW, "nonce": "n-1",
        "ath": jose::sha256_b64(b"access-token"),
    });
    (header, claims)
}

const DPOP_HEADER_FIELDS: &[&str] = &[
    "typ", "alg", "jwk", "kid", "jwk.kty", "jwk.crv", "jwk.x", "jwk.y", "jwk.n", "jwk.e", "jwk.d",
    "jwk.p", "jwk.k",
];
const DPOP_CLAIM_FIELDS: &[&str] = &["jti", "htm", "htu", "iat", "nonce", "ath", "exp", "cnf"];

fn dpop_rules(access_token: Option<&str>) -> dpop::Rules<'_> {
    dpop::Rules {
        htm: "POST",
        htu: TOKEN_URL,
        now: NOW,
        access_token,
    }
}

fn any_policy() -> impl Strategy<Value = dpop::Policy> {
    let window = prop_oneof![
        Just(65i64),
        Just(0),
        Just(i64::MAX),
        Just(i64::MIN),
        any::<i64>()
    ];
    (window.clone(), window, any::<[bool; 4]>()).prop_map(|(max_age, max_future, c)| dpop::Policy {
        max_age,
        max_future,
        check_htm: c[0],
        check_htu: c[1],
        check_iat: c[2],
        check_ath: c[3],
    })
}

proptest! {
    #![proptest_config(cases(200))]

    /// A valid proof validates (and binds to its key); with header or claim fields replaced
    /// by random JSON and signed again, the validator answers without panicking, under any
    /// policy.
    #[test]
    fn dpop_proofs_validate_and_mutations_never_panic(
        k in key_index(),
        header_changes in field_changes(DPOP_HEADER_FIELDS, field_value()),
        claim_changes in field_changes(DPOP_CLAIM_FIELDS, field_value()),
        policy in any_policy(),
        now in prop_oneof![Just(NOW), Just(i64::MIN), Just(i64::MAX), any::<i64>()],
    ) {
        let key = &keys()[k];
        let (mut header, mut claims) = proof_parts(key);
        let proof = sign_with_header(key, &header, &claims);
        quick("a valid proof", || {
            let p = dpop::validate(&proof, &dpop_rules(Some("access-token"))).unwrap();
            assert_eq!(p.jkt, key.public_jwk().thumbprint());
            assert_eq!(p.alg, key.alg);
            assert_eq!(p.nonce.as_deref(), Some("n-1"));
            assert!(dpop::check_binding(&p, &key.public_jwk().thumbprint()).is_ok());
            assert!(dpop::validate(&proof, &dpop_rules(Some("another-token"))).is_err());
        });
        apply_changes(&mut header, &header_changes);
        apply_changes(&mut claims, &claim_changes);
        let mutated = sign_with_header(key, &header, &claims);
        quick("a mutated proof", || {
            let _ = dpop::validate(&mutated, &dpop_rules(None));
            let _ = dpop::validate(&mutated, &dpop_rules(Some("access-token")));
            let rules = dpop::Rules { now, ..dpop_rules(Some("access-token")) };
            let _ = dpop::validate_with(&mutated, &rules, &policy);
            let _ = dpop::validate_with(&proof, &rules, &policy);
        });
    }

    /// Any edit of a valid proof's signature (or signed text) makes it fail.
    #[test]
    fn edited_dpop_proofs_fail(k in key_index(), part in 0..4usize, edits in edits()) {
        let key = &keys()[k];
        let (header, claims) = proof_parts(key);
        let proof = sign_with_header(key, &header, &claims);
        let edited = edit_part(&proof, part, &edits);
        quick("an edited proof", || {
            let verdict = dpop::validate(&edited, &dpop_rules(None));
            if edited.trim() != proof {
                assert!(verdict.is_err(), "edited proof accepted: {edited}");
            }
        });
    }

    #[test]
    fn dpop_reads_any_string(s in token_text(), htu in text()) {
        quick("dpop on text", || {
            assert!(dpop::validate(&s, &dpop_rules(None)).is_err());
            let rules = dpop::Rules { htm: "", htu: &htu, now: 0, access_token: Some(&s) };
            assert!(dpop::validate(&s, &rules).is_err());
        });
    }

    /// URL comparison for `htu` is total and reflexive.
    #[test]
    fn htu_comparison_is_total(a in prop_oneof![text(), "(?i)(https?|ftp)://[a-z.:0-9@]{0,20}(:443|:80)?(/[a-z?#%]{0,8}){0,3}"], b in text()) {
        let _ = dpop::normalize_url(&a);
        prop_assert!(dpop::htu_matches(&a, &a));
        let _ = dpop::htu_matches(&a, &b);
        let _ = dpop::is_dpop_typ(&a);
    }
}

// --- client assertions --------------------------------------------------------------------

fn assertion_claims() -> Value {
    json!({
        "iss": CLIENT_ID, "sub": CLIENT_ID, "aud": TOKEN_URL,
        "iat": NOW, "nbf": NOW, "exp": NOW + 30, "jti": "jti-1",
    })
}

const ASSERTION_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "iat",
    "nbf",
    "exp",
    "jti",
    "assertion_details",
    "authorization_details",
];

fn registered(key: &SigningKey, expires_at: Option<i64>) -> Vec<client_assertion::RegisteredKey> {
    vec![client_assertion::RegisteredKey {
        jwk: key.public_jwk().clone(),
        expires_at,
    }]
}

fn validate_assertion(
    token: &str,
    keys: &[client_assertion::RegisteredKey],
    now: i64,
) -> Result<client_assertion::ClientAssertion, client_assertion::AssertionError> {
    let audiences = client_assertion::accepted_audiences(ISSUER, TOKEN_URL);
    let rules = client_assertion::Rules {
        client_id: Some(CLIENT_ID),
        audiences: &audiences,
        now,
    };
    client_assertion::validate(token, &rules, keys)
}

proptest! {
    #![proptest_config(cases(250))]

    /// A valid assertion validates; with claims or header fields replaced by random JSON
    /// (times at the extremes of i64 and f64 among them) and signed again, validation
    /// answers without panicking.
    #[test]
    fn client_assertions_validate_and_mutations_never_panic(
        k in key_index(),
        claim_changes in field_changes(ASSERTION_CLAIMS, field_value()),
        header_changes in field_changes(&["alg", "typ", "kid", "jwk", "crit"], field_value()),
        expires_at in prop::option::of(prop_oneof![Just(i64::MIN), Just(i64::MAX), any::<i64>()]),
        now in prop_oneof![4 => Just(NOW), 1 => Just(i64::MIN), 1 => Just(i64::MAX), 1 => any::<i64>()],
    ) {
        let key = &keys()[k];
        let mut claims = assertion_claims();
        let mut header = json!({"alg": key.alg.as_str(), "typ": "client-authentication+jwt", "kid": key.kid});
        let token = sign_with_header(key, &header, &claims);
        quick("a valid assertion", || {
            let ok = validate_assertion(&token, &registered(key, None), NOW).unwrap();
            assert_eq!(ok.client_id, CLIENT_ID);
            assert_eq!(ok.kid.as_deref(), Some(key.kid.as_str()));
            assert_eq!(client_assertion::claimed_client(&token).unwrap(), CLIENT_ID);
            let other = &keys()[(k + 1) % keys().len()];
            assert!(validate_assertion(&token, &registered(other, None), NOW).is_err());
        });
        apply_changes(&mut claims, &claim_changes);
        apply_changes(&mut header, &header_changes);
        let mutated = sign_with_header(key, &header, &claims);
        quick("a mutated assertion", || {
            let _ = client_assertion::claimed_client(&mutated);
            let _ = validate_assertion(&mutated, &registered(key, expires_at), now);
            let _ = validate_assertion(&mutated, &registered(key, None), NOW);
            let _ = validate_assertion(&mutated, &[], NOW);
            if let Ok(ok) = validate_assertion(&mutated, &registered(key, None), NOW)
                && let Some(details) = ok.details
            {
                read_details_everywhere(&details);
            }
        });
    }

    #[test]
    fn edited_client_assertions_fail(k in key_index(), part in 0..4usize, edits in edits()) {
        let key = &keys()[k];
        let header = json!({"alg": key.alg.as_str(), "typ": "client-authentication+jwt"});
        let token = sign_with_header(key, &header, &assertion_claims());
        let edited = edit_part(&token, part, &edits);
        quick("an edited assertion", || {
            let verdict = validate_assertion(&edited, &registered(key, None), NOW);
            if edited.trim() != token {
                assert!(verdict.is_err(), "edited assertion accepted: {edited}");
            }
        });
    }

    #[test]
    fn other_client_authentication_is_read_from_any_text(a in text(), b in text()) {
        let _ = client_assertion::other_method(Some(&a), Some(&b));
        let _ = client_assertion::other_method(None, Some(&format!("Basic {a}")));
        let _ = client_assertion::other_method(None, Some(&format!("{a}{b}")));
    }
}

/// The time claims at every awkward value, one at a time: found by the properties above
/// (`now - iat` overflowed for `"iat": -1e300`), kept as a plain test.
#[test]
fn assertion_times_at_the_extremes_are_refused_not_panicked_on() {
    let key = &keys()[0];
    let values = [
        json!(i64::MIN),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(1e300),
        json!(-1e300),
        json!(-9.3e18),
        json!("-9223372036854775808"),
        json!("9223372036854775807"),
    ];
    for claim in ["iat", "nbf", "exp"] {
        for value in &values {
            let mut claims = assertion_claims();
            claims[claim] = value.clone();
            let token = key.sign_jwt(Map::new(), &claims).unwrap();
            let verdict = validate_assertion(&token, &registered(key, None), NOW);
            // An `nbf` long past is no reason to refuse; the others are.
            let past_nbf = claim == "nbf" && verdict.is_ok();
            assert!(verdict.is_err() || past_nbf, "{claim} = {value} accepted");
            for now in [i64::MIN, i64::MAX, 0] {
                let _ = validate_assertion(&token, &registered(key, None), now);
            }
        }
    }
}

// --- form bodies and query strings --------------------------------------------------------

fn read_form_everywhere(body: &[u8]) {
    for repeatable in [&[][..], &["resource"][..]] {
        if let Ok(params) = form::Params::parse(body, repeatable) {
            for name in ["grant_type", "resource", "", "client_assertion", "a"] {
                let _ = params.get(name);
                let _ = params.all(name);
            }
        }
    }
    if let Ok(s) = std::str::from_utf8(body) {
        let _ = urlencoding::decode(s);
        let _ = urlencoding::decode_lossy(s);
    }
}

proptest! {
    #![proptest_config(cases(400))]

    #[test]
    fn form_reader_survives_any_bytes(body in prop::collection::vec(any::<u8>(), 0..600)) {
        quick("form", || read_form_everywhere(&body));
    }

    /// Text made of the form syntax's own pieces: `&`, `=`, `+`, good and broken escapes,
    /// escapes of bytes that are not UTF-8.
    #[test]
    fn form_reader_survives_form_shaped_text(
        body in "([a-z_]{1,6}|[=&+;]|%[0-9A-Fa-f]{2}|%[0-9A-Fa-f]?|%[C-F][0-9A-F]%[0-9A-F]{2}|%FF|\\PC){0,64}",
    ) {
        quick("form", || read_form_everywhere(body.as_bytes()));
    }

    /// Parameters written with `encode_pairs` read back as they were; a repeated name is
    /// refused unless the endpoint lets it repeat.
    #[test]
    fn encoded_forms_read_back(
        pairs in prop::collection::vec(("\\PC{0,10}", "\\PC{0,20}"), 0..8),
    ) {
        let body = urlencoding::encode_pairs(&pairs);
        let repeated = (1..pairs.len()).any(|i| pairs[..i].iter().any(|(k, _)| *k == pairs[i].0));
        match form::Params::parse(body.as_bytes(), &[]) {
            Ok(params) => {
                prop_assert!(!repeated);
                for (k, v) in &pairs {
                    let want = (!v.is_empty()).then_some(v.as_str());
                    prop_assert_eq!(params.get(k), want);
                }
            }
            Err(form::FormError::Repeated(_)) => prop_assert!(repeated),
            Err(e) => prop_assert!(false, "{e}: {body}"),
        }
        let url = urlencoding::with_query("https://rp.example/cb?x=1", &pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>());
        let query = url.split_once('?').unwrap().1;
        prop_assert!(form::Params::parse(query.as_bytes(), &["x"]).is_ok() || repeated || pairs.iter().any(|(k, _)| k == "x"));
    }
}

#[test]
fn oversized_forms_are_refused_quickly() {
    let big = "a=".to_owned() + &"%41".repeat(form::MAX_FORM_BYTES);
    quick("big form", || {
        assert!(matches!(
            form::Params::parse(big.as_bytes(), &[]),
            Err(form::FormError::TooLong(_))
        ));
    });
    // Just under the limit: many tiny parameters, each a new name, is the worst case for the
    // repeat check.
    let mut many = String::new();
    let mut i = 0;
    while many.len() < form::MAX_FORM_BYTES - 16 {
        many.push_str(&format!("p{i}=&"));
        i += 1;
    }
    quick("many parameters", || {
        assert!(form::Params::parse(many.as_bytes(), &[]).is_ok());
    });
    let repeats = "resource=r&".repeat(form::MAX_FORM_BYTES / 12);
    quick("many repeats", || {
        assert!(form::Params::parse(repeats.as_bytes(), &["resource"]).is_ok());
    });
}

// --- assertion_details and the Tillitsrammeverk attestation -------------------------------

fn fixture(text: &str) -> Value {
    serde_json::from_str::<Value>(text).unwrap()["entry"].clone()
}

fn attestations() -> [Value; 2] {
    [
        fixture(include_str!(
            "../testdata/tillitsrammeverk/client_example.json"
        )),
        fixture(include_str!(
            "../testdata/tillitsrammeverk/minimal_client.json"
        )),
    ]
}

const DETAIL_KEYS: &[&str] = &[
    "type",
    "value",
    "journal_id",
    "practitioner_role",
    "organization",
    "identifier",
    "system",
    "practitioner",
    "care_relationship",
    "patients",
    "authorization",
    "legal_entity",
    "point_of_care",
    "department",
    "healthcare_service",
    "purpose_of_use",
    "purpose_of_use_details",
    "decision_ref",
    "point_of_care",
    "code",
    "id",
    "ref_id",
    "user_selected",
    "text",
];
const DETAIL_WORDS: &[&str] = &[
    assertion_details::TYPE_AUTHORIZATION,
    assertion_details::TYPE_SFM_JOURNAL_ID,
    assertion_details::TYPE_TILLITSRAMMEVERK,
    assertion_details::SYSTEM_ENH,
    assertion_details::SYSTEM_ISO6523,
    "NO:ORGNR:999977774:999977776",
    "NO:ORGNR:999977774:",
    "NO:ORGNR:",
    "NO:ORGNR:::",
    "999977776",
    "994598759",
    "04056600324",
    "urn:oid:2.16.578.1.12.4.1.1.9060",
    "urn:oid:2.16.578.1.12.4.1.4.1",
    "urn:oid:2.16.578.1.12.4.1.4.102",
    "urn:oid:2.16.840.1.113883.1.11.20448",
    "LE",
    "XX",
    "TREAT",
    "BTG",
    "ENH",
];

fn details_json() -> BoxedStrategy<Value> {
    json_with(DETAIL_KEYS, DETAIL_WORDS)
}

fn org_names(id: &str) -> Option<String> {
    (id.len() == 9).then(|| format!("Org {id}"))
}

/// Everything that reads a structured claim, fed `v`.
fn read_details_everywhere(v: &Value) {
    if let Ok(details) = assertion_details::parse(v) {
        for d in details {
            if let assertion_details::Detail::Tillitsrammeverk(raw) = d {
                read_attestation_everywhere(&raw);
            }
        }
    }
    read_attestation_everywhere(v);
    if let Some(s) = v.as_str() {
        let _ = assertion_details::org_number(s);
    }
}

fn read_attestation_everywhere(v: &Value) {
    if let Ok(att) = tillitsrammeverk::validate(v) {
        let ctx = tillitsrammeverk::EnrichContext {
            practitioner_pid: "04056600324",
            practitioner_name: "Magnar Koman",
            hpr_number: Some("9144900".into()),
            org_name: &org_names,
            time_of_attestation: NOW,
        };
        let claim = tillitsrammeverk::enrich(&att, &ctx);
        assert!(claim.is_object());
    } else if let Err(e) = tillitsrammeverk::validate(v) {
        let _ = e.path();
        let _ = e.to_string();
    }
    // As an access token carries it: an object, a JSON string, or in an RFC 9396 array.
    for claim in [
        v.clone(),
        Value::String(v.to_string()),
        Value::Array(vec![v.clone()]),
    ] {
        let mut claims = Map::new();
        claims.insert(protocol::claims::TILLITSRAMMEVERK.into(), claim);
        let _ = access_token::tillitsrammeverk(&claims);
    }
}

proptest! {
    #![proptest_config(cases(300))]

    #[test]
    fn details_readers_survive_any_json(v in details_json()) {
        quick("details", || read_details_everywhere(&v));
    }

    /// Valid `assertion_details` (organisation, journal id, attestation) with one element
    /// replaced by random JSON or removed.
    #[test]
    fn mutated_details_never_panic(
        which in any::<Index>(),
        with in prop::option::weighted(0.8, details_json()),
        first in any::<Index>(),
        count in 1..=4usize,
    ) {
        let [full, minimal] = attestations();
        let all = [
            assertion_details::multi_tenant_org("999977774", Some("999977776")),
            json!({"type": assertion_details::TYPE_SFM_JOURNAL_ID, "value": {"journal_id": "8079c363"}}),
            full,
            minimal,
            assertion_details::single_tenant_child("999977776"),
        ];
        let start = first.index(all.len());
        let mut v = Value::Array((0..count).map(|i| all[(start + i) % all.len()].clone()).collect());
        quick("valid details", || read_details_everywhere(&v));
        mutate_at(&mut v, &which, with);
        quick("mutated details", || read_details_everywhere(&v));
    }

    /// Each attestation with several elements replaced or removed, so the checks deep
    /// inside are all reached.
    #[test]
    fn mutated_attestations_never_panic(
        minimal in any::<bool>(),
        changes in prop::collection::vec((any::<Index>(), prop::option::weighted(0.7, details_json())), 1..4),
    ) {
        let [full, small] = attestations();
        let mut v = if minimal { small } else { full };
        quick("valid attestation", || assert!(tillitsrammeverk::validate(&v).is_ok()));
        for (which, with) in changes {
            mutate_at(&mut v, &which, with);
        }
        quick("mutated attestation", || read_details_everywhere(&v));
    }

    #[test]
    fn org_numbers_read_any_text(s in text()) {
        let _ = assertion_details::org_number(&s);
    }
}

// --- client configuration files -----------------------------------------------------------

const CONFIG_FIELDS: &[&str] = &[
    "clientName",
    "authority",
    "clientId",
    "grantTypes",
    "scopes",
    "redirectUris",
    "postLogoutRedirectUris",
    "secretType",
    "rsaPrivateKey",
    "rsaKeySizeBits",
    "privateJwk",
    "pkceRequired",
    "testbed",
    "testbed.organizationNumber",
    "testbed.tenancy",
    "testbed.childOrganizationNumbers",
    "testbed.supplierOrganizationNumber",
    "testbed.dpop",
    "testbed.keyExpiration",
    "testbed.unknown",
    "extraField",
];
const CONFIG_WORDS: &[&str] = &[
    "single-tenant",
    "multi-tenant",
    "authorization_code",
    "client_credentials",
    client_config::SECRET_TYPE_RSA_PRIVATE_KEY_JWT,
    "https://helseid-sts.test.nhn.no",
    "999977774",
    "2030-01-01T00:00:00Z",
    "{\"kty\":\"EC\",\"d\":\"AA\"}",
    "%7B%22kty%22%3A%22RSA%22%2C%22d%22%3A%22x%22%7D",
    "%7b%zz",
    "%7B%",
    "[]",
    "null",
];

fn config_value() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => json_with(CONFIG_FIELDS, CONFIG_WORDS),
        1 => prop::sample::select(CONFIG_WORDS).prop_map(Value::from),
        1 => prop::collection::vec(prop::sample::select(CONFIG_WORDS).prop_map(Value::from), 0..4).prop_map(Value::Array),
        1 => "%7[Bb](%[0-9A-Fa-f]{0,2}|[a-z\":{}]){0,20}".prop_map(Value::from),
    ]
    .boxed()
}

fn valid_config() -> Value {
    let key = &keys()[3];
    json!({
        "clientName": "Fuzz client",
        "authority": ISSUER,
        "clientId": CLIENT_ID,
        "grantTypes": ["client_credentials"],
        "scopes": ["nhn:testbed-api/read"],
        "redirectUris": ["https://rp.example/cb"],
        "secretType": client_config::SECRET_TYPE_RSA_PRIVATE_KEY_JWT,
        "rsaKeySizeBits": 2048,
        "privateJwk": key.to_private_jwk().unwrap().to_string(),
        "pkceRequired": true,
        "testbed": {"organizationNumber": "999977774", "tenancy": "single-tenant", "dpop": false},
    })
}

fn read_config_everywhere(text: &str) {
    if let Ok(config) = client_config::parse(text) {
        let _ = config.dpop_enabled();
        if let Ok(jwk) = config.private_jwk_json() {
            read_jwk_everywhere(&jwk);
        }
        // What the testbed writes back reads as the same file.
        let written = config.to_json_pretty().unwrap();
        let again = client_config::parse(&written).expect("a written file reads back");
        assert_eq!(again, config);
    }
}

proptest! {
    #![proptest_config(cases(250))]

    #[test]
    fn config_reader_survives_any_text(
        text in prop_oneof![
            any::<String>(),
            json_with(CONFIG_FIELDS, CONFIG_WORDS).prop_map(|v| v.to_string()),
        ],
    ) {
        quick("config", || read_config_everywhere(&text));
    }

    /// A valid file with known fields (and the testbed object's) replaced by random JSON,
    /// removed, or cut short.
    #[test]
    fn mutated_config_files_never_panic(
        changes in field_changes(CONFIG_FIELDS, config_value()),
        cut in prop::option::weighted(0.2, any::<Index>()),
    ) {
        let mut v = valid_config();
        quick("valid config", || {
            let config = client_config::parse(&v.to_string()).unwrap();
            assert!(!config.dpop_enabled());
            read_config_everywhere(&v.to_string());
        });
        apply_changes(&mut v, &changes);
        let mut text = serde_json::to_string_pretty(&v).unwrap();
        if let Some(cut) = cut {
            let at = cut.index(text.len() + 1);
            let at = (0..=at).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            text.truncate(at);
        }
        quick("mutated config", || read_config_everywhere(&text));
    }
}

// --- Test Token Service requests, Selvbetjening drafts, PKCE, authorization responses -----

const TTT_FIELDS: &[&str] = &[
    "audience",
    "Audience",
    "issuerEnvironment",
    "clientClaimsParametersGeneration",
    "createDPoPTokenWithDPoPProof",
    "createTillitsrammeverkClaims",
    "expirationParameters",
    "expirationParameters.expirationTimeInSeconds",
    "expirationParameters.expirationTimeInDays",
    "expirationParameters.setExpirationTimeAsExpired",
    "headerParameters",
    "headerParameters.typ",
    "clientClaimsParameters",
    "clientClaimsParameters.scope",
    "clientClaimsParameters.clientTenancyType",
    "clientClaimsParameters.orgnrParent",
    "userClaimsParameters",
    "userClaimsParameters.pid",
    "userClaimsParameters.securityLevel",
    "userClaimsParameters.hprNumber",
    "tillitsrammeverkClaimsParameters",
    "dPoPProofParameters",
    "dpopProofParameters",
    "apiSpecificClaims",
    "tokenExchangeParameters",
];
const TTT_WORDS: &[&str] = &[
    "nhn:kjernejournal",
    "Test",
    "Prod",
    "GenerateDefaultWithClaimsFromNonEmptyParameterValues",
    "GenerateOnlyFromNonEmptyParameterValues",
    "MultiTenant",
    "SingleTenant",
    "at+jwt",
    "05898597468",
    "565501872",
    "4",
];

fn valid_ttt() -> Value {
    json!({
        "audience": "nhn:kjernejournal",
        "issuerEnvironment": "Test",
        "createDPoPTokenWithDPoPProof": true,
        "createTillitsrammeverkClaims": true,
        "expirationParameters": {"expirationTimeInSeconds": 600},
        "headerParameters": {"typ": "at+jwt"},
        "clientClaimsParameters": {"scope": ["nhn:kjernejournal/api"], "orgnrParent": "958935420"},
        "userClaimsParameters": {"pid": "05898597468", "securityLevel": "4"},
    })
}

proptest! {
    #![proptest_config(cases(250))]

    #[test]
    fn ttt_request_reader_survives_any_text(
        text in prop_oneof![any::<String>(), json_with(TTT_FIELDS, TTT_WORDS).prop_map(|v| v.to_string())],
    ) {
        quick("ttt", || { let _ = ttt::TttTokenRequest::from_json(&text); });
    }

    #[test]
    fn mutated_ttt_requests_never_panic(changes in field_changes(TTT_FIELDS, json_with(TTT_FIELDS, TTT_WORDS))) {
        let mut v = valid_ttt();
        assert!(ttt::TttTokenRequest::from_json(&v.to_string()).is_ok());
        apply_changes(&mut v, &changes);
        quick("ttt", || {
            if let Ok(req) = ttt::TttTokenRequest::from_json(&v.to_string())
                && let Some(e) = &req.expiration_parameters
            {
                let _ = (e.seconds(), e.days());
            }
        });
    }

    #[test]
    fn selvbetjening_drafts_read_any_json(v in json_with(
        &["organizationNumber", "publicJwk", "apiScopes", "audienceSpecificClientClaims", "redirectUris", "childOrganizationNumbers", "kty"],
        &["999977774", "{\"kty\":\"RSA\"}", "nhn:selvbetjening/client", "{", ""],
    )) {
        quick("draft", || {
            if let Ok(draft) = serde_json::from_value::<selvbetjening::ClientDraft>(v.clone())
                && let Ok(jwk) = draft.public_jwk_json()
            {
                read_jwk_everywhere(&jwk);
            }
        });
    }

    #[test]
    fn pkce_is_total_and_verifiers_match_their_challenge(
        s in text(),
        verifier in "[A-Za-z0-9._~-]{43,128}",
    ) {
        let _ = (pkce::valid_challenge(&s), pkce::valid_verifier(&s), pkce::verifies(&s, &s));
        let challenge = pkce::challenge(&verifier);
        prop_assert!(pkce::valid_verifier(&verifier));
        prop_assert!(pkce::valid_challenge(&challenge));
        prop_assert!(pkce::verifies(&verifier, &challenge));
        prop_assert!(!pkce::verifies(&verifier, &s) || s == challenge);
    }

    #[test]
    fn authorization_response_checks_are_total(a in text(), b in prop::option::of(text())) {
        prop_assert_eq!(authorization_response::check_state(&a, b.as_deref()).is_ok(), b.as_deref() == Some(a.as_str()));
        prop_assert_eq!(authorization_response::check_issuer(&a, b.as_deref()).is_ok(), b.as_deref() == Some(a.as_str()));
    }
}

#[test]
fn deep_json_is_refused_by_every_json_reader() {
    for text in [
        "[".repeat(10_000),
        "{\"a\":".repeat(10_000),
        format!("{{\"clientId\":\"c\",\"testbed\":{}}}", "[".repeat(10_000)),
        format!("{{\"audience\":{}}}", "[".repeat(10_000)),
    ] {
        quick("deep JSON", || {
            assert!(client_config::parse(&text).is_err());
            assert!(ttt::TttTokenRequest::from_json(&text).is_err());
            assert!(serde_json::from_str::<selvbetjening::ClientDraft>(&text).is_err());
        });
    }
    // Nesting within serde_json's limit reaches the readers, which must not recurse badly.
    let mut v = json!("x");
    for _ in 0..120 {
        v = json!([v]);
    }
    let text = v.to_string();
    let parsed: Value = serde_json::from_str(&text).unwrap();
    quick("nested JSON", || {
        read_details_everywhere(&parsed);
        read_jwk_everywhere(&parsed);
        let _ = ttt::TttTokenRequest::from_json(&format!("{{\"apiSpecificClaims\":{text}}}"));
        let _ = client_config::parse(&format!("{{\"clientId\":\"c\",\"scopes\":{text}}}"));
    });
}
