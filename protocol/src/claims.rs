//! Claim and scope names HelseID uses (reference §5.3, discovery `claims_supported`).

pub const CLIENT_NAME: &str = "helseid://claims/client/client_name";
/// The discovery document's spelling; the TTT README writes `.../client/claims/client_tenancy`.
pub const CLIENT_TENANCY: &str = "helseid://claims/client/client_tenancy";
pub const ORGNR_PARENT: &str = "helseid://claims/client/claims/orgnr_parent";
pub const ORGNR_CHILD: &str = "helseid://claims/client/claims/orgnr_child";
pub const ORGNR_SUPPLIER: &str = "helseid://claims/client/claims/orgnr_supplier";
pub const CLIENT_AMR: &str = "client_amr";
/// HelseID's own client-AMR claim (discovery `claims_supported`; TTT `--helseidClientAmr`).
pub const HELSEID_CLIENT_AMR: &str = "helseid://claims/client/amr";
/// The tenancy claim as the TTT README names it (the discovery document writes
/// [`CLIENT_TENANCY`]; which one HelseID issues is UNCONFIRMED).
pub const CLIENT_TENANCY_TTT: &str = "helseid://claims/client/claims/client_tenancy";
pub const SFM_JOURNAL_ID: &str = "nhn:sfm:journal_id";
pub const TILLITSRAMMEVERK: &str = "nhn:tillitsrammeverk:parameters";

pub const PID: &str = "helseid://claims/identity/pid";
pub const PID_PSEUDONYM: &str = "helseid://claims/identity/pid_pseudonym";
pub const NETWORK: &str = "helseid://claims/identity/network";
pub const SECURITY_LEVEL: &str = "helseid://claims/identity/security_level";
pub const ASSURANCE_LEVEL: &str = "helseid://claims/identity/assurance_level";
pub const HPR_NUMBER: &str = "helseid://claims/hpr/hpr_number";

/// The self-service API's audience and scope.
pub const SELVBETJENING_AUDIENCE: &str = "nhn:selvbetjening";
pub const SELVBETJENING_SCOPE: &str = "nhn:selvbetjening/client";

/// The resource (audience) a scope belongs to: the text before the first `/`
/// (Selvbetjening.Samples `GetResources()`).
pub fn resource_of(scope: &str) -> Option<&str> {
    scope
        .split_once('/')
        .map(|(resource, _)| resource)
        .filter(|r| !r.is_empty())
}
