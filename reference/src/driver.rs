//! The testbed's reference HelseID client as a conformance driver: the `reference-client`
//! binary and `helseid-testbed reference-client` (so a user of the released binary, without
//! cargo, can run the bundled client scenarios).
//!
//! It reads what `helseid-testbed conformance` gives a client scenario's driver:
//! `HELSEID_ISSUER`, `HELSEID_CLIENT_CONFIG` (the portal's client configuration file),
//! `HELSEID_PROBE_API` and `HELSEID_PROBE_AUDIENCE` (an API to call with the token, and its
//! audience; with `HELSEID_API_TARGET=persons`, a person search at `HELSEID_PERSON_API` for
//! `HELSEID_PERSON_API_AUDIENCE` instead), `HELSEID_FLOW` (`login` or `machine`) and `HELSEID_TEST_PID` (a person TestIDP
//! logs in without a page). With `HELSEID_ORGNR` (a multi-tenant client) every
//! client assertion to the token endpoint names that organisation in `assertion_details`.
//! A machine client (grant type `client_credentials`) gets a token; a login client
//! (`authorization_code`) logs the person in with PAR, PKCE and DPoP and validates the ID
//! token. Either way it then calls the probe API with the DPoP-bound
//! token and exits 0 when the API accepted it, non-zero on any refusal.
//!
//! `--flaw NAME` makes it break one rule, for the runner's own tests (`--list-flaws`).

use std::process::ExitCode;

use crate::client::{Client, TokenRequest};
use crate::login::{Browser, Ending, LoginRequest, UserChoice, unix_now};
use clap::{Parser, ValueEnum};
use protocol::authorization_response;
use protocol::client_assertion::{self, AssertionRequest};
use protocol::client_config::ClientConfigFile;
use protocol::endpoints;
use protocol::id_token::{self, Expected};
use protocol::jose::{Alg, random_hex};
use protocol::pkce;
use protocol::signing::SigningKey;
use protocol::urlencoding::encode as urlencode;
use serde_json::Value;

/// One rule the client breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Flaw {
    /// Takes the ID token without validating it.
    SkipIdTokenValidation,
    /// Sends the same client assertion (jti) again on the nonce retry.
    ReuseJti,
    /// Client assertions live 300 seconds.
    LongAssertion,
    /// Sends no DPoP proofs.
    NoDpop,
    /// Retries use_dpop_nonce without the nonce.
    NoNonceRetry,
    /// Names no resource in token requests.
    NoResource,
    /// Calls the API with the token as a Bearer token.
    BearerProbe,
    /// Never calls the API.
    NoProbe,
    /// Exits 1 at the end.
    Exit1,
    /// Sends the authorization request's parameters in the URL instead of PAR.
    NoPar,
    /// PKCE with code_challenge_method plain.
    PlainPkce,
    /// A short, fixed state and nonce.
    ShortState,
    /// Fetches the JWKS once, before the login, and never again (misses a rotated key).
    StaleJwks,
    /// Sends the first refresh token again on the second refresh.
    ReuseRefreshToken,
    /// Asks for response_type "code id_token token" (the hybrid flow).
    Hybrid,
    /// Leaves HELSEID_ORGNR out of the client assertions (no assertion_details).
    NoOrg,
    /// Does not compare the authorization response's state with the one sent.
    SkipStateCheck,
    /// Ignores the authorization response's iss parameter (RFC 9207).
    SkipIssCheck,
    /// Checks the authorization response's iss only when there is one.
    AllowMissingIss,
    /// Uses the access token whatever the token response's token_type (machine client).
    IgnoreTokenType,
    /// Takes a missing access_token as empty and calls the API with it (machine client).
    LenientTokenResponse,
    /// Not a flaw (OpenID Connect Core §3.1.3.8: the client MAY check it): validates the ID
    /// token but not its at_hash. No check may fail it.
    SkipAtHash,
    /// Exits 0 quietly when the login ends with an error at the redirect URI.
    IgnoreLoginError,
    /// Retries use_dpop_nonce with a proof that reuses the challenged proof's jti (machine
    /// client).
    ReuseDpopJti,
    /// The same (long) state and nonce in every run.
    FixedState,
    /// The same PKCE verifier in every run.
    FixedPkce,
    /// Not a flaw (HelseID, "Use of Client Secrets": one private key may serve client
    /// authentication and DPoP): signs DPoP proofs with the client's own configured key, the
    /// same in every run, as HelseID's samples do. No check may fail it.
    ClientKeyAsDpopKey,
    /// Calls the API with the token response's access token before validating the response,
    /// then refuses it (exits non-zero) when the ID token is wrong.
    UseBeforeValidation,
    /// Validates ID tokens with the keys of /connect/expiredjwks too.
    TrustExpiredJwks,
    /// Not a flaw (HelseID: nonce "may be used"): sends no nonce, so has none to check. No
    /// check may fail it.
    NoNonce,
    /// Sends no state (HelseID recommends one: CLIENT-STATE-01 warns), so compares none.
    NoState,
    /// Not a flaw (RFC 8707 §2.1): names its one resource at PAR only, none in its token
    /// requests, while asking for the scopes of every API of its configuration.
    ResourceAtParOnly,
}

/// The driver's command line.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "reference-client",
    about = "A HelseID client that does what HelseID's profile asks, as a conformance driver"
)]
pub struct Args {
    /// Break one rule (repeat for several).
    #[arg(long = "flaw", value_enum)]
    pub flaws: Vec<Flaw>,
    /// Print the flaws and exit.
    #[arg(long)]
    pub list_flaws: bool,
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

/// Runs the driver: exit 0 when the API accepted the token, 2 on any refusal (1 for the
/// `exit1` flaw).
pub fn main(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("reference-client: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(main_async(args))
}

async fn main_async(args: Args) -> ExitCode {
    if args.list_flaws {
        for f in Flaw::value_variants() {
            if let Some(v) = f.to_possible_value() {
                println!(
                    "{:24} {}",
                    v.get_name(),
                    v.get_help().map(|h| h.to_string()).unwrap_or_default()
                );
            }
        }
        return ExitCode::SUCCESS;
    }
    match run(&args.flaws).await {
        Ok(()) if args.flaws.contains(&Flaw::Exit1) => ExitCode::from(1),
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reference-client: {e}");
            ExitCode::from(2)
        }
    }
}

/// Everything the driver is given.
struct Setup {
    issuer: String,
    file: ClientConfigFile,
    probe: String,
    pid: String,
    /// `assertion_details` naming HELSEID_ORGNR (a multi-tenant client).
    details: Option<Value>,
    audience: String,
    /// The scopes of the API the client calls.
    api_scopes: Vec<String>,
    /// The scopes of every API in the configuration (the `no-resource` flaw asks for them).
    all_api_scopes: Vec<String>,
}

fn setup() -> Result<Setup, String> {
    let issuer = env("HELSEID_ISSUER")?;
    let path = env("HELSEID_CLIENT_CONFIG")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let file = protocol::client_config::parse(&text).map_err(|e| format!("{path}: {e}"))?;
    let scopes = file.scopes.clone().unwrap_or_default();
    // The API to call: the person API when the scenario asks for it
    // (`HELSEID_API_TARGET=persons`: a search at `HELSEID_PERSON_API`, audience
    // `HELSEID_PERSON_API_AUDIENCE`), else the one the runner names, else the first API of
    // the configuration.
    let persons = std::env::var("HELSEID_API_TARGET").is_ok_and(|t| t == "persons");
    let (probe, audience_var) = if persons {
        (
            format!(
                "{}/Person?name=a&_elements=identifier,name",
                env("HELSEID_PERSON_API")?
            ),
            "HELSEID_PERSON_API_AUDIENCE",
        )
    } else {
        (env("HELSEID_PROBE_API")?, "HELSEID_PROBE_AUDIENCE")
    };
    let audience = match std::env::var(audience_var) {
        Ok(a) if !a.is_empty() => a,
        _ => scopes
            .iter()
            .filter(|s| !s.starts_with("helseid://"))
            .find_map(|s| protocol::claims::resource_of(s))
            .ok_or("the client configuration names no API scope")?
            .to_owned(),
    };
    let api_scopes = scopes
        .iter()
        .filter(|s| protocol::claims::resource_of(s) == Some(audience.as_str()))
        .cloned()
        .collect();
    let all_api_scopes = scopes
        .iter()
        .filter(|s| !s.starts_with("helseid://") && protocol::claims::resource_of(s).is_some())
        .cloned()
        .collect();
    Ok(Setup {
        issuer,
        probe,
        pid: std::env::var("HELSEID_TEST_PID").unwrap_or_default(),
        details: std::env::var("HELSEID_ORGNR")
            .ok()
            .filter(|o| !o.is_empty())
            .map(|o| protocol::assertion_details::multi_tenant_org(&o, None)),
        file,
        audience,
        api_scopes,
        all_api_scopes,
    })
}

async fn run(flaws: &[Flaw]) -> Result<(), String> {
    let has = |f: Flaw| flaws.contains(&f);
    let mut s = setup()?;
    if has(Flaw::NoOrg) {
        s.details = None;
    }
    let dpop_key = if has(Flaw::ClientKeyAsDpopKey) {
        SigningKey::from_private_jwk(
            &s.file.private_jwk_json().map_err(|e| e.to_string())?,
            Alg::PS256,
        )
        .map_err(|e| e.to_string())?
    } else {
        SigningKey::generate_ec(Alg::ES256, "dpop".into()).map_err(|e| e.to_string())?
    };
    let client = Client::from_config(&s.file, Some(&s.issuer)).map_err(|e| e.to_string())?;
    let client = if has(Flaw::NoDpop) {
        client.without_dpop()
    } else {
        client.with_dpop_key(copy_key(&dpop_key)?)
    };
    // A multi-tenant client's organisation goes into every token request's assertion,
    // the code redemption's too.
    let client = match &s.details {
        Some(d) => client.with_assertion_details(d.clone()),
        None => client,
    };
    let login = s
        .file
        .grant_types
        .as_ref()
        .is_some_and(|g| g.iter().any(|t| t == "authorization_code"));
    let resource =
        (!has(Flaw::NoResource) && !has(Flaw::ResourceAtParOnly)).then(|| s.audience.clone());
    if has(Flaw::NoResource) || has(Flaw::ResourceAtParOnly) {
        // Asks for every API of its configuration at once, naming none (or only at PAR).
        s.api_scopes = s.all_api_scopes.clone();
    }
    let token = if login {
        let (access_token, refresh_token) = match user_token(&s, &client, flaws).await {
            Err(e) if has(Flaw::IgnoreLoginError) && e.contains("the login ended with error") => {
                return Ok(());
            }
            other => other?,
        };
        match refresh_token {
            Some(rt) => {
                refresh_twice(
                    &s,
                    &client,
                    &rt,
                    resource.as_deref(),
                    has(Flaw::ReuseRefreshToken),
                )
                .await?
            }
            None => access_token,
        }
    } else if [
        Flaw::ReuseJti,
        Flaw::LongAssertion,
        Flaw::NoNonceRetry,
        Flaw::IgnoreTokenType,
        Flaw::LenientTokenResponse,
        Flaw::ReuseDpopJti,
    ]
    .into_iter()
    .any(has)
    {
        let key = SigningKey::from_private_jwk(
            &s.file.private_jwk_json().map_err(|e| e.to_string())?,
            Alg::PS256,
        )
        .map_err(|e| e.to_string())?;
        raw_client_credentials(&s, &client, &key, &dpop_key, resource.as_deref(), flaws).await?
    } else {
        client
            .token(&TokenRequest {
                scope: Some(s.api_scopes.join(" ")),
                resource,
                details: s.details.clone(),
            })
            .await
            .map_err(|e| e.to_string())?
            .response
            .access_token
    };
    if has(Flaw::NoProbe) {
        return Ok(());
    }
    call_api(&s, &client, &token, has(Flaw::BearerProbe)).await
}

/// Calls the probe API with `token` (as a DPoP-bound token with a proof, or as Bearer).
async fn call_api(s: &Setup, client: &Client, token: &str, bearer: bool) -> Result<(), String> {
    let response = if bearer {
        client
            .http()
            .get(&s.probe)
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .map_err(|e| e.to_string())?
    } else {
        // A DPoP call follows an API's use_dpop_nonce (RFC 9449 §9) as it does the STS's.
        client
            .call_api(reqwest::Method::GET, &s.probe, token)
            .await
            .map_err(|e| e.to_string())?
    };
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the API refused the token ({status})"));
    }
    println!("the API accepted the token ({status})");
    Ok(())
}

/// The `fixed-state` flaw's state and nonce: long enough, but the same in every run.
const FIXED_STATE: &str = "fixed-state-the-same-in-every-run";
/// The `fixed-pkce` flaw's verifier: valid, but the same in every run.
const FIXED_VERIFIER: &str = "fixed-pkce-verifier-the-same-in-every-run-0123456789";

/// Refreshes twice, each time with the newest refresh token (HelseID rotates them), and
/// returns the last access token.
async fn refresh_twice(
    s: &Setup,
    client: &Client,
    first: &str,
    resource: Option<&str>,
    reuse: bool,
) -> Result<String, String> {
    let mut refresh_token = first.to_owned();
    let mut access_token = String::new();
    for _ in 0..2 {
        let t = client
            .refresh(&refresh_token, resource, s.details.clone())
            .await
            .map_err(|e| e.to_string())?;
        access_token = t.response.access_token;
        if !reuse {
            refresh_token = t
                .response
                .refresh_token
                .ok_or("the refresh gave no new refresh token")?;
        }
    }
    Ok(access_token)
}

/// A multi-tenant client's organisation (reference §6.2): ISO 6523, parent only.
fn copy_key(key: &SigningKey) -> Result<SigningKey, String> {
    let der = key.to_pkcs8().map_err(|e| e.to_string())?;
    SigningKey::from_pkcs8(&der, key.alg, key.kid.clone()).map_err(|e| e.to_string())
}

/// A login of the test person through TestIDP, the ID token validated (unless the flaw).
async fn user_token(
    s: &Setup,
    client: &Client,
    flaws: &[Flaw],
) -> Result<(String, Option<String>), String> {
    let has = |f: Flaw| flaws.contains(&f);
    let redirect_uri = s
        .file
        .redirect_uris
        .as_ref()
        .and_then(|r| r.first())
        .ok_or("the client configuration names no redirect URI")?
        .clone();
    let mut scope = vec![
        "openid".to_owned(),
        "profile".to_owned(),
        "offline_access".to_owned(),
        "helseid://scopes/identity/pid".to_owned(),
        "helseid://scopes/identity/security_level".to_owned(),
    ];
    scope.extend(s.api_scopes.iter().cloned());
    let request = LoginRequest {
        redirect_uri: redirect_uri.clone(),
        scope: scope.join(" "),
        resources: vec![s.audience.clone()],
        acr_values: Some("idp:testidp-oidc Level4".into()),
        test_pid: Some(s.pid.clone()),
        test_security_level: Some(4),
        ..Default::default()
    };
    let browser = Browser::new().map_err(|e| e.to_string())?;
    let choice = UserChoice::default();
    let resource =
        (!has(Flaw::NoResource) && !has(Flaw::ResourceAtParOnly)).then(|| s.audience.clone());
    let by_hand = [
        Flaw::NoPar,
        Flaw::PlainPkce,
        Flaw::ShortState,
        Flaw::Hybrid,
        Flaw::SkipStateCheck,
        Flaw::SkipIssCheck,
        Flaw::AllowMissingIss,
        Flaw::SkipAtHash,
        Flaw::FixedState,
        Flaw::FixedPkce,
        Flaw::UseBeforeValidation,
        Flaw::NoResource,
        Flaw::ResourceAtParOnly,
        Flaw::NoNonce,
        Flaw::NoState,
    ];
    let by_hand = by_hand.into_iter().any(has);
    if has(Flaw::StaleJwks)
        || has(Flaw::TrustExpiredJwks)
        || (!by_hand && has(Flaw::SkipIdTokenValidation))
    {
        // The library's login, then the ID token judged against a JWKS fetched before it
        // (stale-jwks), against the JWKS and the expired keys (trust-expired-jwks), or not
        // at all.
        let stale_jwks = match has(Flaw::StaleJwks) {
            true => Some(fetch_jwks(client, &s.issuer, "jwks_uri").await?),
            false => None,
        };
        let login = client
            .login(&browser, &request, &choice)
            .await
            .map_err(|e| e.to_string())?;
        let tokens = client
            .redeem_code(
                &login.code,
                &redirect_uri,
                &login.verifier,
                resource.as_deref(),
            )
            .await
            .map_err(|e| e.to_string())?;
        let jwks = match stale_jwks {
            Some(j) => Some(j),
            None if has(Flaw::TrustExpiredJwks) => {
                let mut jwks = fetch_jwks(client, &s.issuer, "jwks_uri").await?;
                let expired = fetch_jwks(client, &s.issuer, "expired_jwks_uri").await?;
                if let (Some(keys), Some(more)) =
                    (jwks["keys"].as_array_mut(), expired["keys"].as_array())
                {
                    keys.extend(more.iter().cloned());
                }
                Some(jwks)
            }
            None => None,
        };
        if let Some(jwks) = jwks {
            let id_token = tokens.response.id_token.as_deref().ok_or("no ID token")?;
            let expected = Expected {
                issuer: &s.issuer,
                client_id: &client.client_id,
                nonce: &login.nonce,
                now: unix_now(),
            };
            id_token::validate(id_token, &jwks, &expected)
                .map_err(|e| format!("the ID token is refused: {e}"))?;
            id_token::check_at_hash(id_token, &tokens.response.access_token)
                .map_err(|e| format!("the ID token is refused: {e}"))?;
        }
        return Ok((tokens.response.access_token, tokens.response.refresh_token));
    }
    if !by_hand {
        let (_, tokens) = client
            .login_and_redeem(&browser, &request, &choice)
            .await
            .map_err(|e| e.to_string())?;
        return Ok((tokens.response.access_token, tokens.response.refresh_token));
    }
    // The flawed login: the authorization request built by hand.
    let random = |e: protocol::jose::RngError| e.to_string();
    let verifier = if has(Flaw::FixedPkce) {
        FIXED_VERIFIER.to_owned()
    } else {
        pkce::new_verifier().map_err(random)?
    };
    let (state, nonce) = if has(Flaw::NoNonce) || has(Flaw::NoState) {
        let value = random_hex::<16>().map_err(random)?;
        match has(Flaw::NoState) {
            true => (String::new(), value),
            false => (value, String::new()),
        }
    } else if has(Flaw::ShortState) {
        ("abc".to_owned(), "abc".to_owned())
    } else if has(Flaw::FixedState) {
        (FIXED_STATE.to_owned(), FIXED_STATE.to_owned())
    } else {
        (
            random_hex::<16>().map_err(random)?,
            random_hex::<16>().map_err(random)?,
        )
    };
    let (challenge, method) = if has(Flaw::PlainPkce) {
        (verifier.clone(), "plain")
    } else {
        (pkce::challenge(&verifier), "S256")
    };
    let mut params: Vec<(&str, String)> = vec![
        ("client_id", client.client_id.clone()),
        (
            "response_type",
            if has(Flaw::Hybrid) {
                "code id_token token".into()
            } else {
                "code".into()
            },
        ),
        ("redirect_uri", redirect_uri.clone()),
        ("scope", request.scope.clone()),
        ("code_challenge", challenge),
        ("code_challenge_method", method.into()),
        ("state", state.clone()),
        ("nonce", nonce.clone()),
        ("resource", s.audience.clone()),
        ("acr_values", "idp:testidp-oidc Level4".into()),
        ("test_pid", s.pid.clone()),
        ("test_security_level", "4".into()),
    ];
    // What is left out is not sent at all (an empty parameter is not "none").
    params.retain(|(k, v)| !(v.is_empty() || (*k == "resource" && has(Flaw::NoResource))));
    let url = if has(Flaw::NoPar) {
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        format!("{}{}?{}", s.issuer, endpoints::AUTHORIZE, query.join("&"))
    } else {
        let mut form = params.clone();
        form.push((
            "client_assertion_type",
            client_assertion::ASSERTION_TYPE.into(),
        ));
        form.push((
            "client_assertion",
            client.assertion(None).map_err(|e| e.to_string())?,
        ));
        let response = client
            .http()
            .post(format!("{}{}", s.issuer, endpoints::PAR))
            .form(&form)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        if status.as_u16() != 201 {
            return Err(format!("PAR refused ({status}): {body}"));
        }
        format!(
            "{}{}?client_id={}&request_uri={}",
            s.issuer,
            endpoints::AUTHORIZE,
            urlencode(&client.client_id),
            urlencode(body["request_uri"].as_str().unwrap_or_default())
        )
    };
    let mut trail = Vec::new();
    let ending = browser
        .navigate(&url, &redirect_uri, &choice, &mut trail)
        .await
        .map_err(|e| e.to_string())?;
    let code = match ending {
        Ending::Code {
            code,
            state: got,
            iss,
        } => {
            if !has(Flaw::SkipStateCheck) && !has(Flaw::NoState) {
                authorization_response::check_state(&state, got.as_deref())
                    .map_err(|e| e.to_string())?;
            }
            // The flaws: no iss check at all, or one only when an iss came.
            let skip_iss = has(Flaw::SkipIssCheck) || (iss.is_none() && has(Flaw::AllowMissingIss));
            if !skip_iss {
                authorization_response::check_issuer(&s.issuer, iss.as_deref())
                    .map_err(|e| e.to_string())?;
            }
            code
        }
        Ending::Error { error, description } => return Err(format!("{error}: {description}")),
    };
    let tokens = client
        .redeem_code(&code, &redirect_uri, &verifier, resource.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    if has(Flaw::UseBeforeValidation) {
        // The flaw: the token goes to the API before the response is judged.
        call_api(s, client, &tokens.response.access_token, false).await?;
    }
    if !has(Flaw::SkipIdTokenValidation) {
        let id_token = tokens.response.id_token.as_deref().ok_or("no ID token")?;
        client
            .validate_id_token(id_token, &nonce)
            .await
            .map_err(|e| e.to_string())?;
        if !has(Flaw::SkipAtHash) {
            id_token::check_at_hash(id_token, &tokens.response.access_token)
                .map_err(|e| format!("the ID token is refused: {e}"))?;
        }
    }
    Ok((tokens.response.access_token, tokens.response.refresh_token))
}

/// The issuer's JWKS (or its expired keys: `which` is `jwks_uri` or `expired_jwks_uri`),
/// through discovery.
async fn fetch_jwks(client: &Client, issuer: &str, which: &str) -> Result<Value, String> {
    let get = |url: String| async move {
        client
            .http()
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.to_string())?
            .json::<Value>()
            .await
            .map_err(|e| e.to_string())
    };
    let discovery = get(format!("{issuer}{}", endpoints::DISCOVERY)).await?;
    let uri = discovery[which]
        .as_str()
        .ok_or_else(|| format!("discovery names no {which}"))?;
    get(uri.to_owned()).await
}

/// client_credentials by hand, breaking the assertion or nonce rules.
async fn raw_client_credentials(
    s: &Setup,
    client: &Client,
    key: &SigningKey,
    dpop_key: &SigningKey,
    resource: Option<&str>,
    flaws: &[Flaw],
) -> Result<String, String> {
    let has = |f: Flaw| flaws.contains(&f);
    let now = unix_now;
    let token_endpoint = client.token_endpoint.clone();
    let mut nonce: Option<String> = None;
    let mut assertion: Option<String> = None;
    // The jti of the first proof, which the reuse-dpop-jti flaw sends again.
    let first_jti = protocol::jose::random_id();
    for attempt in 0..2 {
        let fresh = client_assertion::build(
            key,
            &AssertionRequest {
                client_id: &client.client_id,
                audience: &token_endpoint,
                now: now(),
                lifetime: if has(Flaw::LongAssertion) { 300 } else { 60 },
                details: s.details.clone(),
            },
        )
        .map_err(|e| e.to_string())?;
        let a = match (&assertion, has(Flaw::ReuseJti)) {
            (Some(old), true) => old.clone(),
            _ => fresh,
        };
        assertion = Some(a.clone());
        let mut form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("scope", s.api_scopes.join(" ")),
            ("client_id", client.client_id.clone()),
            (
                "client_assertion_type",
                client_assertion::ASSERTION_TYPE.to_owned(),
            ),
            ("client_assertion", a),
        ];
        if let Some(r) = resource {
            form.push(("resource", r.to_owned()));
        }
        let sent_nonce = if has(Flaw::NoNonceRetry) {
            None
        } else {
            nonce.as_deref()
        };
        let jti = if attempt == 0 || has(Flaw::ReuseDpopJti) {
            first_jti.clone()
        } else {
            protocol::jose::random_id()
        };
        let proof = protocol::dpop::build_proof_with_jti(
            dpop_key,
            "POST",
            &token_endpoint,
            now(),
            sent_nonce,
            None,
            &jti,
        )
        .map_err(|e| e.to_string())?;
        let response = client
            .http()
            .post(&token_endpoint)
            .header("DPoP", proof)
            .form(&form)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let header_nonce = crate::client::dpop_nonce(response.headers());
        let body = response.text().await.map_err(|e| e.to_string())?;
        if status == 200 {
            let t: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
            let access_token = match t["access_token"].as_str() {
                Some(a) => a.to_owned(),
                None if has(Flaw::LenientTokenResponse) => String::new(),
                None => return Err("the token response has no access_token".into()),
            };
            let token_type = t["token_type"].as_str().unwrap_or_default();
            if !has(Flaw::IgnoreTokenType) && !token_type.eq_ignore_ascii_case("DPoP") {
                return Err(format!(
                    "the token response has token_type {token_type:?}, not the DPoP asked for"
                ));
            }
            return Ok(access_token);
        }
        match header_nonce {
            Some(n)
                if protocol::dpop_nonce::asks_for_nonce::<&str>(status, &[], &body)
                    && nonce.is_none() =>
            {
                nonce = Some(n)
            }
            _ => {
                return Err(format!(
                    "the STS refused the token request ({status}): {body}"
                ));
            }
        }
    }
    Err("the STS asked for a DPoP nonce twice".into())
}
