//! Wire model of HelseID's Test Token Service (TTT, "test-token-tjenesten") v2:
//! `POST https://helseid-ttt.test.nhn.no/v2/create-test-token-with-key`, authenticated with the
//! `X-Auth-Key` header (an API key from HelseID Selvbetjening, "Integrasjonstesting").
//!
//! Mirrors the request model in NorskHelsenett/HelseID.Samples
//! `Utilities/TestTokenTool/RequestModel/*.cs` (`TokenRequest`, `ClientClaimsParameters`,
//! `UserClaimsParameters`, `TillitsrammeverkClaimsParameters`, `DPoPProofParameters`,
//! `InvalidDPoPProofParameters`, `ParametersGeneration`, `IssuerEnvironment`,
//! `ClientTenancyType`, `ExpirationParameters`, `HeaderParameters`, `ApiSpecificClaim`,
//! `TokenExchangeParameters`) at the revision whose `Program.cs` sets `CreateTokenExchangeClaims`,
//! and the response model in `Utilities/TestTokenTool/ResponseModel/*.cs`
//! (`TokenResponse { IsError, SuccessResponse { AccessTokenJwt, DPoPProof }, ErrorResponse {
//! ErrorMessage } }`).
//!
//! Wire conventions, as observed in real clients of the service:
//! * Property names. The service is ASP.NET Core, whose System.Text.Json web defaults match
//!   property names case-insensitively. The official `TestTokenTool` sends PascalCase
//!   (`JsonSerializer.Serialize(tokenRequest)` without options); the official `TestTokenDemo`
//!   (HelseID.Samples, `JsonSerializerDefaults.Web`) and third-party clients send camelCase.
//!   This module writes camelCase (System.Text.Json's camel-casing, hence `dPoPProofParameters`);
//!   [`TttTokenRequest::from_json`] accepts any casing of a known name, while plain
//!   `serde_json::from_str` accepts the camelCase spelling only.
//! * Enums. `TestTokenTool` and third-party clients send the C# numbers (`"issuerEnvironment": 0`);
//!   `TestTokenDemo` registers `JsonStringEnumConverter` and sends member names
//!   (`"DontSetHtuClaimValue"`). Both are accepted here (names case-insensitively, as
//!   `JsonStringEnumConverter` reads them); names are written.
//! * "Not set". C# clients serialise unset strings as `""` and an unset expiration as
//!   `Int32.MinValue`; use [`given`] and the [`ExpirationParameters`] accessors to read them.
//! * Strictness. The real service ignores unknown properties (System.Text.Json default). This
//!   model refuses unknown *top-level* fields so typos surface; nested parameter objects tolerate
//!   unknown fields like the real service does.

use std::fmt;

use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use thiserror::Error;

/// Base URL of the TTT in HelseID's test environment.
pub const TTT_TEST_BASE_URL: &str = "https://helseid-ttt.test.nhn.no";
/// Path of the v2 token endpoint authenticated with an API key.
pub const CREATE_TEST_TOKEN_WITH_KEY_PATH: &str = "/v2/create-test-token-with-key";
/// Request header carrying the TTT API key.
pub const AUTH_KEY_HEADER: &str = "X-Auth-Key";
/// Audience the TTT puts in `aud` when the request names none (TestTokenTool README).
pub const DEFAULT_AUDIENCE: &str = "nhn:some:api";
/// Token lifetime the TestTokenTool CLI asks for by default (`--expirationTimeInSeconds [600]`);
/// the service's own default when `expirationParameters` is absent is UNCONFIRMED.
pub const DEFAULT_EXPIRATION_SECONDS: i32 = 600;
/// The C# sentinel (`Int32.MinValue`) clients send for an unset expiration.
pub const UNSET_INT: i32 = i32::MIN;

/// Returns the value of a string parameter, treating `""` (the C# "not set" default) as absent.
pub fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

/// Defines a C# enum as the TTT reads it: from its number or (case-insensitively) its member
/// name; written as the member name.
macro_rules! dotnet_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $num:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every member, in C# declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The C# member name, as `JsonStringEnumConverter` writes it.
            pub fn wire_name(self) -> &'static str {
                match self {
                    $($name::$variant => stringify!($variant),)+
                }
            }

            /// The C# numeric value, as System.Text.Json writes it without a converter.
            pub fn wire_number(self) -> i64 {
                match self {
                    $($name::$variant => $num,)+
                }
            }

            /// Looks a member up by name, ignoring ASCII case.
            pub fn from_wire_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.wire_name().eq_ignore_ascii_case(name))
            }

            /// Looks a member up by its C# number.
            pub fn from_wire_number(number: i64) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.wire_number() == number)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.wire_name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct EnumVisitor;

                impl Visitor<'_> for EnumVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, "{} as a member name or number (", stringify!($name))?;
                        for (i, v) in $name::ALL.iter().enumerate() {
                            if i > 0 {
                                f.write_str(", ")?;
                            }
                            write!(f, "{} = {}", v.wire_name(), v.wire_number())?;
                        }
                        f.write_str(")")
                    }

                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$name, E> {
                        $name::from_wire_number(v)
                            .ok_or_else(|| E::invalid_value(Unexpected::Signed(v), &self))
                    }

                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$name, E> {
                        i64::try_from(v)
                            .ok()
                            .and_then($name::from_wire_number)
                            .ok_or_else(|| E::invalid_value(Unexpected::Unsigned(v), &self))
                    }

                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::from_wire_name(v)
                            .ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
                    }
                }

                deserializer.deserialize_any(EnumVisitor)
            }
        }
    };
}

dotnet_enum! {
    /// How a group of claims is generated (C# `ParametersGeneration`).
    pub enum ParametersGeneration {
        /// Generate no claims of this group.
        GenerateNone = 0,
        /// Generate only the service's default claims.
        GenerateOnlyDefault = 1,
        /// Generate only claims whose parameter value is non-empty.
        GenerateOnlyFromNonEmptyParameterValues = 2,
        /// Generate the defaults, overridden by non-empty parameter values.
        GenerateDefaultWithClaimsFromNonEmptyParameterValues = 3,
    }
}

dotnet_enum! {
    /// Which HelseID environment's issuer the token claims (C# `IssuerEnvironment`).
    pub enum IssuerEnvironment {
        /// `https://helseid-sts.test.nhn.no` (the default).
        Test = 0,
        /// HelseID's internal test environment.
        IntTest = 1,
        /// HelseID's development environment.
        Development = 2,
    }
}

dotnet_enum! {
    /// Value of the `helseid://claims/client/claims/client_tenancy` claim (C# `ClientTenancyType`).
    pub enum ClientTenancyType {
        /// `multi-tenant`.
        MultiTenant = 0,
        /// `single-tenant`.
        SingleTenant = 1,
        /// `none`.
        None = 2,
    }
}

dotnet_enum! {
    /// The single defect to put into the returned DPoP proof (C# `InvalidDPoPProofParameters`).
    pub enum InvalidDPoPProofParameters {
        /// A valid proof.
        None = 0,
        /// Omit the `htu` claim.
        DontSetHtuClaimValue = 1,
        /// Omit the `htm` claim.
        DontSetHtmClaimValue = 2,
        /// Put `iat` too far in the past.
        SetIatValueInThePast = 3,
        /// Put `iat` in the future.
        SetIatValueInTheFuture = 4,
        /// Omit the `ath` claim.
        DontSetAthClaimValue = 5,
        /// Omit the `alg` header.
        DontSetAlgHeader = 6,
        /// Omit the `jwk` header.
        DontSetJwkHeader = 7,
        /// Omit the `jti` claim.
        DontSetJtiClaim = 8,
        /// Sign with a symmetric algorithm (the C# name says "ASymmetric").
        SetAlgHeaderToASymmetricAlgorithm = 9,
        /// Put the private key into the `jwk` header.
        SetPrivateKeyInJwkHeader = 10,
        /// Use a `typ` header other than `dpop+jwt`.
        SetInvalidTypHeaderValue = 11,
        /// Corrupt the signature.
        SetAnInvalidSignature = 12,
        /// Put a `cnf.jkt` in the token that does not match the proof key. Listed last in the
        /// TestTokenTool README; its number 13 is inferred from that order (UNCONFIRMED).
        SetAnInvalidJktValueInToken = 13,
    }
}

/// Value of the access token's `typ` JOSE header (`HeaderParameters.Typ`); the TestTokenTool
/// README says the accepted values are `jwt` and `at+jwt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypHeader {
    /// `jwt`.
    Jwt,
    /// `at+jwt` (RFC 9068).
    AtJwt,
}

impl TypHeader {
    /// The exact wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            TypHeader::Jwt => "jwt",
            TypHeader::AtJwt => "at+jwt",
        }
    }

    /// Parses the wire string, ignoring ASCII case.
    pub fn from_wire(value: &str) -> Option<Self> {
        [TypHeader::Jwt, TypHeader::AtJwt]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(value))
    }
}

impl Serialize for TypHeader {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TypHeader {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        TypHeader::from_wire(&raw).ok_or_else(|| {
            de::Error::invalid_value(Unexpected::Str(&raw), &"\"jwt\" or \"at+jwt\"")
        })
    }
}

/// Reads `typ`, treating null and `""` (the C# default) as "not set".
fn typ_or_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<TypHeader>, D::Error> {
    let raw: Option<String> = Option::deserialize(deserializer)?;
    match raw.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => TypHeader::from_wire(s)
            .map(Some)
            .ok_or_else(|| de::Error::invalid_value(Unexpected::Str(s), &"\"jwt\" or \"at+jwt\"")),
    }
}

/// Body of `POST /v2/create-test-token-with-key` (C# `TokenRequest`). Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TttTokenRequest {
    /// `aud` of the token; the service uses [`DEFAULT_AUDIENCE`] when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// How client claims are generated from `clientClaimsParameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_claims_parameters_generation: Option<ParametersGeneration>,
    /// How user claims are generated from `userClaimsParameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_claims_parameters_generation: Option<ParametersGeneration>,
    /// Create no default client claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub without_default_client_claims: Option<bool>,
    /// Create no default user claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub without_default_user_claims: Option<bool>,
    /// Which environment's issuer goes into `iss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_environment: Option<IssuerEnvironment>,
    /// Create a DPoP proof and the matching `cnf` claim in the token.
    #[serde(
        rename = "createDPoPTokenWithDPoPProof",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub create_dpop_token_with_dpop_proof: Option<bool>,
    /// Add the `nhn:tillitsrammeverk:parameters` claim built from
    /// `tillitsrammeverkClaimsParameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_tillitsrammeverk_claims: Option<bool>,
    /// Sign the token with a key that is not HelseID's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_jwt_with_invalid_signing_key: Option<bool>,
    /// Put an invalid `iss` in the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_invalid_issuer: Option<bool>,
    /// Put an invalid `aud` in the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_invalid_audience: Option<bool>,
    /// Look the person up in Persontjenesten by `userClaimsParameters.pid` for the name claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_person_from_persontjenesten: Option<bool>,
    /// With `getPersonFromPersontjenesten`, issue only `name` (not given/middle/family name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_set_name_for_person: Option<bool>,
    /// Look the HPR number up in the HPR register by `pid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_hpr_number_from_hprregisteret: Option<bool>,
    /// Issue `helseid://claims/identity/pid_pseudonym` derived from `pid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_pid_pseudonym: Option<bool>,
    /// Put a pseudonymised pid in `sub` (needs `pid` and `clientId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_subject: Option<bool>,
    /// Lifetime of the token, or an already-expired token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_parameters: Option<ExpirationParameters>,
    /// JOSE header adjustments of the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_parameters: Option<HeaderParameters>,
    /// Values of the client claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_claims_parameters: Option<ClientClaimsParameters>,
    /// Values of the user claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_claims_parameters: Option<UserClaimsParameters>,
    /// Values of the `nhn:tillitsrammeverk:parameters` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tillitsrammeverk_claims_parameters: Option<TillitsrammeverkClaimsParameters>,
    /// Target and defects of the returned DPoP proof.
    #[serde(
        rename = "dPoPProofParameters",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub dpop_proof_parameters: Option<DPoPProofParameters>,
    /// Extra API-specific claims (`type`/`value`) added to the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_specific_claims: Option<Vec<ApiSpecificClaim>>,
    /// Add the claims of a token-exchange (RFC 8693) token built from `tokenExchangeParameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_token_exchange_claims: Option<bool>,
    /// Values of the token-exchange claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_exchange_parameters: Option<TokenExchangeParameters>,
    /// Legacy name of `clientClaimsParametersGeneration` (older TokenRequest revisions, FHI's TTT
    /// client); whether the current service still honours it is UNCONFIRMED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub general_claims_parameters_generation: Option<ParametersGeneration>,
    /// Legacy name of `clientClaimsParameters` (older revisions, FHI's TTT client); honouring
    /// it is UNCONFIRMED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub general_claims_parameters: Option<ClientClaimsParameters>,
    /// Legacy name of `withoutDefaultClientClaims` (older revisions, FHI's TTT client);
    /// honouring it is UNCONFIRMED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub without_default_general_claims: Option<bool>,
}

/// Token lifetime (C# `ExpirationParameters`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpirationParameters {
    /// Issue a token whose `nbf`, `iat` and `exp` are already in the past.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_expiration_time_as_expired: Option<bool>,
    /// Lifetime in seconds; [`UNSET_INT`] means not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_time_in_seconds: Option<i32>,
    /// Lifetime in days; [`UNSET_INT`] means not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_time_in_days: Option<i32>,
}

impl ExpirationParameters {
    /// The requested lifetime in seconds, `None` when absent or the C# sentinel.
    pub fn seconds(&self) -> Option<i32> {
        self.expiration_time_in_seconds.filter(|v| *v != UNSET_INT)
    }

    /// The requested lifetime in days, `None` when absent or the C# sentinel.
    pub fn days(&self) -> Option<i32> {
        self.expiration_time_in_days.filter(|v| *v != UNSET_INT)
    }
}

/// JOSE header adjustments (C# `HeaderParameters`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderParameters {
    /// `typ` header of the token; `""` reads as not set.
    #[serde(
        default,
        deserialize_with = "typ_or_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub typ: Option<TypHeader>,
}

/// Client claim values (C# `ClientClaimsParameters`; older revisions called it
/// `GeneralParameters`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientClaimsParameters {
    /// `scope` claim values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
    /// `client_id` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `nhn:sfm:journal_id` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sfm_journal_id: Option<String>,
    /// `helseid://claims/client/claims/orgnr_parent` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orgnr_parent: Option<String>,
    /// `helseid://claims/client/claims/orgnr_child` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orgnr_child: Option<String>,
    /// `helseid://claims/client/claims/orgnr_supplier` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orgnr_supplier: Option<String>,
    /// Issue `helseid://claims/client/claims/client_tenancy` (value from `clientTenancyType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_tenancy: Option<bool>,
    /// Value of the `client_tenancy` claim when `clientTenancy` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_tenancy_type: Option<ClientTenancyType>,
    /// `client_amr` claim values (the C# comment says `amr`; the CLI flag is `--clientAmr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_methods_references: Option<Vec<String>>,
    /// `helseid://claims/client/amr` claim (e.g. `private_key_jwt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_authentication_methods_references: Option<String>,
    /// `helseid://claims/client/client_name` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// `jti` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// `cnf.jkt` claim given directly (when the caller makes its own DPoP proofs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf_jkt: Option<String>,
    /// Public key (JWK) whose thumbprint becomes `cnf.jkt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf_public_key: Option<String>,
}

/// User claim values (C# `UserClaimsParameters`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserClaimsParameters {
    /// `helseid://claims/identity/pid` claim (national identity number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    /// `helseid://claims/identity/pid_pseudonym` claim (overridden by `setPidPseudonym`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_pseudonym: Option<String>,
    /// `helseid://claims/hpr/hpr_number` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hpr_number: Option<String>,
    /// `name` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `given_name` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// `middle_name` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// `family_name` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// `idp` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
    /// `helseid://claims/identity/security_level` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_level: Option<String>,
    /// `helseid://claims/identity/assurance_level` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assurance_level: Option<String>,
    /// `helseid://claims/identity/network` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// `amr` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<String>,
    /// `sub` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `sid` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Values injected into the `nhn:tillitsrammeverk:parameters` claim (C#
/// `TillitsrammeverkClaimsParameters`). `*System`/`*Authority`/`*Assigner` are the code-system
/// URIs and issuing authorities of the trust-framework model (`{id,name,system,authority}` and
/// `{code,text,system,assigner}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TillitsrammeverkClaimsParameters {
    /// Leave out `practitioner.hpr_nr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dont_set_practitioner_hpr_nr: Option<bool>,
    /// Leave out `practitioner.authorization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dont_set_practitioner_authorization: Option<bool>,
    /// Leave out `practitioner.department`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dont_set_practitioner_department: Option<bool>,
    /// Leave out `care_relationship.healthcare_service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dont_set_care_relationship_healthcare_service: Option<bool>,
    /// Leave out `care_relationship.purpose_of_use_details`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dont_set_care_relationship_purpose_of_use_details: Option<bool>,
    /// Leave out `patients[].point_of_care`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dont_set_patients_point_of_care: Option<bool>,
    /// Leave out `patients[].department`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dont_set_patients_department: Option<bool>,
    /// `practitioner.identifier.system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_identifier_system: Option<String>,
    /// `practitioner.identifier.authority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_identifier_authority: Option<String>,
    /// `practitioner.hpr_nr.system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_hpr_nr_system: Option<String>,
    /// `practitioner.hpr_nr.authority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_hpr_nr_authority: Option<String>,
    /// `practitioner.authorization.code` (e.g. `LE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_authorization_code: Option<String>,
    /// `practitioner.authorization.text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_authorization_text: Option<String>,
    /// `practitioner.authorization.system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_authorization_system: Option<String>,
    /// `practitioner.authorization.assigner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_authorization_assigner: Option<String>,
    /// `practitioner.legal_entity.id` (organisation number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_legal_entity_id: Option<String>,
    /// `practitioner.legal_entity.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_legal_entity_name: Option<String>,
    /// `practitioner.legal_entity.system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_legal_entity_system: Option<String>,
    /// `practitioner.legal_entity.authority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_legal_entity_authority: Option<String>,
    /// `practitioner.point_of_care.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_point_of_care_id: Option<String>,
    /// `practitioner.point_of_care.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_point_of_care_name: Option<String>,
    /// `practitioner.point_of_care.system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_point_of_care_system: Option<String>,
    /// `practitioner.point_of_care.authority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_point_of_care_authority: Option<String>,
    /// `practitioner.department.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_department_id: Option<String>,
    /// `practitioner.department.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_department_name: Option<String>,
    /// `practitioner.department.system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_department_system: Option<String>,
    /// `practitioner.department.authority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_department_authority: Option<String>,
    /// `care_relationship.healthcare_service.code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_relationship_healthcare_service_code: Option<String>,
    /// `care_relationship.healthcare_service.text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_relationship_healthcare_service_text: Option<String>,
    /// `care_relationship.healthcare_service.system` (C# name lacks "Service").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_relationship_healthcare_system: Option<String>,
    /// `care_relationship.healthcare_service.assigner` (C# name lacks "Service").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_relationship_healthcare_assigner: Option<String>,
    /// `care_relationship.purpose_of_use.code` (e.g. `TREAT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_relationship_purpose_of_use_code: Option<String>,
    /// `care_relationship.purpose_of_use.text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_relationship_purpose_of_use_text: Option<String>,
    /// `care_relationship.purpose_of_use.system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_relationship_purpose_of_use_system: Option<String>,
    /// `care_relationship.purpose_of_use.assigner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_relationship_purpose_of_use_assigner: Option<String>,
    /// `care_relationship.purpose_of_use_details.code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_relationship_purpose_of_use_details_code: Option<String>,
    /// `care_relationship.purpose_of_use_details.text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_relationship_purpose_of_use_details_text: Option<String>,
    /// `care_relationship.purpose_of_use_details.system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_relationship_purpose_of_use_details_system: Option<String>,
    /// `care_relationship.purpose_of_use_details.assigner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_relationship_purpose_of_use_details_assigner: Option<String>,
    /// `care_relationship.decision_ref.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_relationship_decision_ref_id: Option<String>,
    /// `care_relationship.decision_ref.user_selected`; C# default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_relationship_decision_ref_user_selected: Option<bool>,
    /// `patients[].point_of_care.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patients_point_of_care_id: Option<String>,
    /// `patients[].point_of_care.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patients_point_of_care_name: Option<String>,
    /// `patients[].point_of_care.system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patients_point_of_care_system: Option<String>,
    /// `patients[].point_of_care.authority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patients_point_of_care_authority: Option<String>,
    /// `patients[].department.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patients_department_id: Option<String>,
    /// `patients[].department.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patients_department_name: Option<String>,
    /// `patients[].department.system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patients_department_system: Option<String>,
    /// `patients[].department.authority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patients_department_authority: Option<String>,
}

impl TillitsrammeverkClaimsParameters {
    /// `decision_ref.user_selected` with the C# default (`true`) applied.
    pub fn decision_ref_user_selected(&self) -> bool {
        self.care_relationship_decision_ref_user_selected
            .unwrap_or(true)
    }
}

/// The DPoP proof the service returns with the token (C# `DPoPProofParameters`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DPoPProofParameters {
    /// `htu` claim of the proof (the API URL); required unless the defect omits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub htu_claim_value: Option<String>,
    /// `htm` claim of the proof (an RFC 9110 method); required unless the defect omits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub htm_claim_value: Option<String>,
    /// Private JWK (JSON text) to sign the proof with instead of a generated key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_for_proof_creation: Option<String>,
    /// The defect to build into the proof.
    #[serde(
        rename = "invalidDPoPProofParameters",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub invalid_dpop_proof_parameters: Option<InvalidDPoPProofParameters>,
}

/// One extra claim for a specific API (C# `ApiSpecificClaim`); both must be set to be issued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiSpecificClaim {
    /// Claim type (name).
    #[serde(rename = "type", default)]
    pub claim_type: String,
    /// Claim value.
    #[serde(default)]
    pub value: String,
}

/// Claims of a token obtained by token exchange (C# `TokenExchangeParameters`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenExchangeParameters {
    /// Issuer of the exchanged (subject) token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Client id of the exchanging client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Parent organisation number of the exchanging client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orgnr_parent: Option<String>,
}

/// Every property name of the request model, in the spelling this module writes. Used by
/// [`TttTokenRequest::from_json`] to match names case-insensitively.
const KNOWN_KEYS: &[&str] = &[
    // TokenRequest
    "audience",
    "clientClaimsParametersGeneration",
    "userClaimsParametersGeneration",
    "withoutDefaultClientClaims",
    "withoutDefaultUserClaims",
    "issuerEnvironment",
    "createDPoPTokenWithDPoPProof",
    "createTillitsrammeverkClaims",
    "signJwtWithInvalidSigningKey",
    "setInvalidIssuer",
    "setInvalidAudience",
    "getPersonFromPersontjenesten",
    "onlySetNameForPerson",
    "getHprNumberFromHprregisteret",
    "setPidPseudonym",
    "setSubject",
    "expirationParameters",
    "headerParameters",
    "clientClaimsParameters",
    "userClaimsParameters",
    "tillitsrammeverkClaimsParameters",
    "dPoPProofParameters",
    "apiSpecificClaims",
    "createTokenExchangeClaims",
    "tokenExchangeParameters",
    "generalClaimsParametersGeneration",
    "generalClaimsParameters",
    "withoutDefaultGeneralClaims",
    // ExpirationParameters
    "setExpirationTimeAsExpired",
    "expirationTimeInSeconds",
    "expirationTimeInDays",
    // HeaderParameters
    "typ",
    // ClientClaimsParameters
    "scope",
    "clientId",
    "sfmJournalId",
    "orgnrParent",
    "orgnrChild",
    "orgnrSupplier",
    "clientTenancy",
    "clientTenancyType",
    "authenticationMethodsReferences",
    "clientAuthenticationMethodsReferences",
    "clientName",
    "jti",
    "cnfJkt",
    "cnfPublicKey",
    // UserClaimsParameters
    "pid",
    "pidPseudonym",
    "hprNumber",
    "name",
    "givenName",
    "middleName",
    "familyName",
    "identityProvider",
    "securityLevel",
    "assuranceLevel",
    "network",
    "amr",
    "subject",
    "sid",
    // TillitsrammeverkClaimsParameters
    "dontSetPractitionerHprNr",
    "dontSetPractitionerAuthorization",
    "dontSetPractitionerDepartment",
    "dontSetCareRelationshipHealthcareService",
    "dontSetCareRelationshipPurposeOfUseDetails",
    "dontSetPatientsPointOfCare",
    "dontSetPatientsDepartment",
    "practitionerIdentifierSystem",
    "practitionerIdentifierAuthority",
    "practitionerHprNrSystem",
    "practitionerHprNrAuthority",
    "practitionerAuthorizationCode",
    "practitionerAuthorizationText",
    "practitionerAuthorizationSystem",
    "practitionerAuthorizationAssigner",
    "practitionerLegalEntityId",
    "practitionerLegalEntityName",
    "practitionerLegalEntitySystem",
    "practitionerLegalEntityAuthority",
    "practitionerPointOfCareId",
    "practitionerPointOfCareName",
    "practitionerPointOfCareSystem",
    "practitionerPointOfCareAuthority",
    "practitionerDepartmentId",
    "practitionerDepartmentName",
    "practitionerDepartmentSystem",
    "practitionerDepartmentAuthority",
    "careRelationshipHealthcareServiceCode",
    "careRelationshipHealthcareServiceText",
    "careRelationshipHealthcareSystem",
    "careRelationshipHealthcareAssigner",
    "careRelationshipPurposeOfUseCode",
    "careRelationshipPurposeOfUseText",
    "careRelationshipPurposeOfUseSystem",
    "careRelationshipPurposeOfUseAssigner",
    "careRelationshipPurposeOfUseDetailsCode",
    "careRelationshipPurposeOfUseDetailsText",
    "careRelationshipPurposeOfUseDetailsSystem",
    "careRelationshipPurposeOfUseDetailsAssigner",
    "careRelationshipDecisionRefId",
    "careRelationshipDecisionRefUserSelected",
    "patientsPointOfCareId",
    "patientsPointOfCareName",
    "patientsPointOfCareSystem",
    "patientsPointOfCareAuthority",
    "patientsDepartmentId",
    "patientsDepartmentName",
    "patientsDepartmentSystem",
    "patientsDepartmentAuthority",
    // DPoPProofParameters
    "htuClaimValue",
    "htmClaimValue",
    "privateKeyForProofCreation",
    "invalidDPoPProofParameters",
    // ApiSpecificClaim
    "type",
    "value",
    // TokenExchangeParameters ("clientId" and "orgnrParent" are listed above)
    "issuer",
];

/// Why a TTT request body was refused.
#[derive(Debug, Error)]
pub enum TttRequestError {
    /// The body is not JSON.
    #[error("TTT request body is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The body is JSON but not an object.
    #[error("TTT request body must be a JSON object")]
    NotAnObject,
    /// Two properties of one object differ only in case (the service matches case-insensitively).
    #[error("TTT request field `{field}` is given more than once (names match case-insensitively)")]
    DuplicateField {
        /// The canonical (camelCase) name of the repeated field.
        field: String,
    },
    /// A field is unknown or has the wrong type or value; the message names it.
    #[error("invalid TTT request: {0}")]
    Invalid(#[source] serde_json::Error),
}

impl TttTokenRequest {
    /// Parses a request body the way the real service does: property names of any casing
    /// (PascalCase from `TestTokenTool`, camelCase from the others), enums as numbers or names.
    /// Unknown top-level fields are refused with an error naming the field.
    pub fn from_json(text: &str) -> Result<Self, TttRequestError> {
        let value: Value = serde_json::from_str(text).map_err(TttRequestError::Json)?;
        if !value.is_object() {
            return Err(TttRequestError::NotAnObject);
        }
        let value = canonicalise_keys(value)?;
        serde_json::from_value(value).map_err(TttRequestError::Invalid)
    }
}

/// Renames every object key that matches a known property name case-insensitively to its
/// canonical spelling; unknown keys are left for serde to report.
fn canonicalise_keys(value: Value) -> Result<Value, TttRequestError> {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, inner) in map {
                let canonical = KNOWN_KEYS
                    .iter()
                    .find(|known| known.eq_ignore_ascii_case(&key))
                    .map_or(key, |known| (*known).to_owned());
                if out.contains_key(&canonical) {
                    return Err(TttRequestError::DuplicateField { field: canonical });
                }
                out.insert(canonical, canonicalise_keys(inner)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .into_iter()
            .map(canonicalise_keys)
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other),
    }
}

/// Response body of the TTT (C# `TokenResponse`). The real model always carries both
/// sub-objects; this one writes the unused one as `null` (exact real shape of the unused
/// sub-object and the HTTP status of an error response are UNCONFIRMED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TttResponse {
    /// True when the service could not create the token.
    #[serde(default)]
    pub is_error: bool,
    /// The token (and proof) when `isError` is false.
    #[serde(default)]
    pub success_response: Option<TttSuccessResponse>,
    /// Why no token was created when `isError` is true.
    #[serde(default)]
    pub error_response: Option<TttErrorResponse>,
}

impl TttResponse {
    /// A successful response carrying the token and, for DPoP requests, the proof.
    pub fn success(access_token_jwt: impl Into<String>, dpop_proof: Option<String>) -> Self {
        TttResponse {
            is_error: false,
            success_response: Some(TttSuccessResponse {
                access_token_jwt: access_token_jwt.into(),
                dpop_proof,
            }),
            error_response: None,
        }
    }

    /// An error response with a human-readable message.
    pub fn error(message: impl Into<String>) -> Self {
        TttResponse {
            is_error: true,
            success_response: None,
            error_response: Some(TttErrorResponse {
                error_message: message.into(),
            }),
        }
    }
}

/// The created token (C# `SuccessResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TttSuccessResponse {
    /// The signed access token (compact JWS).
    #[serde(default)]
    pub access_token_jwt: String,
    /// DPoP proof for `dPoPProofParameters`' `htm`/`htu`; null when no proof was requested.
    #[serde(rename = "dPoPProof", default)]
    pub dpop_proof: Option<String>,
}

/// Why no token was created (C# `ErrorResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TttErrorResponse {
    /// Human-readable description of the problem.
    #[serde(default)]
    pub error_message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every property of the model, camelCase, enums as names: round-trips unchanged.
    const FULL: &str = r#"{
      "audience": "nhn:kjernejournal",
      "clientClaimsParametersGeneration": "GenerateDefaultWithClaimsFromNonEmptyParameterValues",
      "userClaimsParametersGeneration": "GenerateOnlyFromNonEmptyParameterValues",
      "withoutDefaultClientClaims": true,
      "withoutDefaultUserClaims": true,
      "issuerEnvironment": "Test",
      "createDPoPTokenWithDPoPProof": true,
      "createTillitsrammeverkClaims": true,
      "signJwtWithInvalidSigningKey": false,
      "setInvalidIssuer": false,
      "setInvalidAudience": false,
      "getPersonFromPersontjenesten": false,
      "onlySetNameForPerson": false,
      "getHprNumberFromHprregisteret": true,
      "setPidPseudonym": true,
      "setSubject": true,
      "expirationParameters": {
        "setExpirationTimeAsExpired": false,
        "expirationTimeInSeconds": 600,
        "expirationTimeInDays": -2147483648
      },
      "headerParameters": { "typ": "at+jwt" },
      "clientClaimsParameters": {
        "scope": ["nhn:kjernejournal/innlogging", "nhn:kjernejournal/api"],
        "clientId": "fake",
        "sfmJournalId": "6c3fa08e-2b6a-4c8f-9a59-3d1b6f0e4c11",
        "orgnrParent": "958935420",
        "orgnrChild": "894234482",
        "orgnrSupplier": "313745392",
        "clientTenancy": true,
        "clientTenancyType": "MultiTenant",
        "authenticationMethodsReferences": ["private_key_jwt"],
        "clientAuthenticationMethodsReferences": "private_key_jwt",
        "clientName": "Acme EPJ",
        "jti": "0f8c5a3e-7d1b-4b1a-9b7e-2f3c4d5e6f70",
        "cnfJkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
        "cnfPublicKey": "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"x\",\"y\":\"y\"}"
      },
      "userClaimsParameters": {
        "pid": "05898597468",
        "pidPseudonym": "pseudo",
        "hprNumber": "565501872",
        "name": "Julenissen",
        "givenName": "Jule",
        "middleName": "K",
        "familyName": "Nissen",
        "identityProvider": "testidp-oidc",
        "securityLevel": "4",
        "assuranceLevel": "high",
        "network": "internett",
        "amr": "pwd",
        "subject": "sub-1",
        "sid": "sid-1"
      },
      "tillitsrammeverkClaimsParameters": {
        "dontSetPractitionerHprNr": false,
        "dontSetPractitionerAuthorization": false,
        "dontSetPractitionerDepartment": true,
        "dontSetCareRelationshipHealthcareService": false,
        "dontSetCareRelationshipPurposeOfUseDetails": true,
        "dontSetPatientsPointOfCare": false,
        "dontSetPatientsDepartment": true,
        "practitionerIdentifierSystem": "urn:oid:2.16.578.1.12.4.1.4.1",
        "practitionerIdentifierAuthority": "https://www.skatteetaten.no",
        "practitionerHprNrSystem": "urn:oid:2.16.578.1.12.4.1.4.4",
        "practitionerHprNrAuthority": "https://www.helsedirektoratet.no/",
        "practitionerAuthorizationCode": "LE",
        "practitionerAuthorizationText": "Lege",
        "practitionerAuthorizationSystem": "urn:oid:2.16.578.1.12.4.1.1.9060",
        "practitionerAuthorizationAssigner": "https://www.helsedirektoratet.no/",
        "practitionerLegalEntityId": "958935420",
        "practitionerLegalEntityName": "Fake entity",
        "practitionerLegalEntitySystem": "urn:oid:2.16.578.1.12.4.1.4.101",
        "practitionerLegalEntityAuthority": "https://www.brreg.no",
        "practitionerPointOfCareId": "894234482",
        "practitionerPointOfCareName": "Fake poc",
        "practitionerPointOfCareSystem": "urn:oid:2.16.578.1.12.4.1.4.101",
        "practitionerPointOfCareAuthority": "https://www.brreg.no",
        "practitionerDepartmentId": "705592",
        "practitionerDepartmentName": "Anestesiologi",
        "practitionerDepartmentSystem": "urn:oid:2.16.578.1.12.4.1.4.102",
        "practitionerDepartmentAuthority": "https://www.nhn.no",
        "careRelationshipHealthcareServiceCode": "S03",
        "careRelationshipHealthcareServiceText": "Indremedisin",
        "careRelationshipHealthcareSystem": "urn:oid:2.16.578.1.12.4.1.1.8655",
        "careRelationshipHealthcareAssigner": "https://www.helsedirektoratet.no/",
        "careRelationshipPurposeOfUseCode": "TREAT",
        "careRelationshipPurposeOfUseText": "Treatment",
        "careRelationshipPurposeOfUseSystem": "urn:oid:2.16.840.1.113883.1.11.20448",
        "careRelationshipPurposeOfUseAssigner": "https://www.hl7.org",
        "careRelationshipPurposeOfUseDetailsCode": "POLBESOK",
        "careRelationshipPurposeOfUseDetailsText": "Poliklinisk besøk",
        "careRelationshipPurposeOfUseDetailsSystem": "urn:AuditEventHL7Norway/CodeSystem/carerelation",
        "careRelationshipPurposeOfUseDetailsAssigner": "https://www.helsedirektoratet.no/",
        "careRelationshipDecisionRefId": "30F4AB40-DBC2-41A7-8AC4-181AD3FDC25B",
        "careRelationshipDecisionRefUserSelected": false,
        "patientsPointOfCareId": "974589095",
        "patientsPointOfCareName": "Sykehuset",
        "patientsPointOfCareSystem": "urn:oid:2.16.578.1.12.4.1.4.101",
        "patientsPointOfCareAuthority": "https://www.brreg.no",
        "patientsDepartmentId": "109765",
        "patientsDepartmentName": "Avdeling",
        "patientsDepartmentSystem": "urn:oid:2.16.578.1.12.4.1.4.102",
        "patientsDepartmentAuthority": "https://www.nhn.no"
      },
      "dPoPProofParameters": {
        "htuClaimValue": "https://innlogging.st1.kjernejournal-test.no/api/session/ping",
        "htmClaimValue": "GET",
        "privateKeyForProofCreation": "{\"kty\":\"EC\",\"crv\":\"P-256\",\"d\":\"d\",\"x\":\"x\",\"y\":\"y\"}",
        "invalidDPoPProofParameters": "SetAnInvalidJktValueInToken"
      },
      "apiSpecificClaims": [{ "type": "nhn:some/claim", "value": "42" }],
      "createTokenExchangeClaims": true,
      "tokenExchangeParameters": {
        "issuer": "https://helseid-sts.test.nhn.no",
        "clientId": "exchanger",
        "orgnrParent": "999977774"
      },
      "generalClaimsParametersGeneration": "GenerateOnlyDefault",
      "generalClaimsParameters": { "scope": ["legacy:api/read"], "clientId": "legacy" },
      "withoutDefaultGeneralClaims": false
    }"#;

    fn keys_of(value: &Value, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    out.insert(k.clone());
                    keys_of(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| keys_of(v, out)),
            _ => {}
        }
    }

    #[test]
    fn full_request_round_trips_and_covers_every_known_key() {
        let original: Value = serde_json::from_str(FULL).unwrap();
        let parsed: TttTokenRequest = serde_json::from_str(FULL).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), original);
        assert_eq!(TttTokenRequest::from_json(FULL).unwrap(), parsed);

        let mut seen = BTreeSet::new();
        keys_of(&original, &mut seen);
        let known: BTreeSet<String> = KNOWN_KEYS.iter().map(|k| (*k).to_owned()).collect();
        assert_eq!(seen, known);
        let lower: BTreeSet<String> = KNOWN_KEYS.iter().map(|k| k.to_ascii_lowercase()).collect();
        assert_eq!(
            lower.len(),
            KNOWN_KEYS.len(),
            "canonical names must differ beyond case"
        );
    }

    #[test]
    fn third_party_camel_case_request_with_numeric_enums() {
        // Shape sent by a third-party .NET client (JsonSerializerDefaults.Web, ints for enums).
        let body = r#"{
          "audience": "nhn:maternity-record",
          "issuerEnvironment": 0,
          "withoutDefaultClientClaims": true,
          "withoutDefaultUserClaims": true,
          "expirationParameters": { "expirationTimeInSeconds": 600 },
          "headerParameters": { "typ": "at+jwt" },
          "createDPoPTokenWithDPoPProof": true,
          "dPoPProofParameters": {
            "htmClaimValue": "GET",
            "htuClaimValue": "https://maternity-record.hit.test.nhn.no/api/maternity-record/v1/status"
          },
          "clientClaimsParameters": {
            "scope": ["nhn:maternity-record/api"],
            "clientId": "dhg-test-client",
            "orgnrParent": "123456789",
            "orgnrChild": "",
            "clientTenancy": true,
            "clientAuthenticationMethodsReferences": "private_key_jwt",
            "clientName": "",
            "clientTenancyType": 1
          },
          "userClaimsParameters": {
            "pid": "05898597468", "hprNumber": "565501872", "name": "Julenissen",
            "securityLevel": "4", "network": "internett"
          }
        }"#;
        let req: TttTokenRequest = serde_json::from_str(body).unwrap();
        assert_eq!(req.issuer_environment, Some(IssuerEnvironment::Test));
        let client = req.client_claims_parameters.as_ref().unwrap();
        assert_eq!(
            client.client_tenancy_type,
            Some(ClientTenancyType::SingleTenant)
        );
        assert_eq!(given(&client.orgnr_child), None);
        assert_eq!(given(&client.orgnr_parent), Some("123456789"));
        assert_eq!(
            req.header_parameters.as_ref().unwrap().typ,
            Some(TypHeader::AtJwt)
        );
        assert_eq!(
            req.expiration_parameters.as_ref().unwrap().seconds(),
            Some(600)
        );

        // Written back with enum names; reading that again gives the same request.
        let written = serde_json::to_value(&req).unwrap();
        assert_eq!(written["issuerEnvironment"], "Test");
        assert_eq!(
            written["clientClaimsParameters"]["clientTenancyType"],
            "SingleTenant"
        );
        let again: TttTokenRequest = serde_json::from_value(written).unwrap();
        assert_eq!(again, req);
    }

    #[test]
    fn test_token_tool_pascal_case_request_is_read_case_insensitively() {
        // Shape of the official TestTokenTool: JsonSerializer.Serialize without options, so
        // PascalCase names, numeric enums, "" for unset strings and Int32.MinValue sentinels.
        let body = r#"{
          "Audience": "nhn:some:api",
          "SignJwtWithInvalidSigningKey": false,
          "IssuerEnvironment": 2,
          "ClientClaimsParametersGeneration": 3,
          "CreateDPoPTokenWithDPoPProof": true,
          "ExpirationParameters": {
            "SetExpirationTimeAsExpired": false,
            "ExpirationTimeInSeconds": 600,
            "ExpirationTimeInDays": -2147483648
          },
          "HeaderParameters": { "Typ": "" },
          "ClientClaimsParameters": {
            "Scope": [], "ClientId": "", "OrgnrParent": "", "ClientTenancy": false,
            "ClientTenancyType": 0, "AuthenticationMethodsReferences": [], "CnfJkt": ""
          },
          "TillitsrammeverkClaimsParameters": {
            "DontSetPractitionerHprNr": false,
            "CareRelationshipDecisionRefUserSelected": true,
            "PractitionerAuthorizationCode": "LE"
          },
          "DPoPProofParameters": {
            "HtmClaimValue": "GET",
            "HtuClaimValue": "https://localhost:5081/machine-clients/dpop-greetings",
            "PrivateKeyForProofCreation": "",
            "InvalidDPoPProofParameters": 12
          },
          "ApiSpecificClaims": []
        }"#;
        let req = TttTokenRequest::from_json(body).unwrap();
        assert_eq!(req.audience.as_deref(), Some("nhn:some:api"));
        assert_eq!(req.issuer_environment, Some(IssuerEnvironment::Development));
        assert_eq!(
            req.client_claims_parameters_generation,
            Some(ParametersGeneration::GenerateDefaultWithClaimsFromNonEmptyParameterValues)
        );
        let exp = req.expiration_parameters.as_ref().unwrap();
        assert_eq!((exp.seconds(), exp.days()), (Some(600), None));
        assert_eq!(req.header_parameters.as_ref().unwrap().typ, None);
        let dpop = req.dpop_proof_parameters.as_ref().unwrap();
        assert_eq!(
            dpop.invalid_dpop_proof_parameters,
            Some(InvalidDPoPProofParameters::SetAnInvalidSignature)
        );
        assert_eq!(given(&dpop.private_key_for_proof_creation), None);
        let trust = req.tillitsrammeverk_claims_parameters.as_ref().unwrap();
        assert!(trust.decision_ref_user_selected());
        assert_eq!(req.api_specific_claims, Some(vec![]));
    }

    #[test]
    fn test_token_demo_request_with_string_enums() {
        // Shape of HelseID.Samples' TestTokenDemo: camelCase, JsonStringEnumConverter.
        let body = r#"{
          "audience": "nhn:kjernejournal",
          "createDPoPTokenWithDPoPProof": true,
          "createTillitsrammeverkClaims": true,
          "getHprNumberFromHprregisteret": true,
          "setPidPseudonym": true,
          "withoutDefaultClientClaims": true,
          "dPoPProofParameters": {
            "htuClaimValue": "https://innlogging.st1.kjernejournal-test.no/api/session/ping",
            "htmClaimValue": "GET",
            "invalidDPoPProofParameters": "DontSetHtuClaimValue"
          },
          "clientClaimsParameters": {
            "scope": ["nhn:kjernejournal/innlogging", "nhn:kjernejournal/tillitsrammeverk"],
            "clientId": "fake", "orgnrParent": "958935420", "orgnrChild": "894234482"
          },
          "tillitsrammeverkClaimsParameters": {
            "practitionerAuthorizationCode": "AA",
            "practitionerLegalEntityId": "958935420",
            "practitionerLegalEntityName": "Fake entity"
          }
        }"#;
        let req: TttTokenRequest = serde_json::from_str(body).unwrap();
        assert_eq!(
            req.dpop_proof_parameters
                .as_ref()
                .unwrap()
                .invalid_dpop_proof_parameters,
            Some(InvalidDPoPProofParameters::DontSetHtuClaimValue)
        );
        let back: Value = serde_json::to_value(&req).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(body).unwrap());
    }

    #[test]
    fn partial_and_empty_requests_deserialize() {
        assert_eq!(
            TttTokenRequest::from_json("{}").unwrap(),
            TttTokenRequest::default()
        );
        let req = TttTokenRequest::from_json(r#"{"audience":"nhn:a","userClaimsParameters":null}"#)
            .unwrap();
        assert_eq!(req.audience.as_deref(), Some("nhn:a"));
        assert_eq!(req.user_claims_parameters, None);
        assert_eq!(
            serde_json::to_string(&TttTokenRequest::default()).unwrap(),
            "{}"
        );
    }

    #[test]
    fn unknown_top_level_field_is_refused_and_named() {
        let body = r#"{"audience":"nhn:a","audeince":"nhn:b"}"#;
        let err = TttTokenRequest::from_json(body).unwrap_err();
        assert!(matches!(err, TttRequestError::Invalid(_)));
        assert!(
            err.to_string().contains("unknown field `audeince`"),
            "{err}"
        );
        let err = serde_json::from_str::<TttTokenRequest>(body).unwrap_err();
        assert!(err.to_string().contains("audeince"), "{err}");
        // Nested objects tolerate unknown fields, like System.Text.Json.
        assert!(TttTokenRequest::from_json(r#"{"expirationParameters":{"x":1}}"#).is_ok());
    }

    #[test]
    fn duplicate_field_in_different_case_is_refused() {
        let err = TttTokenRequest::from_json(r#"{"audience":"a","Audience":"b"}"#).unwrap_err();
        assert!(
            matches!(err, TttRequestError::DuplicateField { ref field } if field == "audience")
        );
    }

    #[test]
    fn bad_enum_and_typ_values_are_reported() {
        let err = TttTokenRequest::from_json(r#"{"issuerEnvironment":7}"#).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("IssuerEnvironment") && msg.contains("IntTest = 1"),
            "{msg}"
        );
        let err = TttTokenRequest::from_json(r#"{"issuerEnvironment":"prod"}"#).unwrap_err();
        assert!(err.to_string().contains("prod"), "{err}");
        let err =
            TttTokenRequest::from_json(r#"{"headerParameters":{"typ":"dpop+jwt"}}"#).unwrap_err();
        assert!(err.to_string().contains("dpop+jwt"), "{err}");
        assert!(TttTokenRequest::from_json("[]").is_err());
        assert!(matches!(
            TttTokenRequest::from_json("{").unwrap_err(),
            TttRequestError::Json(_)
        ));
        // Names are read case-insensitively, like JsonStringEnumConverter.
        let req = TttTokenRequest::from_json(r#"{"issuerEnvironment":"inttest"}"#).unwrap();
        assert_eq!(req.issuer_environment, Some(IssuerEnvironment::IntTest));
    }

    #[test]
    fn enum_numbers_match_the_csharp_declarations() {
        for (i, v) in InvalidDPoPProofParameters::ALL.iter().enumerate() {
            assert_eq!(v.wire_number(), i64::try_from(i).unwrap());
        }
        assert_eq!(ClientTenancyType::MultiTenant.wire_number(), 0);
        assert_eq!(ClientTenancyType::None.wire_number(), 2);
        assert_eq!(ParametersGeneration::GenerateNone.wire_number(), 0);
        assert_eq!(IssuerEnvironment::Development.wire_number(), 2);
    }

    #[test]
    fn responses_round_trip() {
        let ok = TttResponse::success("eyJ.a.b", Some("eyJ.c.d".to_owned()));
        let json = serde_json::to_value(&ok).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "isError": false,
                "successResponse": { "accessTokenJwt": "eyJ.a.b", "dPoPProof": "eyJ.c.d" },
                "errorResponse": null
            })
        );
        assert_eq!(serde_json::from_value::<TttResponse>(json).unwrap(), ok);

        let bearer = TttResponse::success("eyJ.a.b", None);
        let json = serde_json::to_value(&bearer).unwrap();
        assert_eq!(json["successResponse"]["dPoPProof"], Value::Null);

        let err = TttResponse::error("Audience is not allowed");
        let json = serde_json::to_string(&err).unwrap();
        assert_eq!(
            json,
            r#"{"isError":true,"successResponse":null,"errorResponse":{"errorMessage":"Audience is not allowed"}}"#
        );
        assert_eq!(serde_json::from_str::<TttResponse>(&json).unwrap(), err);

        // A real-looking response as the C# model serialises it (both sub-objects present).
        let real = r#"{"isError":false,"successResponse":{"accessTokenJwt":"eyJ.a.b","dPoPProof":null},"errorResponse":{"errorMessage":""}}"#;
        let parsed: TttResponse = serde_json::from_str(real).unwrap();
        assert_eq!(parsed.success_response.unwrap().access_token_jwt, "eyJ.a.b");
    }
}
