//! Messages that tell a user what to do next: nothing answers at the issuer, no data
//! directory yet, a data directory that is a file.

use std::error::Error;
use std::path::Path;

/// When `error` (or anything it wraps) is a connection that could not be made: the message
/// saying that nothing answers at `issuer` and how to start the testbed.
pub(crate) fn unreachable(error: &(dyn Error + 'static), issuer: &str) -> Option<String> {
    let mut cause: Option<&(dyn Error + 'static)> = Some(error);
    let mut refused = false;
    let mut innermost = error;
    while let Some(e) = cause {
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            refused |= r.is_connect() || r.is_timeout();
        }
        innermost = e;
        cause = e.source();
    }
    refused.then(|| {
        format!(
            "nothing answers at the issuer {issuer} ({innermost}). Is the testbed running? Start it with `helseid-testbed up` (its first line prints the issuer), or give --issuer the URL of one that runs"
        )
    })
}

/// The message for an error of a request to the testbed at `issuer`: [`unreachable`]'s, else
/// the error's own.
pub(crate) fn request_failed(error: &(dyn Error + 'static), issuer: &str) -> String {
    unreachable(error, issuer).unwrap_or_else(|| error.to_string())
}

/// Reads a client configuration file; one in a data directory that does not exist yet says
/// to start `up` first (it writes the demo clients' files there).
pub(crate) fn read_client_file(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| {
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        match folder {
            Some(dir) if e.kind() == std::io::ErrorKind::NotFound && !dir.exists() => format!(
                "{}: no such file: {} does not exist. `helseid-testbed up --data-dir {}` makes it and writes the demo clients' files into it; run it first",
                path.display(),
                dir.display(),
                dir.display()
            ),
            _ if e.kind() == std::io::ErrorKind::NotFound
                && path.file_name().is_some_and(|n| {
                    n == mock_sts::seed::DEMO_CLIENT_FILE
                        || n == mock_sts::seed::DEMO_LOGIN_CLIENT_FILE
                }) =>
            {
                format!(
                    "{}: no such file; `helseid-testbed up` writes it into its data directory when it starts",
                    path.display()
                )
            }
            _ => format!("{}: {e}", path.display()),
        }
    })
}

/// A data directory `up` has used: refused when it is a file or holds no testbed state.
pub(crate) fn existing_data_dir(dir: &Path) -> Result<(), String> {
    not_a_file(dir)?;
    if !dir.join(mock_sts::store::DB_FILE).exists() {
        return Err(format!(
            "{} has no testbed state; start `helseid-testbed up --data-dir {}` once first",
            dir.display(),
            dir.display()
        ));
    }
    Ok(())
}

/// Refuses a `--data-dir` that names a file.
pub(crate) fn not_a_file(dir: &Path) -> Result<(), String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!(
            "--data-dir {} is a file, not a directory; give the directory `helseid-testbed up` keeps its state in (default .testbed)",
            dir.display()
        ));
    }
    Ok(())
}
