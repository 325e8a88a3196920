//! The client configuration file HelseID Selvbetjening (the self-service portal) lets a user
//! download for a client: `clientName`, `authority`, `clientId`, `grantTypes`, `scopes`,
//! `redirectUris`, `postLogoutRedirectUris`, `secretType`, `rsaPrivateKey`, `rsaKeySizeBits`,
//! `privateJwk`, `pkceRequired`.
//!
//! Field names and shapes come from consumers of the real file: FHIDev/fhi.helseid
//! (`HelseIdSelvbetjeningSecretHandler.SelvbetjeningConfig` and its Swagger documentation, which
//! shows a downloaded file verbatim) and Slash `HelseIdClientDefinition` ("The JSON file
//! containing the client definition is issued by HelseId"); see also the testbed's
//! `helseid.md` §8. In the real file `privateJwk` is a JSON *string* holding the private JWK
//! (written with System.Text.Json's `\u0022` escapes), `rsaPrivateKey` is the same key as .NET
//! `<RSAKeyValue>` XML, and `secretType` is `private_key_jwt:RsaPrivateKeyJwtSecret`.
//! Machine-to-machine downloads may lack `redirectUris`, `postLogoutRedirectUris` and
//! `pkceRequired`, so only `clientId` is required here.
//!
//! Unknown top-level fields are tolerated and kept (the portal may add fields). The testbed adds
//! one optional object the real portal never writes and real consumers ignore: `"testbed"`
//! ([`TestbedExtension`]), which is strict about its own fields.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

/// The `secretType` of portal-generated RSA key clients (HelseID `SecretTypes.RsaPrivateKeyJwtSecret`).
pub const SECRET_TYPE_RSA_PRIVATE_KEY_JWT: &str = "private_key_jwt:RsaPrivateKeyJwtSecret";

/// A downloaded client configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientConfigFile {
    /// Display name, e.g. `"FOLKEHELSEINSTITUTTET - Fhi.Sysvak.Epj.Testklient.dev (Test)"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Issuer / STS base URL, e.g. `https://helseid-sts.test.nhn.no`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// The client id (a GUID in real files).
    pub client_id: String,
    /// Grant types, e.g. `["authorization_code"]` or `["client_credentials"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    /// Scopes the client may request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Registered redirect URIs (authorization-code clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// Registered post-logout redirect URIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Client authentication secret type, e.g. [`SECRET_TYPE_RSA_PRIVATE_KEY_JWT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_type: Option<String>,
    /// The private key as .NET `<RSAKeyValue>` XML (not parsed here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsa_private_key: Option<String>,
    /// RSA key size in bits (4096 in portal downloads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsa_key_size_bits: Option<u32>,
    /// The private JWK as a JSON string; see [`ClientConfigFile::private_jwk_json`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_jwk: Option<String>,
    /// Whether the client must use PKCE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkce_required: Option<bool>,
    /// Testbed-only settings; absent in real portal downloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub testbed: Option<TestbedExtension>,
    /// Any other top-level fields, kept as they were.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Testbed-only client settings in the `"testbed"` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestbedExtension {
    /// Organisation number of the organisation owning the client (`orgnr_parent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_number: Option<String>,
    /// Whether the client is single- or multi-tenant (`client_tenancy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenancy: Option<Tenancy>,
    /// Child organisation numbers the client may name.
    #[serde(default)]
    pub child_organization_numbers: Vec<String>,
    /// Organisation number of the system supplier (`orgnr_supplier`, multi-tenant clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_organization_number: Option<String>,
    /// Whether the client uses DPoP (default `true`).
    #[serde(default = "default_true")]
    pub dpop: bool,
    /// When the client's key expires, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_expiration: Option<String>,
}

impl Default for TestbedExtension {
    fn default() -> Self {
        TestbedExtension {
            organization_number: None,
            tenancy: None,
            child_organization_numbers: Vec::new(),
            supplier_organization_number: None,
            dpop: true,
            key_expiration: None,
        }
    }
}

fn default_true() -> bool {
    true
}

/// Client tenancy, spelled as HelseID's `client_tenancy` claim values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Tenancy {
    /// `single-tenant`.
    #[serde(rename = "single-tenant")]
    SingleTenant,
    /// `multi-tenant`.
    #[serde(rename = "multi-tenant")]
    MultiTenant,
}

/// What is wrong with a client configuration file.
#[derive(Debug, Error)]
pub enum ClientConfigError {
    /// The file is not JSON.
    #[error("client configuration is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The file is JSON but not an object.
    #[error("client configuration must be a JSON object")]
    NotAnObject,
    /// `clientId` is absent, null or blank.
    #[error("client configuration is missing `clientId`")]
    MissingClientId,
    /// A known field has the wrong JSON type.
    #[error("client configuration field `{field}` must be {expected}")]
    WrongType {
        /// The field name.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// The `testbed` object is malformed; the message names the offending field.
    #[error("client configuration field `testbed` is invalid: {0}")]
    Testbed(#[source] serde_json::Error),
    /// `privateJwk` is absent or empty.
    #[error("client configuration has no `privateJwk`")]
    MissingPrivateJwk,
    /// `privateJwk` is a string but not JSON.
    #[error("`privateJwk` does not hold valid JSON: {0}")]
    PrivateJwkNotJson(#[source] serde_json::Error),
    /// `privateJwk` holds JSON that is not an object.
    #[error("`privateJwk` must hold a JSON object (a JWK)")]
    PrivateJwkNotObject,
    /// `privateJwk` lacks a member a private JWK needs (`kty`, or the private part `d`).
    #[error("`privateJwk` has no `{member}` member")]
    PrivateJwkMissingMember {
        /// The missing JWK member.
        member: &'static str,
    },
    /// Any other shape problem.
    #[error("invalid client configuration: {0}")]
    Invalid(#[source] serde_json::Error),
}

/// The JSON type a known top-level field must have (null is always allowed).
#[derive(Clone, Copy)]
enum Kind {
    Str,
    StrList,
    Bool,
    U32,
}

const FIELD_KINDS: &[(&str, Kind)] = &[
    ("clientName", Kind::Str),
    ("authority", Kind::Str),
    ("clientId", Kind::Str),
    ("grantTypes", Kind::StrList),
    ("scopes", Kind::StrList),
    ("redirectUris", Kind::StrList),
    ("postLogoutRedirectUris", Kind::StrList),
    ("secretType", Kind::Str),
    ("rsaPrivateKey", Kind::Str),
    ("rsaKeySizeBits", Kind::U32),
    ("privateJwk", Kind::Str),
    ("pkceRequired", Kind::Bool),
];

fn check_kind(field: &'static str, kind: Kind, value: &Value) -> Result<(), ClientConfigError> {
    let ok = match (kind, value) {
        (_, Value::Null) => true,
        (Kind::Str, v) => v.is_string(),
        (Kind::StrList, Value::Array(items)) => items.iter().all(Value::is_string),
        (Kind::StrList, _) => false,
        (Kind::Bool, v) => v.is_boolean(),
        (Kind::U32, v) => v.as_u64().is_some_and(|n| u32::try_from(n).is_ok()),
    };
    if ok {
        Ok(())
    } else {
        let expected = match kind {
            Kind::Str => "a string",
            Kind::StrList => "an array of strings",
            Kind::Bool => "true or false",
            Kind::U32 => "a non-negative integer",
        };
        Err(ClientConfigError::WrongType { field, expected })
    }
}

/// Parses a client configuration file, naming the first problem found: invalid JSON, a missing
/// `clientId`, a field of the wrong type, a malformed `testbed` object, or a `privateJwk` that
/// does not hold a private JWK.
pub fn parse(text: &str) -> Result<ClientConfigFile, ClientConfigError> {
    let value: Value = serde_json::from_str(text).map_err(ClientConfigError::Json)?;
    let Value::Object(object) = &value else {
        return Err(ClientConfigError::NotAnObject);
    };
    match object.get("clientId") {
        None | Some(Value::Null) => return Err(ClientConfigError::MissingClientId),
        Some(Value::String(id)) if id.trim().is_empty() => {
            return Err(ClientConfigError::MissingClientId);
        }
        _ => {}
    }
    for (field, kind) in FIELD_KINDS {
        if let Some(v) = object.get(*field) {
            check_kind(field, *kind, v)?;
        }
    }
    if let Some(testbed) = object.get("testbed").filter(|v| !v.is_null()) {
        TestbedExtension::deserialize(testbed).map_err(ClientConfigError::Testbed)?;
    }
    let config: ClientConfigFile =
        serde_json::from_value(value).map_err(ClientConfigError::Invalid)?;
    if config.private_jwk.is_some() {
        config.private_jwk_json()?;
    }
    Ok(config)
}

impl ClientConfigFile {
    /// The private JWK held in `privateJwk`, parsed. It must be a JSON object with `kty` and
    /// the private member `d`. A percent-encoded string (which FHI's reader URL-decodes before
    /// use; whether the portal ever writes one is UNCONFIRMED) is decoded first.
    pub fn private_jwk_json(&self) -> Result<Value, ClientConfigError> {
        let text = self
            .private_jwk
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(ClientConfigError::MissingPrivateJwk)?;
        let jwk: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(err) => percent_decode(text)
                .and_then(|decoded| serde_json::from_str(&decoded).ok())
                .ok_or(ClientConfigError::PrivateJwkNotJson(err))?,
        };
        let Value::Object(members) = &jwk else {
            return Err(ClientConfigError::PrivateJwkNotObject);
        };
        for member in ["kty", "d"] {
            if !members.get(member).is_some_and(Value::is_string) {
                return Err(ClientConfigError::PrivateJwkMissingMember { member });
            }
        }
        Ok(jwk)
    }

    /// Whether the testbed should require DPoP from this client (`testbed.dpop`, default true).
    pub fn dpop_enabled(&self) -> bool {
        self.testbed.as_ref().is_none_or(|t| t.dpop)
    }

    /// The file as the portal would write it (pretty-printed JSON).
    pub fn to_json_pretty(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}

/// Decodes `%XX` escapes of a string that starts with an encoded `{`; `None` otherwise.
fn percent_decode(text: &str) -> Option<String> {
    if !text.get(..3)?.eq_ignore_ascii_case("%7b") {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A portal download in the shape FHI documents, with System.Text.Json escapes.
    const DOWNLOADED: &str = r#"{
      "clientName": "FOLKEHELSEINSTITUTTET -  Fhi.Sysvak.Epj.Testklient.dev (Test)",
      "authority": "https://helseid-sts.test.nhn.no",
      "clientId": "fcffea32-8f2d-4efc-a25a-b668a788d4f1",
      "grantTypes": [
        "authorization_code"
      ],
      "scopes": [
        "openid",
        "helseid://scopes/hpr/hpr_number",
        "fhi:sysvak.epj.dev/api"
      ],
      "redirectUris": [
        "https://localhost:44380/swagger/oauth2-redirect.html"
      ],
      "postLogoutRedirectUris": [],
      "secretType": "private_key_jwt:RsaPrivateKeyJwtSecret",
      "rsaPrivateKey": "\u003CRSAKeyValue\u003E\u003CModulus\u003E0VULJlIGn4SM\u003C/Modulus\u003E\u003CExponent\u003EAQAB\u003C/Exponent\u003E\u003CD\u003EQo5q2Fo\u003C/D\u003E\u003C/RSAKeyValue\u003E",
      "rsaKeySizeBits": 4096,
      "privateJwk": "{\u0022d\u0022:\u0022Qo5q2Fo\u0022,\u0022dp\u0022:\u0022x1\u0022,\u0022dq\u0022:\u0022x2\u0022,\u0022e\u0022:\u0022AQAB\u0022,\u0022kid\u0022:\u00223F2A9C1E0B7D4E5F8A6B1C2D3E4F5A6B\u0022,\u0022kty\u0022:\u0022RSA\u0022,\u0022n\u0022:\u00220VULJlIGn4SM\u0022,\u0022p\u0022:\u0022p1\u0022,\u0022q\u0022:\u0022q1\u0022,\u0022qi\u0022:\u0022qi1\u0022}",
      "pkceRequired": true
    }"#;

    #[test]
    fn real_download_round_trips() {
        let config = parse(DOWNLOADED).unwrap();
        assert_eq!(config.client_id, "fcffea32-8f2d-4efc-a25a-b668a788d4f1");
        assert_eq!(
            config.secret_type.as_deref(),
            Some(SECRET_TYPE_RSA_PRIVATE_KEY_JWT)
        );
        assert_eq!(config.rsa_key_size_bits, Some(4096));
        assert_eq!(config.post_logout_redirect_uris, Some(vec![]));
        assert!(
            config
                .rsa_private_key
                .as_deref()
                .unwrap()
                .starts_with("<RSAKeyValue>")
        );
        let jwk = config.private_jwk_json().unwrap();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["kid"], "3F2A9C1E0B7D4E5F8A6B1C2D3E4F5A6B");
        assert!(config.dpop_enabled());

        let written: Value = serde_json::from_str(&config.to_json_pretty().unwrap()).unwrap();
        assert_eq!(written, serde_json::from_str::<Value>(DOWNLOADED).unwrap());
        assert_eq!(parse(&config.to_json_pretty().unwrap()).unwrap(), config);
    }

    #[test]
    fn testbed_extension_and_unknown_fields_round_trip() {
        let text = r#"{
          "clientName": "Acme EPJ (Test)",
          "authority": "https://helseid-sts.test.nhn.no",
          "clientId": "2f4c1c1e-6a61-4b55-9f0e-2b0d7f3e9a10",
          "grantTypes": ["client_credentials"],
          "scopes": ["nhn:kjernejournal/api"],
          "secretType": "private_key_jwt:RsaPrivateKeyJwtSecret",
          "rsaKeySizeBits": 4096,
          "privateJwk": "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\",\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}",
          "someFuturePortalField": {"nested": [1, 2]},
          "testbed": {
            "organizationNumber": "313745392",
            "tenancy": "multi-tenant",
            "childOrganizationNumbers": ["999977776", "999977775"],
            "supplierOrganizationNumber": "313745392",
            "dpop": false,
            "keyExpiration": "2026-12-31T23:59:59Z"
          }
        }"#;
        let config = parse(text).unwrap();
        let testbed = config.testbed.as_ref().unwrap();
        assert_eq!(testbed.tenancy, Some(Tenancy::MultiTenant));
        assert!(!config.dpop_enabled());
        assert_eq!(config.other["someFuturePortalField"]["nested"][1], 2);
        assert_eq!(config.redirect_uris, None);
        let written = serde_json::to_value(&config).unwrap();
        assert_eq!(written, serde_json::from_str::<Value>(text).unwrap());
    }

    #[test]
    fn testbed_dpop_defaults_to_true() {
        let config = parse(
            r#"{"clientId":"c","testbed":{"organizationNumber":"999977774","tenancy":"single-tenant"}}"#,
        )
        .unwrap();
        assert!(config.dpop_enabled());
        assert_eq!(config.testbed.unwrap().tenancy, Some(Tenancy::SingleTenant));
        assert!(TestbedExtension::default().dpop);
    }

    #[test]
    fn broken_private_jwk_is_reported() {
        let text = r#"{"clientId":"c","privateJwk":"{\"kty\":\"RSA\",\"d\":\"Qo5"}"#;
        let err = parse(text).unwrap_err();
        assert!(
            matches!(err, ClientConfigError::PrivateJwkNotJson(_)),
            "{err:?}"
        );
        assert!(err.to_string().contains("privateJwk"), "{err}");

        let err = parse(r#"{"clientId":"c","privateJwk":"[1,2]"}"#).unwrap_err();
        assert!(matches!(err, ClientConfigError::PrivateJwkNotObject));
        let err = parse(
            r#"{"clientId":"c","privateJwk":"{\"kty\":\"RSA\",\"n\":\"x\",\"e\":\"AQAB\"}"}"#,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ClientConfigError::PrivateJwkMissingMember { member: "d" }
        ));
        assert!(err.to_string().contains("`d`"), "{err}");
        let err = parse(r#"{"clientId":"c","privateJwk":{"kty":"RSA"}}"#).unwrap_err();
        assert!(
            matches!(
                err,
                ClientConfigError::WrongType {
                    field: "privateJwk",
                    ..
                }
            ),
            "{err:?}"
        );

        let config = parse(r#"{"clientId":"c"}"#).unwrap();
        assert!(matches!(
            config.private_jwk_json().unwrap_err(),
            ClientConfigError::MissingPrivateJwk
        ));
    }

    #[test]
    fn percent_encoded_private_jwk_is_decoded() {
        let text =
            r#"{"clientId":"c","privateJwk":"%7B%22kty%22%3A%22EC%22%2C%22d%22%3A%22abc%22%7D"}"#;
        let jwk = parse(text).unwrap().private_jwk_json().unwrap();
        assert_eq!(jwk["d"], "abc");
        assert_eq!(percent_decode("%7B%2"), None);
        assert_eq!(percent_decode("{}"), None);
    }

    #[test]
    fn missing_client_id_and_wrong_types_are_named() {
        for text in [
            r#"{"clientName":"x"}"#,
            r#"{"clientId":null}"#,
            r#"{"clientId":"  "}"#,
        ] {
            let err = parse(text).unwrap_err();
            assert!(
                matches!(err, ClientConfigError::MissingClientId),
                "{text}: {err:?}"
            );
            assert!(err.to_string().contains("clientId"));
        }
        let err = parse(r#"{"clientId":"c","scopes":"openid"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "client configuration field `scopes` must be an array of strings"
        );
        let err = parse(r#"{"clientId":"c","rsaKeySizeBits":-1}"#).unwrap_err();
        assert!(err.to_string().contains("rsaKeySizeBits"), "{err}");
        let err = parse(r#"{"clientId":"c","pkceRequired":"yes"}"#).unwrap_err();
        assert!(err.to_string().contains("pkceRequired"), "{err}");
        let err = parse(r#"{"clientId":5}"#).unwrap_err();
        assert!(err.to_string().contains("clientId"), "{err}");
        assert!(matches!(
            parse("[]").unwrap_err(),
            ClientConfigError::NotAnObject
        ));
        assert!(matches!(
            parse("{").unwrap_err(),
            ClientConfigError::Json(_)
        ));
    }

    #[test]
    fn testbed_typos_are_named() {
        let err = parse(r#"{"clientId":"c","testbed":{"organisationNumber":"1"}}"#).unwrap_err();
        assert!(matches!(err, ClientConfigError::Testbed(_)));
        assert!(err.to_string().contains("organisationNumber"), "{err}");
        let err = parse(r#"{"clientId":"c","testbed":{"tenancy":"multi"}}"#).unwrap_err();
        assert!(err.to_string().contains("multi"), "{err}");
    }

    #[test]
    fn machine_to_machine_download_without_redirects_parses() {
        // Shape of FHI's ClientCredentialsConfiguration section (no redirect URIs, no PKCE).
        let config = parse(
            r#"{
              "clientName": "m2m",
              "authority": "https://helseid-sts.test.nhn.no",
              "clientId": "8b9f0c1d-2e3f-4a5b-8c7d-9e0f1a2b3c4d",
              "grantTypes": ["client_credentials"],
              "scopes": [],
              "secretType": "private_key_jwt:RsaPrivateKeyJwtSecret",
              "rsaPrivateKey": "",
              "rsaKeySizeBits": 4096,
              "privateJwk": "{\"kty\":\"RSA\",\"d\":\"x\",\"n\":\"y\",\"e\":\"AQAB\"}"
            }"#,
        )
        .unwrap();
        assert_eq!(config.pkce_required, None);
        assert_eq!(
            config.grant_types,
            Some(vec!["client_credentials".to_owned()])
        );
    }
}
