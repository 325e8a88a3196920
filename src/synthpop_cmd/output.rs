//! Streaming a population to a file or standard output as JSON Lines, CSV or JSON.
//!
//! Blocks of persons are rendered on all cores and written in order, so memory stays flat
//! whatever the count. A file is written under a temporary name beside the target and
//! renamed only when complete, so an interrupted or failed run never leaves a partial file
//! that looks finished.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use synthpop::{Organisation, Person, Population};

use super::{CmdError, output_wire};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row; lists are joined with ';'.
    Csv,
    /// One JSON array.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RecordKind {
    /// Every person of the population.
    Person,
    /// The persons in HPR, as HPR shows them (one CSV row per approval).
    Practitioner,
    /// The organisations of the population.
    Organisation,
}

/// Blocks (of eight persons) rendered per unit of work.
const CHUNK_BLOCKS: u64 = 256;
/// Below this many persons no progress bar is worth showing.
const PROGRESS_FROM: u64 = 50_000;

pub(crate) fn generate(
    pop: &Population,
    kind: RecordKind,
    format: Format,
    out: Option<&Path>,
) -> Result<(), CmdError> {
    match out {
        Some(path) => {
            let target = OutputFile::create(path)?;
            let progress = progress_bar(pop, kind, io::stderr().is_terminal());
            let mut writer = BufWriter::with_capacity(1 << 20, target.file()?);
            let result =
                write_all(pop, kind, format, &mut writer, &progress).and_then(|()| writer.flush());
            drop(writer);
            progress.finish_and_clear();
            match result {
                Ok(()) => target.commit(),
                Err(e) => {
                    target.abandon();
                    Err(CmdError::Write {
                        path: path.display().to_string(),
                        source: e,
                    })
                }
            }
        }
        None => {
            let stdout = io::stdout();
            // No bar when piped: only when the records go to a terminal too.
            let show = io::stderr().is_terminal() && stdout.is_terminal();
            let progress = progress_bar(pop, kind, show);
            let mut writer = BufWriter::with_capacity(1 << 20, stdout.lock());
            let result =
                write_all(pop, kind, format, &mut writer, &progress).and_then(|()| writer.flush());
            progress.finish_and_clear();
            match result {
                Ok(()) => Ok(()),
                // The reader went away (`| head`): not an error of ours.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(CmdError::Write {
                    path: "standard output".to_string(),
                    source: e,
                }),
            }
        }
    }
}

fn progress_bar(pop: &Population, kind: RecordKind, show: bool) -> ProgressBar {
    if !show || kind == RecordKind::Organisation || pop.len() < PROGRESS_FROM {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(pop.len());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {human_pos}/{human_len} persons [{wide_bar}] {per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn write_all(
    pop: &Population,
    kind: RecordKind,
    format: Format,
    w: &mut dyn Write,
    progress: &ProgressBar,
) -> io::Result<()> {
    let mut sep = Separator::new(format);
    sep.open(w, kind)?;
    match kind {
        RecordKind::Organisation => {
            let mut buf = Vec::new();
            let n = render_organisations(pop.organisations(), format, &mut buf)?;
            sep.chunk(w, &buf, n)?;
        }
        RecordKind::Person | RecordKind::Practitioner => {
            stream_persons(pop, kind, format, w, &mut sep, progress)?;
        }
    }
    sep.close(w)
}

/// Renders chunks of blocks on worker threads and writes them in order.
fn stream_persons(
    pop: &Population,
    kind: RecordKind,
    format: Format,
    w: &mut dyn Write,
    sep: &mut Separator,
    progress: &ProgressBar,
) -> io::Result<()> {
    let chunks = pop.block_count().div_ceil(CHUNK_BLOCKS);
    let workers = thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let next = AtomicU64::new(0);
    thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<(u64, io::Result<(Vec<u8>, u64, u64)>)>(workers * 2);
        for _ in 0..workers {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    let chunk = next.fetch_add(1, Ordering::Relaxed);
                    if chunk >= chunks {
                        break;
                    }
                    let rendered = render_chunk(pop, chunk, kind, format);
                    if tx.send((chunk, rendered)).is_err() {
                        break; // the writer stopped
                    }
                }
            });
        }
        drop(tx);
        let mut pending = BTreeMap::new();
        let mut wanted = 0u64;
        for (chunk, rendered) in rx {
            pending.insert(chunk, rendered);
            while let Some(rendered) = pending.remove(&wanted) {
                let (buf, records, persons) = rendered?;
                sep.chunk(w, &buf, records)?;
                progress.inc(persons);
                wanted += 1;
            }
        }
        Ok(())
    })
}

/// Records of one chunk, the number of records and the number of persons covered.
fn render_chunk(
    pop: &Population,
    chunk: u64,
    kind: RecordKind,
    format: Format,
) -> io::Result<(Vec<u8>, u64, u64)> {
    let first = chunk * CHUNK_BLOCKS;
    let last = (first + CHUNK_BLOCKS).min(pop.block_count());
    let mut buf = Vec::with_capacity(((last - first) * 8 * 900) as usize);
    let mut records = 0u64;
    let mut persons = 0u64;
    let mut csv = (format == Format::Csv).then(|| {
        csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new())
    });
    for block in pop.blocks(first..last) {
        for person in block {
            persons += 1;
            match kind {
                RecordKind::Person => {
                    records += 1;
                    match &mut csv {
                        Some(c) => c
                            .write_record(person_row(&person))
                            .map_err(io::Error::other)?,
                        None => push_json(&mut buf, &person, format, records)?,
                    }
                }
                RecordKind::Practitioner => {
                    let Some(pr) = person.practitioner() else {
                        continue;
                    };
                    records += 1;
                    match &mut csv {
                        Some(c) => {
                            for row in practitioner_rows(&person) {
                                c.write_record(row).map_err(io::Error::other)?;
                            }
                        }
                        None => push_json(&mut buf, &pr, format, records)?,
                    }
                }
                RecordKind::Organisation => {}
            }
        }
    }
    if let Some(c) = csv {
        buf = c
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
    }
    Ok((buf, records, persons))
}

/// JSON Lines: one object and a newline. JSON: objects joined by ",\n" within a chunk
/// (the [`Separator`] joins chunks).
fn push_json<T: Serialize>(
    buf: &mut Vec<u8>,
    value: &T,
    format: Format,
    nth: u64,
) -> io::Result<()> {
    if format == Format::Json && nth > 1 {
        buf.extend_from_slice(b",\n");
    }
    serde_json::to_writer(&mut *buf, value).map_err(io::Error::other)?;
    if format == Format::Jsonl {
        buf.push(b'\n');
    }
    Ok(())
}

fn render_organisations(
    orgs: &[Organisation],
    format: Format,
    buf: &mut Vec<u8>,
) -> io::Result<u64> {
    match format {
        Format::Csv => {
            let mut c = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            for o in orgs {
                c.write_record(organisation_row(o))
                    .map_err(io::Error::other)?;
            }
            *buf = c
                .into_inner()
                .map_err(|e| io::Error::other(e.to_string()))?;
        }
        _ => {
            for (i, o) in orgs.iter().enumerate() {
                push_json(buf, o, format, i as u64 + 1)?;
            }
        }
    }
    Ok(orgs.len() as u64)
}

/// Writes what goes before, between and after chunks: the CSV header, JSON's brackets and
/// the commas between chunks.
struct Separator {
    format: Format,
    written: bool,
}

impl Separator {
    fn new(format: Format) -> Separator {
        Separator {
            format,
            written: false,
        }
    }

    fn open(&mut self, w: &mut dyn Write, kind: RecordKind) -> io::Result<()> {
        match self.format {
            Format::Json => w.write_all(b"[\n"),
            Format::Csv => {
                let header = match kind {
                    RecordKind::Person => PERSON_COLUMNS,
                    RecordKind::Practitioner => PRACTITIONER_COLUMNS,
                    RecordKind::Organisation => ORGANISATION_COLUMNS,
                };
                writeln!(w, "{}", header.join(","))
            }
            Format::Jsonl => Ok(()),
        }
    }

    fn chunk(&mut self, w: &mut dyn Write, buf: &[u8], records: u64) -> io::Result<()> {
        if records == 0 {
            return Ok(());
        }
        if self.format == Format::Json && self.written {
            w.write_all(b",\n")?;
        }
        self.written = true;
        w.write_all(buf)
    }

    fn close(&mut self, w: &mut dyn Write) -> io::Result<()> {
        match self.format {
            Format::Json if self.written => w.write_all(b"\n]\n"),
            Format::Json => w.write_all(b"]\n"),
            _ => Ok(()),
        }
    }
}

const PERSON_COLUMNS: &[&str] = &[
    "index",
    "pid",
    "pid_kind",
    "world",
    "name",
    "given_name",
    "middle_name",
    "family_name",
    "sex",
    "birth_date",
    "civil_status",
    "address_protection",
    "street",
    "house_number",
    "house_letter",
    "unit",
    "postcode",
    "post_town",
    "municipality_number",
    "municipality_name",
    "mother",
    "father",
    "spouse",
    "children",
    "krr_status",
    "krr_reserved",
    "krr_can_be_notified",
    "email",
    "mobile",
    "language",
    "gp_list",
    "gp_hpr_number",
    "gp_name",
    "gp_office",
    "hpr_number",
    "professions",
    "tags",
];

/// Values joined with ';', the CSV convention for lists here.
fn joined<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(";")
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn person_row(p: &Person) -> Vec<String> {
    let a = p.address.as_ref();
    vec![
        p.index.to_string(),
        p.pid.to_string(),
        output_wire(&p.pid_kind),
        output_wire(&p.world),
        p.name.clone(),
        p.given_name.to_string(),
        opt(p.middle_name),
        p.family_name.to_string(),
        output_wire(&p.sex),
        p.birth_date.to_string(),
        output_wire(&p.civil_status),
        output_wire(&p.address_protection),
        opt(a.map(|a| a.street)),
        opt(a.map(|a| a.house_number)),
        opt(a.and_then(|a| a.house_letter)),
        opt(a.and_then(|a| a.unit)),
        opt(a.map(|a| a.postcode)),
        opt(a.map(|a| a.post_town)),
        opt(a.map(|a| a.municipality_number)),
        opt(a.map(|a| a.municipality_name)),
        opt(p.relations.mother),
        opt(p.relations.father),
        opt(p.relations.spouse),
        joined(&p.relations.children),
        output_wire(&p.krr.status),
        p.krr.reserved.to_string(),
        p.krr.can_be_notified.to_string(),
        opt(p.krr.email.clone()),
        opt(p.krr.mobile.clone()),
        p.krr.language.to_string(),
        opt(p.gp.as_ref().map(|g| g.list)),
        opt(p.gp.as_ref().map(|g| g.hpr_number)),
        opt(p.gp.as_ref().map(|g| g.name.clone())),
        opt(p.gp.as_ref().map(|g| g.office)),
        opt(p.hpr.as_ref().map(|h| h.hpr_number)),
        joined(
            p.hpr
                .iter()
                .flat_map(|h| h.approvals.iter().map(|a| a.profession.value)),
        ),
        joined(&p.tags),
    ]
}

const PRACTITIONER_COLUMNS: &[&str] = &[
    "hpr_number",
    "pid",
    "name",
    "birth_date",
    "sex",
    "profession",
    "authorization",
    "authorization_description",
    "valid_from",
    "valid_to",
    "requisition_rights",
    "specialities",
    "gp_list",
    "gp_office",
];

/// One row per approval, as HPR lists them.
fn practitioner_rows(p: &Person) -> Vec<Vec<String>> {
    let Some(h) = &p.hpr else {
        return Vec::new();
    };
    h.approvals
        .iter()
        .map(|a| {
            let codes = |c: &[synthpop::codes::Coded]| joined(c.iter().map(|x| x.value));
            vec![
                h.hpr_number.to_string(),
                p.pid.to_string(),
                p.name.clone(),
                p.birth_date.to_string(),
                output_wire(&p.sex),
                a.profession.value.to_string(),
                a.authorization.value.to_string(),
                a.authorization.description.to_string(),
                a.valid_from.to_string(),
                opt(a.valid_to),
                codes(&a.requisition_rights),
                codes(&a.specialities),
                opt(h.gp_list.as_ref().map(|g| g.list)),
                opt(h.gp_list.as_ref().map(|g| g.office)),
            ]
        })
        .collect()
}

const ORGANISATION_COLUMNS: &[&str] = &[
    "orgnr",
    "name",
    "kind",
    "parent",
    "children",
    "municipality_number",
    "municipality_name",
    "postcode",
    "post_town",
    "her_id",
    "resh_id",
    "epj_vendor",
    "gp_lists",
];

fn organisation_row(o: &Organisation) -> Vec<String> {
    vec![
        o.orgnr.to_string(),
        o.name.clone(),
        output_wire(&o.kind),
        opt(o.parent),
        joined(&o.children),
        o.municipality_number.to_string(),
        o.municipality_name.to_string(),
        o.postcode.to_string(),
        o.post_town.to_string(),
        opt(o.her_id),
        opt(o.resh_id),
        opt(o.epj_vendor),
        joined(&o.gp_lists),
    ]
}

/// The output file under a temporary name until it is complete.
struct OutputFile {
    target: PathBuf,
    temp: PathBuf,
}

impl OutputFile {
    /// Checks that the target can be written before any work is done.
    fn create(target: &Path) -> Result<OutputFile, CmdError> {
        let fail = |source: io::Error| CmdError::Write {
            path: target.display().to_string(),
            source,
        };
        if target.is_dir() {
            return Err(fail(io::Error::new(
                io::ErrorKind::IsADirectory,
                "it is a directory",
            )));
        }
        let name = target
            .file_name()
            .ok_or_else(|| fail(io::Error::new(io::ErrorKind::InvalidInput, "no file name")))?;
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let temp = dir.join(format!(
            ".{}.partial-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        File::create(&temp).map_err(fail)?;
        Ok(OutputFile {
            target: target.to_path_buf(),
            temp,
        })
    }

    fn file(&self) -> Result<File, CmdError> {
        File::options()
            .write(true)
            .truncate(true)
            .open(&self.temp)
            .map_err(|source| CmdError::Write {
                path: self.target.display().to_string(),
                source,
            })
    }

    fn commit(self) -> Result<(), CmdError> {
        fs::rename(&self.temp, &self.target).map_err(|source| {
            let _ = fs::remove_file(&self.temp);
            CmdError::Write {
                path: self.target.display().to_string(),
                source,
            }
        })
    }

    fn abandon(self) {
        let _ = fs::remove_file(&self.temp);
    }
}
