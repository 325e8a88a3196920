//! Health personnel as Helsepersonellregisteret (HPR) holds them: an HPR number and one or
//! more approvals (godkjenninger), each a profession from code system 9060 with an
//! authorisation type (7704), a validity period, requisition rights and specialities (7426).
//!
//! [`Hpr::hpr_details_claim`] renders the `helseid://claims/hpr/hpr_details` object that
//! HelseID's userinfo endpoint returns (`shared/reference/helseid.md` §5.2).

use serde::Serialize;
use serde_json::{Value, json};

use crate::codes::{self, Coded};
use crate::date::Date;
use crate::organisation::Organisation;
use crate::orgnr::OrgNr;
use crate::rng::Draw;

/// The range synthetic HPR numbers come from: 9 digits beginning with 9, far above the
/// sequentially assigned real numbers (7–9 digits, no check digit).
pub const HPR_BASE: u32 = 900_000_000;
pub const HPR_SPAN: u64 = 100_000_000;

/// One approval (godkjenning) in HPR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    pub profession: Coded,
    pub authorization: Coded,
    pub valid_from: Date,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<Date>,
    pub requisition_rights: Vec<Coded>,
    pub specialities: Vec<Coded>,
}

/// A GP list (fastlegeliste) a practitioner holds as its main doctor (role LPFL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpListRole {
    pub list: u64,
    pub role: &'static str,
    pub office: OrgNr,
    pub office_name: String,
    pub office_parent: Option<OrgNr>,
    pub max_patients: u32,
    /// HER-id of the doctor in this role (a person-in-role communication party).
    pub her_id: u32,
}

/// A person's HPR record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hpr {
    pub hpr_number: u32,
    pub approvals: Vec<Approval>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gp_list: Option<GpListRole>,
}

impl Hpr {
    /// The `helseid://claims/hpr/hpr_details` value, shaped as HelseID issues it: approvals
    /// with `profession`, `authorization {value, description}`, `requisition_rights[]` and
    /// `specialities[]`, and `hpr_number` as a JSON number.
    pub fn hpr_details_claim(&self, on: Date) -> Value {
        let approvals: Vec<Value> = self
            .approvals
            .iter()
            .filter(|a| a.valid_from <= on && a.valid_to.is_none_or(|to| on <= to))
            .map(|a| {
                json!({
                    "profession": a.profession.value,
                    "authorization": a.authorization,
                    "requisition_rights": a.requisition_rights,
                    "specialities": a.specialities,
                })
            })
            .collect();
        json!({ "approvals": approvals, "hpr_number": self.hpr_number })
    }

    /// Profession codes of the approvals valid on `on`.
    pub fn professions_on(&self, on: Date) -> impl Iterator<Item = &'static str> + '_ {
        self.approvals
            .iter()
            .filter(move |a| a.valid_from <= on && a.valid_to.is_none_or(|to| on <= to))
            .map(|a| a.profession.value)
    }
}

/// Draws a practitioner's approvals. `gp` forces a GP: a doctor with an authorisation
/// and general practice as speciality.
pub(crate) fn approvals(draw: &mut Draw, birth: Date, census: Date, gp: bool) -> Vec<Approval> {
    let age = birth.years_until(census);
    let first = if gp {
        "LE"
    } else {
        match *draw.weighted(codes::PROFESSION_WEIGHTS) {
            // Six-year studies: nobody under 26 is a doctor, dentist or psychologist yet.
            "LE" | "TL" | "PS" if age < 26 => "SP",
            code => code,
        }
    };
    let mut out = vec![approval(draw, first, birth, census, age, gp)];
    // A few hold two approvals (a health worker who became a nurse, say).
    if !gp && age >= 30 && draw.chance(50) {
        let second = *draw.weighted(codes::PROFESSION_WEIGHTS);
        if second != first {
            out.push(approval(draw, second, birth, census, age, false));
        }
    }
    out
}

fn approval(
    draw: &mut Draw,
    code: &str,
    birth: Date,
    census: Date,
    age: i32,
    gp: bool,
) -> Approval {
    let profession = codes::profession(code).unwrap_or(codes::Coded {
        value: "XX",
        description: "Ukjent/uspesifisert",
    });
    let doctor = code == "LE";
    // Approval starts at the end of studies: 21–27 for most, 24–30 for doctors.
    let start_age = if doctor {
        draw.between(24, 30)
    } else {
        draw.between(21, 27)
    } as i32;
    // At least a year before the census: an approval is never dated in the future.
    let start_age = start_age.min(age - 1);
    let valid_from = birth
        .plus_days(i64::from(start_age) * 365 + draw.between(0, 364))
        .min(census);
    let (authorization, valid_to) = if doctor && age <= 27 && !gp {
        (codes::LIS1_LICENSE, Some(valid_from.plus_days(547)))
    } else if !doctor && age <= 24 && draw.chance(200) {
        (codes::STUDENT_LICENSE, Some(valid_from.plus_days(365)))
    } else {
        match draw.below(1000) {
            _ if gp => (codes::AUTHORIZATION, None),
            0..=959 => (codes::AUTHORIZATION, None),
            960..=984 => (
                codes::LICENSE,
                Some(valid_from.plus_days(draw.between(365, 5 * 365))),
            ),
            985..=994 => (codes::AUTHORIZATION_WITH_CONDITIONS, None),
            _ => (
                codes::TEMPORARY_SERVICE,
                Some(valid_from.plus_days(draw.between(30, 365))),
            ),
        }
    };
    let requisition_rights = if doctor || code == "TL" {
        vec![codes::FULL_REQUISITION_RIGHTS]
    } else {
        Vec::new()
    };
    let specialities = if gp {
        vec![codes::GENERAL_PRACTICE]
    } else if doctor && age >= 35 {
        match draw.below(10) {
            0..=4 => vec![codes::GENERAL_PRACTICE],
            5..=6 => vec![codes::ORTHOPAEDIC_SURGERY],
            _ => Vec::new(),
        }
    } else {
        Vec::new()
    };
    Approval {
        profession,
        authorization,
        valid_from,
        valid_to,
        requisition_rights,
        specialities,
    }
}

/// The GP-list role record for the doctor holding `list` at `office`.
pub(crate) fn gp_list_role(
    list: u64,
    office: &Organisation,
    her_id: u32,
    max_patients: u32,
) -> GpListRole {
    GpListRole {
        list,
        role: "LPFL",
        office: office.orgnr,
        office_name: office.name.clone(),
        office_parent: office.parent,
        max_patients,
        her_id,
    }
}
