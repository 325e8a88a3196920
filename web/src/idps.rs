//! The identity providers as forms offer them: a choice list, and the IdP and level a form
//! chose (the demo's login and SyntPop's "log in as").

use mock_sts::federation::Upstream;
use protocol::form::Params;

use crate::Web;
use crate::layout::Locale;

/// One IdP in a `<select>`: its path name and its name in the page's language.
#[derive(Debug, Clone)]
pub struct IdpChoice {
    pub name: String,
    pub label: String,
}

/// The testbed's IdPs to choose from.
pub fn choices(web: &Web, l: Locale) -> Vec<IdpChoice> {
    web.sts
        .federation
        .as_ref()
        .map(|f| {
            f.upstreams
                .iter()
                .map(|u| IdpChoice {
                    name: u.name.clone(),
                    label: l.t(&u.display_nb, &u.display_en).to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The IdP the form's `idp` field names.
pub fn chosen(web: &Web, form: &Params) -> Option<Upstream> {
    web.sts
        .federation
        .as_ref()
        .and_then(|f| f.find(form.get("idp").unwrap_or_default()))
        .cloned()
}

/// The form's security level: 3 when it says so, else 4.
pub fn level(form: &Params) -> u8 {
    if form.get("level") == Some("3") { 3 } else { 4 }
}
