//! The two languages of the login pages: Norwegian bokmål (the default, as on HelseID's and
//! ID-porten's pages) and English. The authorize request chooses with `ui_locales` (OIDC Core
//! §3.1.2.1); the page's toggle link and every form carry `lang`, so the choice survives the
//! search, the language switch and a refused submission.

use serde::Serialize;

/// A page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    Nb,
    En,
}

impl Locale {
    /// Reads a `lang` value or one `ui_locales` tag (`nb`, `nn`, `no`, `nb-NO`, `en`, `en-GB`).
    pub fn parse(tag: &str) -> Option<Locale> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "nb" | "nn" | "no" => Some(Locale::Nb),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// The first language of a space-separated `ui_locales` list the pages speak.
    pub fn from_ui_locales(list: &str) -> Option<Locale> {
        list.split_whitespace().find_map(Locale::parse)
    }

    /// The `lang` attribute and parameter value.
    pub fn code(self) -> &'static str {
        match self {
            Locale::Nb => "nb",
            Locale::En => "en",
        }
    }

    /// The language the toggle link switches to.
    pub fn other(self) -> Locale {
        match self {
            Locale::Nb => Locale::En,
            Locale::En => Locale::Nb,
        }
    }
}

/// A text in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Text {
    pub nb: &'static str,
    pub en: &'static str,
}

impl Text {
    pub const fn new(nb: &'static str, en: &'static str) -> Text {
        Text { nb, en }
    }

    pub fn get(self, locale: Locale) -> &'static str {
        match locale {
            Locale::Nb => self.nb,
            Locale::En => self.en,
        }
    }
}

/// The words every login page shares, whatever the IdP.
#[derive(Debug)]
pub struct Strings {
    pub toggle: &'static str,
    pub test_environment: &'static str,
    pub method_level: &'static str,
    pub persons_heading: &'static str,
    pub persons_hint: &'static str,
    pub health_personnel: &'static str,
    pub hpr: &'static str,
    pub search_label: &'static str,
    pub search_button: &'static str,
    pub search_none: &'static str,
    pub pid_label: &'static str,
    pub pid_hint: &'static str,
    pub hinted: &'static str,
    pub cancel: &'static str,
    pub error_heading: &'static str,
    pub error_back: &'static str,
}

const NB: Strings = Strings {
    toggle: "English",
    test_environment: "Testmiljø: alle personer er syntetiske (SyntPop/Test-Norge).",
    method_level: "sikkerhetsnivå",
    persons_heading: "Velg testperson",
    persons_hint: "Helsepersonell først, med HPR-nummer og yrke.",
    health_personnel: "Helsepersonell",
    hpr: "HPR-nr.",
    search_label: "Søk etter navn eller fødselsnummer",
    search_button: "Søk",
    search_none: "Ingen personer passer til søket.",
    pid_label: "Fødselsnummer eller D-nummer",
    pid_hint: "11 siffer. Personen må finnes i folkeregisteret (testpopulasjonen).",
    hinted: "Foreslått",
    cancel: "Avbryt",
    error_heading: "Innloggingen kan ikke fortsette",
    error_back: "Gå tilbake til tjenesten du kom fra og start innloggingen på nytt.",
};

const EN: Strings = Strings {
    toggle: "Norsk",
    test_environment: "Test environment: every person is synthetic (SyntPop/Test-Norge).",
    method_level: "security level",
    persons_heading: "Choose a test person",
    persons_hint: "Health personnel first, with HPR number and profession.",
    health_personnel: "Health personnel",
    hpr: "HPR no.",
    search_label: "Search by name or national identity number",
    search_button: "Search",
    search_none: "No person matches the search.",
    pid_label: "National identity number or D-number",
    pid_hint: "11 digits. The person must be in the population register (the test population).",
    hinted: "Suggested",
    cancel: "Cancel",
    error_heading: "The login cannot continue",
    error_back: "Go back to the service you came from and start the login again.",
};

pub fn strings(locale: Locale) -> &'static Strings {
    match locale {
        Locale::Nb => &NB,
        Locale::En => &EN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ui_locales_and_lang() {
        assert_eq!(Locale::from_ui_locales("de en-GB nb"), Some(Locale::En));
        assert_eq!(Locale::from_ui_locales("nb-NO en"), Some(Locale::Nb));
        assert_eq!(Locale::from_ui_locales("sv de"), None);
        assert_eq!(Locale::parse("NO"), Some(Locale::Nb));
        assert_eq!(Locale::Nb.other(), Locale::En);
    }
}
