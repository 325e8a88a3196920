//! `helseid-testbed session`: conformance sessions at a running testbed (`up`), through its
//! JSON API (`/testbed/sessions`, docs/sessions.md). `start` prints the authority to put in
//! the application's configuration; `end` prints the verdict, writes the reports asked for
//! and exits 0 when the application passed, 1 when it did not, 2 when the session could not
//! be reached or changed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use conformance::report::Report;
use serde_json::{Value, json};

use crate::up_cmd::API_KEY_ENV;

#[derive(Debug, Args)]
pub(crate) struct SessionArgs {
    #[command(subcommand)]
    command: SessionCommand,
    /// The testbed's issuer (default: the one `up` recorded in the data directory, else
    /// http://127.0.0.1:8080).
    #[arg(long, value_name = "URL", global = true)]
    issuer: Option<String>,
    /// The api-key (default: $HELSEID_TESTBED_API_KEY, else the one kept in the data
    /// directory).
    #[arg(long, value_name = "KEY", env = API_KEY_ENV, hide_env_values = true, global = true)]
    api_key: Option<String>,
    /// The data directory of the `up` to talk to (its issuer and api-key are read there).
    #[arg(long, value_name = "DIR", default_value = ".testbed", global = true)]
    data_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
enum SessionCommand {
    /// Start a session for a registered client; prints its id, authority and probe API.
    Start {
        /// The client's id, as registered at the testbed.
        #[arg(long, value_name = "ID")]
        client_id: String,
        /// For a multi-tenant client: the organisation it acts for.
        #[arg(long, value_name = "ORGNR")]
        orgnr: Option<String>,
    },
    /// Spoil the session's next response with a fault (`wrong-iss`, `expired`, ...).
    Fault {
        id: String,
        /// The fault's name; an unknown one lists them.
        fault: String,
    },
    /// End a session: judge its recording, print the verdict and write the reports.
    End {
        id: String,
        /// Write a JUnit XML report here.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Write the JSON report here (schema: schemas/report.schema.json).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write a self-contained HTML report here.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Clear a session's recording and report, to try again.
    Reset { id: String },
    /// List the sessions, newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
    },
}

type Failure = (String, u8);

/// The issuer and api-key: from the arguments, else the data directory `up` uses.
fn target(args: &SessionArgs) -> Result<(String, Option<String>), Failure> {
    crate::hints::not_a_file(&args.data_dir).map_err(|e| (e, 2))?;
    let stored = |key: &str| -> Option<String> {
        if !args.data_dir.join(mock_sts::store::DB_FILE).exists() {
            return None;
        }
        mock_sts::store::Store::open(&args.data_dir)
            .ok()?
            .meta(key)
            .ok()
            .flatten()
    };
    let issuer = args
        .issuer
        .clone()
        .or_else(|| stored("issuer"))
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let key = args
        .api_key
        .clone()
        .filter(|k| !k.trim().is_empty())
        .or_else(|| stored("api_key"));
    Ok((issuer.trim_end_matches('/').to_owned(), key))
}

pub(crate) fn run(args: SessionArgs) -> Result<ExitCode, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| (format!("cannot start the runtime: {e}"), 2))?;
    runtime.block_on(run_async(args))
}

async fn call(request: reqwest::RequestBuilder, what: &str, base: &str) -> Result<Value, Failure> {
    let response = request.send().await.map_err(|e| {
        (
            format!("{what}: {}", crate::hints::request_failed(&e, base)),
            2,
        )
    })?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|e| (format!("{what}: the answer was not JSON ({e})"), 2))?;
    if !status.is_success() {
        let detail = body["error_description"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| body.to_string());
        return Err((format!("{what}: {status}: {detail}"), 2));
    }
    Ok(body)
}

async fn run_async(args: SessionArgs) -> Result<ExitCode, Failure> {
    let (issuer, key) = target(&args)?;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .map_err(|e| (e.to_string(), 2))?;
    let api = format!("{issuer}/testbed/sessions");
    let with_key = |r: reqwest::RequestBuilder| -> Result<reqwest::RequestBuilder, Failure> {
        let key = key.clone().ok_or_else(|| {
            (
                match crate::hints::existing_data_dir(&args.data_dir) {
                    Err(e) => format!("no api-key: {e}, or give --api-key or ${API_KEY_ENV}"),
                    Ok(()) => format!(
                        "no api-key: give --api-key or ${API_KEY_ENV}, or the --data-dir `up` uses"
                    ),
                },
                2,
            )
        })?;
        Ok(r.header("api-key", key))
    };
    match &args.command {
        SessionCommand::Start { client_id, orgnr } => {
            let mut body = json!({ "clientId": client_id });
            if let Some(o) = orgnr {
                body["orgnr"] = json!(o);
            }
            let v = call(
                with_key(http.post(&api).json(&body))?,
                "starting the session",
                &issuer,
            )
            .await?;
            println!("session: {}", v["id"].as_str().unwrap_or_default());
            println!("authority: {}", v["authority"].as_str().unwrap_or_default());
            println!("probe API: {}", v["probe"].as_str().unwrap_or_default());
            println!(
                "page: {issuer}/sessions/{}",
                v["id"].as_str().unwrap_or_default()
            );
            println!(
                "Put the authority in the application's configuration in place of HelseID's, use it, then: helseid-testbed session end {}",
                v["id"].as_str().unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::Fault { id, fault } => {
            call(
                with_key(
                    http.post(format!("{api}/{id}/fault"))
                        .json(&json!({ "fault": fault })),
                )?,
                "arming the fault",
                &issuer,
            )
            .await?;
            println!("armed: the session's next matching response is spoiled ({fault})");
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::End {
            id,
            junit,
            json: json_path,
            html,
        } => {
            let v = call(
                with_key(http.post(format!("{api}/{id}/end")))?,
                "ending the session",
                &issuer,
            )
            .await?;
            let report: Report = serde_json::from_value(v)
                .map_err(|e| (format!("the report could not be read: {e}"), 2))?;
            anstream::print!("{}", conformance::terminal::summary(&report));
            crate::conformance_cmd::write_report_files(
                &report,
                junit.as_deref(),
                json_path.as_deref(),
                html.as_deref(),
            )
            .map_err(|e| (e, 2))?;
            Ok(if report.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        SessionCommand::Reset { id } => {
            call(
                with_key(http.post(format!("{api}/{id}/reset")))?,
                "resetting the session",
                &issuer,
            )
            .await?;
            println!("session {id} records again");
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::List { limit, offset } => {
            let v = call(
                http.get(&api)
                    .query(&[("limit", limit.to_string()), ("offset", offset.to_string())]),
                "listing the sessions",
                &issuer,
            )
            .await?;
            for s in v["sessions"].as_array().into_iter().flatten() {
                let verdict = match s["passed"].as_bool() {
                    Some(true) => "passed",
                    Some(false) => "not passed",
                    None => "",
                };
                println!(
                    "{}  {:<6}  {}  {}  {verdict}",
                    s["id"].as_str().unwrap_or_default(),
                    s["status"].as_str().unwrap_or_default(),
                    s["clientId"].as_str().unwrap_or_default(),
                    s["authority"].as_str().unwrap_or_default(),
                );
            }
            println!(
                "{} of {} session(s)",
                v["sessions"].as_array().map_or(0, Vec::len),
                v["total"]
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
