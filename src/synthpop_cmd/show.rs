//! `synthpop show`: one person in full, as a SyntPop user would look them up.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::process::ExitCode;

use synthpop::person::AddressProtection;
use synthpop::{Person, Population, census_date};

use super::{CmdError, describe};

/// `from` says where `seed` and `count` came from, for the message when the person is not
/// there.
pub(crate) fn show(
    pid: &str,
    seed: u64,
    count: u64,
    from: &str,
    json: bool,
) -> Result<ExitCode, CmdError> {
    let pid = pid.trim();
    let pop = Population::new(seed, count)?;
    let person = if pid.len() == 11 {
        synthpop::nin::validate(pid)
            .map_err(|e| CmdError::Invalid(format!("{pid} is not a valid identity number: {e}")))?;
        pop.by_pid(pid)
    } else if let Ok(hpr) = pid.parse::<u32>() {
        pop.by_hpr(hpr)
    } else {
        synthpop::nin::validate(pid)
            .map_err(|e| CmdError::Invalid(format!("{pid} is not a valid identity number: {e}")))?;
        None
    };
    let person = person.ok_or_else(|| {
        CmdError::NotFound(format!(
            "nobody with number {pid} in the population of seed {seed} and {count} persons ({from}; give the --seed and --count it was generated with)"
        ))
    })?;
    let text = if json {
        serde_json::to_string_pretty(&person).unwrap_or_default() + "\n"
    } else {
        render(&pop, &person)
    };
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(CmdError::Write {
            path: "standard output".into(),
            source: e,
        }),
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn render(pop: &Population, p: &Person) -> String {
    let mut s = String::new();
    let census = census_date();
    let name_of = |pid: &synthpop::nin::Nin| {
        pop.by_pid(pid.as_str())
            .map(|r| format!("{pid} {}", r.name))
            .unwrap_or_else(|| pid.to_string())
    };
    let _ = writeln!(s, "{}", p.name);
    let facts = synthpop::nin::validate(p.pid.as_str())
        .map(|f| describe(&f))
        .unwrap_or_default();
    let _ = writeln!(s, "  pid            {} ({facts})", p.pid);
    let _ = writeln!(s, "  index          {} (seed {})", p.index, pop.seed());
    let _ = writeln!(
        s,
        "  born           {}, {} years at the end of {}, {}",
        p.birth_date,
        p.age_on(census),
        synthpop::CENSUS_YEAR,
        p.sex.as_str()
    );
    let _ = writeln!(
        s,
        "  civil status   {}",
        super::output_wire(&p.civil_status)
    );
    let protection = match p.address_protection {
        AddressProtection::Ugradert => String::new(),
        other => format!(" [{}]", super::output_wire(&other)),
    };
    match &p.address {
        Some(a) => {
            let _ = writeln!(
                s,
                "  address        {} ({} {}){protection}",
                a.one_line(),
                a.municipality_name,
                a.municipality_number
            );
        }
        None => {
            let _ = writeln!(s, "  address        none registered{protection}");
        }
    }
    let k = &p.krr;
    let _ = writeln!(
        s,
        "  krr            {}{}, e-mail {}, mobile {}, language {}",
        super::output_wire(&k.status),
        if k.reserved { ", reserved" } else { "" },
        k.email.as_deref().unwrap_or("-"),
        k.mobile.as_deref().unwrap_or("-"),
        k.language
    );
    match &p.gp {
        Some(gp) => {
            let _ = writeln!(
                s,
                "  fastlege       {} (HPR {}), list {} at {} ({})",
                gp.name, gp.hpr_number, gp.list, gp.office_name, gp.office
            );
        }
        None => {
            let _ = writeln!(s, "  fastlege       none");
        }
    }
    let r = &p.relations;
    for (label, rel) in [
        ("mother", r.mother),
        ("father", r.father),
        ("spouse", r.spouse),
    ] {
        if let Some(pid) = rel {
            let _ = writeln!(s, "  {label:<14} {}", name_of(&pid));
        }
    }
    for (i, child) in r.children.iter().enumerate() {
        let label = if i == 0 { "children" } else { "" };
        let _ = writeln!(s, "  {label:<14} {}", name_of(child));
    }
    if let Some(h) = &p.hpr {
        let _ = writeln!(s, "  hpr number     {}", h.hpr_number);
        for a in &h.approvals {
            let mut line = format!(
                "{} {}, {} ({}) from {}",
                a.profession.value,
                a.profession.description,
                a.authorization.description,
                a.authorization.value,
                a.valid_from
            );
            if let Some(to) = a.valid_to {
                let _ = write!(line, " to {to}");
            }
            for c in a.requisition_rights.iter().chain(&a.specialities) {
                let _ = write!(line, "; {}", c.description);
            }
            let _ = writeln!(s, "    approval     {line}");
        }
        if let Some(l) = &h.gp_list {
            let _ = writeln!(
                s,
                "    gp list      {} ({}) at {} ({}), up to {} patients, HER-id {}",
                l.list, l.role, l.office_name, l.office, l.max_patients, l.her_id
            );
        }
    }
    let _ = writeln!(s, "  tags           {}", p.tags.join(", "));
    s
}
