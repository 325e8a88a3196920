//! The identity providers the testbed bundles, as HelseID offers them (reference §9 and seed
//! 002): its own TestIDP, ID-porten (MinID and BankID), BankID, Buypass, Commfides, and one
//! health organisation's own employer IdP (HelseID's FAQ: "Noen organisasjoner er selv en
//! identitetstilbyder"; most of them cannot give level 4, so their users must step up).
//!
//! Which values are confirmed and which are the testbed's choice is recorded per field here
//! and in docs/mock-idp.md.

use crate::descriptor::{IdpDescriptor, LoginMethod, Look, SecurityLevel};
use crate::locale::Text;

const SYSTEM_FONT: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

// HelseID's TestIDP lets the tester pick the level (legacy web form field `SecurityLevel`,
// KJ's `test_security_level`); its `amr` is UNCONFIRMED.
const TESTIDP_METHODS: &[LoginMethod] = &[
    LoginMethod {
        id: "level4",
        label: Text::new("Sikkerhetsnivå 4 (høyt)", "Security level 4 (high)"),
        level: SecurityLevel::Level4,
        acr: "Level4",
        amr: &["testidp"],
        selectors: &[],
    },
    LoginMethod {
        id: "level3",
        label: Text::new(
            "Sikkerhetsnivå 3 (betydelig)",
            "Security level 3 (substantial)",
        ),
        level: SecurityLevel::Level3,
        acr: "Level3",
        amr: &["testidp"],
        selectors: &[],
    },
];

// ID-porten's own acr values since 2023 are `idporten-loa-substantial`/`-high`; the `amr`
// values are the ones HelseID's tokens and its ID-porten preselectors use (`bankid`,
// `amr:minid`, reference §4.8 and §9).
const IDPORTEN_METHODS: &[LoginMethod] = &[
    LoginMethod {
        id: "minid",
        label: Text::new("MinID", "MinID"),
        level: SecurityLevel::Level3,
        acr: "idporten-loa-substantial",
        amr: &["minid"],
        selectors: &["amr:minid"],
    },
    LoginMethod {
        id: "bankid",
        label: Text::new("BankID", "BankID"),
        level: SecurityLevel::Level4,
        acr: "idporten-loa-high",
        amr: &["bankid"],
        selectors: &["amr:bankid", "amr:bankidmobil"],
    },
];

const BANKID_METHODS: &[LoginMethod] = &[LoginMethod {
    id: "bankid",
    label: Text::new("BankID", "BankID"),
    level: SecurityLevel::Level4,
    acr: "Level4",
    amr: &["bankid"],
    selectors: &[],
}];

// `bp:amr:sc` is the selector HelseID passes to Buypass for its smart card (reference §4.8);
// that Buypass also returns it as `amr` is the testbed's assumption.
const BUYPASS_METHODS: &[LoginMethod] = &[LoginMethod {
    id: "smartcard",
    label: Text::new("Buypass ID på smartkort", "Buypass ID smart card"),
    level: SecurityLevel::Level4,
    acr: "Level4",
    amr: &["bp:amr:sc"],
    selectors: &["bp:amr:sc"],
}];

const COMMFIDES_METHODS: &[LoginMethod] = &[LoginMethod {
    id: "commfides",
    label: Text::new("Commfides e-ID", "Commfides e-ID"),
    level: SecurityLevel::Level4,
    acr: "Level4",
    amr: &["commfides"],
    selectors: &[],
}];

// A Windows/ADFS work account: password, level 3 (HelseID assesses Helse Midt-Norge RHF's
// identities as "significant", reference §9).
const EMPLOYER_METHODS: &[LoginMethod] = &[LoginMethod {
    id: "pwd",
    label: Text::new(
        "Jobbkonto (brukernavn og passord)",
        "Work account (username and password)",
    ),
    level: SecurityLevel::Level3,
    acr: "Level3",
    amr: &["pwd"],
    selectors: &[],
}];

// TestIDP is preselected with `idp:testidpnew-oidc` in HelseID's 2025 samples and with
// `idp:testidp-oidc` in older material; ID-porten was once `id-porten-oidc` (reference §9,
// §12.4). Both names of each select the same IdP.

/// The bundled identity providers, in the order HelseID's IdP menu would list them.
pub fn bundled() -> Vec<IdpDescriptor> {
    vec![
        IdpDescriptor {
            name: "testidp",
            scheme: "testidp-oidc",
            scheme_aliases: &["testidpnew-oidc"],
            scheme_confirmed: true,
            display_name: Text::new("HelseID TestIDP", "HelseID TestIDP"),
            methods: TESTIDP_METHODS,
            look: Look {
                brand: "HelseID TestIDP",
                accent: "#3b4a5a",
                on_accent: "#ffffff",
                background: "#fdf6e3",
                font: "ui-monospace, 'DejaVu Sans Mono', Menlo, monospace",
                heading: Text::new("Logg inn med TestIDP", "Log in with TestIDP"),
                intro: Text::new(
                    "Simulert innlogging for HelseIDs testmiljø. Velg sikkerhetsnivå og en testperson.",
                    "Simulated login for HelseID's test environment. Choose a security level and a test person.",
                ),
                method_heading: Text::new("Sikkerhetsnivå", "Security level"),
                submit: Text::new("Logg inn", "Log in"),
            },
            test_automation: true,
        },
        IdpDescriptor {
            name: "idporten",
            scheme: "idporten-oidc",
            scheme_aliases: &["id-porten-oidc"],
            scheme_confirmed: true,
            display_name: Text::new("ID-porten", "ID-porten"),
            methods: IDPORTEN_METHODS,
            look: Look {
                brand: "ID-porten",
                accent: "#0062ba",
                on_accent: "#ffffff",
                background: "#f1f5f9",
                font: SYSTEM_FONT,
                heading: Text::new("Velg elektronisk ID", "Choose your electronic ID"),
                intro: Text::new(
                    "Du logger inn på HelseID via ID-porten, felles innlogging til offentlige tjenester.",
                    "You are logging in to HelseID through ID-porten, the common login to public services.",
                ),
                method_heading: Text::new("Innloggingsmetode", "Login method"),
                submit: Text::new("Neste", "Next"),
            },
            test_automation: false,
        },
        IdpDescriptor {
            name: "bankid",
            scheme: "bankid-oidc",
            scheme_aliases: &[],
            scheme_confirmed: false,
            display_name: Text::new("BankID", "BankID"),
            methods: BANKID_METHODS,
            look: Look {
                brand: "BankID",
                accent: "#39134c",
                on_accent: "#ffffff",
                background: "#f4eff7",
                font: SYSTEM_FONT,
                heading: Text::new("Logg inn med BankID", "Log in with BankID"),
                intro: Text::new(
                    "Test-BankID: velg hvem du logger inn som. Ekte BankID ber deg bekrefte i appen.",
                    "Test BankID: choose who you log in as. Real BankID asks you to confirm in the app.",
                ),
                method_heading: Text::new("Metode", "Method"),
                submit: Text::new("Bekreft", "Confirm"),
            },
            test_automation: false,
        },
        IdpDescriptor {
            name: "buypass",
            scheme: "buypass-oidc",
            scheme_aliases: &[],
            scheme_confirmed: true,
            display_name: Text::new("Buypass ID", "Buypass ID"),
            methods: BUYPASS_METHODS,
            look: Look {
                brand: "Buypass ID",
                accent: "#1a1a1a",
                on_accent: "#ffd200",
                background: "#fffbe6",
                font: "Arial, Helvetica, sans-serif",
                heading: Text::new(
                    "Logg inn med Buypass ID på smartkort",
                    "Log in with Buypass ID smart card",
                ),
                intro: Text::new(
                    "Sett inn smartkortet ditt. I testmiljøet velger du kortinnehaveren fra listen.",
                    "Insert your smart card. In the test environment you choose the card holder from the list.",
                ),
                method_heading: Text::new("Kort", "Card"),
                submit: Text::new("Logg inn med kortet", "Log in with the card"),
            },
            test_automation: false,
        },
        IdpDescriptor {
            name: "commfides",
            scheme: "commfides-oidc",
            scheme_aliases: &[],
            scheme_confirmed: false,
            display_name: Text::new("Commfides e-ID", "Commfides e-ID"),
            methods: COMMFIDES_METHODS,
            look: Look {
                brand: "Commfides",
                accent: "#00747a",
                on_accent: "#ffffff",
                background: "#eef7f7",
                font: "Georgia, 'Times New Roman', serif",
                heading: Text::new("Logg inn med Commfides e-ID", "Log in with Commfides e-ID"),
                intro: Text::new(
                    "Commfides e-ID på sikkerhetsnivå 4. Velg testpersonen som eier e-ID-en.",
                    "Commfides e-ID at security level 4. Choose the test person who holds the e-ID.",
                ),
                method_heading: Text::new("e-ID", "e-ID"),
                submit: Text::new("Logg inn", "Log in"),
            },
            test_automation: false,
        },
        IdpDescriptor {
            name: "jobbkonto",
            scheme: "adfs-helse-testfjord-oidc",
            scheme_aliases: &[],
            scheme_confirmed: false,
            display_name: Text::new(
                "Helse Testfjord HF – jobbkonto",
                "Helse Testfjord HF – work account",
            ),
            methods: EMPLOYER_METHODS,
            look: Look {
                brand: "Helse Testfjord HF",
                accent: "#0067b8",
                on_accent: "#ffffff",
                background: "#f2f2f2",
                font: "'Segoe UI', 'Segoe UI Web', Tahoma, Arial, sans-serif",
                heading: Text::new(
                    "Logg inn med din jobbkonto",
                    "Sign in with your work account",
                ),
                intro: Text::new(
                    "Bruk brukerkontoen du har hos arbeidsgiveren. I testmiljøet velger du den ansatte fra listen, uten passord.",
                    "Use the account your employer gave you. In the test environment you choose the employee from the list, without a password.",
                ),
                method_heading: Text::new("Konto", "Account"),
                submit: Text::new("Logg på", "Sign in"),
            },
            test_automation: false,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_schemes_and_method_ids_are_unique_and_path_safe() {
        let idps = bundled();
        for (i, a) in idps.iter().enumerate() {
            assert!(crate::valid_name(a.name), "{}", a.name);
            assert!(!a.methods.is_empty());
            for b in &idps[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.scheme, b.scheme);
            }
            for (j, m) in a.methods.iter().enumerate() {
                assert!(!m.amr.is_empty());
                assert!(a.methods[j + 1..].iter().all(|n| n.id != m.id));
            }
        }
    }

    #[test]
    fn acr_values_narrow_the_methods() {
        let idps = bundled();
        let idporten = idps.iter().find(|i| i.name == "idporten").unwrap();
        let ids = |acr: Option<&str>| -> Vec<&str> {
            idporten.methods_for(acr).iter().map(|m| m.id).collect()
        };
        assert_eq!(ids(None), ["minid", "bankid"]);
        assert_eq!(ids(Some("Level4")), ["bankid"]);
        assert_eq!(ids(Some("idporten-loa-substantial")), ["minid", "bankid"]);
        assert_eq!(ids(Some("amr:minid Level4")), ["minid"]);
        assert_eq!(ids(Some("something-else")), ["minid", "bankid"]);
        let employer = idps.iter().find(|i| i.name == "jobbkonto").unwrap();
        assert_eq!(employer.methods_for(Some("Level4")).len(), 1);
        assert_eq!(employer.levels(), [SecurityLevel::Level3]);
    }
}
