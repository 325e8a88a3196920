//! `helseid-testbed synthpop …`: generate, validate and show synthetic persons.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use synthpop::nin::{self, Birth, NinFacts};
use synthpop::{MAX_POPULATION, Population, census_date};
use thiserror::Error;

mod output;
mod show;

pub(crate) use output::{Format, RecordKind};

#[derive(Debug, Args)]
pub(crate) struct SynthpopArgs {
    #[command(subcommand)]
    command: SynthpopCommand,
}

#[derive(Debug, Subcommand)]
enum SynthpopCommand {
    /// Write a population (or its practitioners or organisations), streaming.
    ///
    /// The population is a pure function of (--seed, --count, generator version): the same
    /// arguments give the same bytes on every machine. --kind selects which records of that
    /// population are written.
    Generate(GenerateArgs),
    /// Check identity numbers (11 digits) and organisation numbers (9 digits).
    ///
    /// Prints what each number is, or exactly why it is invalid; exits 1 if any is invalid.
    Validate(ValidateArgs),
    /// Print one person, with relations, fastlege and HPR data.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// Seed of the population.
    #[arg(long, default_value_t = synthpop::DEFAULT_SEED)]
    seed: u64,
    /// Number of persons in the population (1 to 2000000).
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = parse_count)]
    count: u64,
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
    #[arg(long, value_enum, default_value_t = RecordKind::Person)]
    kind: RecordKind,
    /// Write to FILE instead of standard output. The file appears only when complete.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// Numbers to check.
    #[arg(required = true, value_name = "NUMBER", allow_hyphen_values = true)]
    numbers: Vec<String>,
    /// Print one JSON object per number.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// Fødselsnummer or D-number of the person (or an HPR number).
    #[arg(value_name = "PID")]
    pid: String,
    /// Seed of the population the person belongs to (default: the one `up` seeded the data
    /// directory with, else the seed `up` uses).
    #[arg(long)]
    seed: Option<u64>,
    /// Size of that population (default: the one `up` seeded the data directory with, else
    /// the size `up` uses).
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = parse_count)]
    count: Option<u64>,
    /// The data directory of `up` whose population to look in (default: .testbed when it
    /// exists).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Print the person as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_count(s: &str) -> Result<u64, String> {
    let bad = || format!("the count must be a whole number from 1 to {MAX_POPULATION}, got {s:?}");
    let n: u64 = s.trim().parse().map_err(|_| bad())?;
    if n == 0 || n > MAX_POPULATION {
        return Err(bad());
    }
    Ok(n)
}

/// A failure of a synthpop command, with the exit code it maps to.
#[derive(Debug, Error)]
pub(crate) enum CmdError {
    #[error(transparent)]
    Population(#[from] synthpop::PopulationError),
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: io::Error },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    DataDir(String),
}

impl CmdError {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CmdError::NotFound(_) | CmdError::Invalid(_) => 1,
            CmdError::Population(_) | CmdError::Write { .. } | CmdError::DataDir(_) => 2,
        }
    }
}

pub(crate) fn run(args: SynthpopArgs) -> Result<ExitCode, CmdError> {
    match args.command {
        SynthpopCommand::Generate(a) => {
            let pop = Population::new(a.seed, a.count)?;
            output::generate(&pop, a.kind, a.format, a.out.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        SynthpopCommand::Validate(a) => Ok(validate(&a.numbers, a.json)),
        SynthpopCommand::Show(a) => {
            let (seed, count, from) = show_population(&a)?;
            show::show(&a.pid, seed, count, &from, a.json)
        }
    }
}

/// The population `show` looks in, and where its seed and size came from: the arguments,
/// else what `up` recorded in the data directory, else `up`'s defaults.
fn show_population(a: &ShowArgs) -> Result<(u64, u64, String), CmdError> {
    let defaults = mock_sts::seed::SeedOptions::default();
    let recorded = match (a.seed, a.count) {
        (Some(_), Some(_)) => None,
        _ => recorded_population(a.data_dir.as_deref())?,
    };
    let from = match (&recorded, a.seed.is_some() && a.count.is_some()) {
        (_, true) => "as given".to_owned(),
        (Some((_, dir)), false) => format!("as `up` seeded {}", dir.display()),
        (None, false) => "the defaults of `up`".to_owned(),
    };
    let base = recorded.map_or(defaults, |(o, _)| o);
    Ok((
        a.seed.unwrap_or(base.seed),
        a.count.unwrap_or(base.population),
        from,
    ))
}

/// The seed and size `up` recorded in `dir` (default .testbed, when it has been used).
fn recorded_population(
    dir: Option<&std::path::Path>,
) -> Result<Option<(mock_sts::seed::SeedOptions, PathBuf)>, CmdError> {
    let (dir, explicit) = match dir {
        Some(d) => (d.to_path_buf(), true),
        None => (PathBuf::from(".testbed"), false),
    };
    if explicit {
        crate::hints::existing_data_dir(&dir).map_err(CmdError::DataDir)?;
    } else if !dir.join(mock_sts::store::DB_FILE).is_file() {
        return Ok(None);
    }
    let store = mock_sts::store::Store::open(&dir)
        .map_err(|e| CmdError::DataDir(format!("{}: {e}", dir.display())))?;
    let options = mock_sts::seed::recorded(&store)
        .map_err(|e| CmdError::DataDir(format!("{}: {e}", dir.display())))?;
    Ok(options.map(|o| (o, dir)))
}

/// One line per number; exit 1 if any is invalid.
fn validate(numbers: &[String], json: bool) -> ExitCode {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut all_valid = true;
    for raw in numbers {
        let number = raw.trim();
        let verdict = if number.chars().count() == 9 {
            synthpop::orgnr::validate(number).map(|o| {
                let range = if o.is_test_norge() {
                    "Test-Norge synthetic range (310-315)"
                } else {
                    "outside Test-Norge's synthetic range"
                };
                (
                    format!("organisation number, {range}"),
                    serde_json::json!({"kind": "organisation-number", "test_norge": o.is_test_norge()}),
                )
            })
            .map_err(|e| e.to_string())
        } else {
            nin::validate(number)
                .map(|f| (describe(&f), serde_json::to_value(&f).unwrap_or_default()))
                .map_err(|e| e.to_string())
        };
        all_valid &= verdict.is_ok();
        let line = match (&verdict, json) {
            (Ok((_, facts)), true) => {
                serde_json::json!({"number": number, "valid": true, "facts": facts}).to_string()
            }
            (Err(reason), true) => {
                serde_json::json!({"number": number, "valid": false, "reason": reason}).to_string()
            }
            (Ok((text, _)), false) => format!("{number}  valid    {text}"),
            (Err(reason), false) => format!("{number}  invalid  {reason}"),
        };
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The wire string of a serde enum value ("gift", "AKTIV").
pub(crate) fn output_wire<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// "fødselsnummer, born 1985-03-15, male, Test-Norge/Tenor synthetic (month + 80)".
pub(crate) fn describe(f: &NinFacts) -> String {
    let mut parts = vec![f.kind.label().to_string()];
    match f.birth {
        Some(Birth::Date { date }) => parts.push(format!(
            "born {date} ({} years at the end of {})",
            date.years_until(census_date()),
            synthpop::CENSUS_YEAR
        )),
        Some(Birth::CenturyUnknown { day, month, yy }) => parts.push(format!(
            "born {day:02}.{month:02}.{yy:02} (century not readable)"
        )),
        None => {}
    }
    if let Some(sex) = f.sex {
        parts.push(sex.as_str().to_string());
    }
    parts.push(f.world.label().to_string());
    if f.rule == nin::CheckRule::Rule2032 {
        parts.push("2032-rule check digits (sex not readable)".to_string());
    }
    if let Some(alt) = f.alternative {
        parts.push(format!(
            "also reads as a {} {}",
            alt.world.label(),
            alt.kind.label()
        ));
    }
    parts.join(", ")
}
