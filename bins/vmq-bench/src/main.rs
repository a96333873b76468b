//! The `vmq-bench` command: reads the flags and the scenario file, runs the scenario against the
//! broker, prints the summary (table or `--json`) and exits with 0 (every requirement met),
//! 1 (a requirement missed, each named on stderr) or 2 (usage or connection error).

mod client;
mod config;
mod error;
mod payload;
mod report;
mod require;
mod run;
mod stats;
mod topology;
mod units;

use std::{io::Write, process::ExitCode};

use clap::Parser;

use crate::config::{Cli, Scenario};
use crate::error::BenchError;

fn main() -> ExitCode {
    // clap exits with 2 itself on a usage error.
    let cli = Cli::parse();
    match bench(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vmq-bench: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn print(text: &str) -> Result<(), BenchError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn to_json(v: &impl serde::Serialize) -> Result<String, BenchError> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| BenchError::Output(std::io::Error::other(e)))
}

fn bench(cli: Cli) -> Result<ExitCode, BenchError> {
    let settings = config::merge(cli.scenario.as_deref(), &cli.settings)?;
    let sc = Scenario::resolve(settings)?;
    if cli.dry_run {
        print(&to_json(&sc)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(BenchError::Runtime)?;
    let result = rt.block_on(run::run(&sc, !cli.quiet))?;
    let outcomes = require::evaluate_all(&sc.require, &result.summary);
    if cli.json {
        print(&to_json(&report::json(
            &sc,
            &result.summary,
            &outcomes,
            &result.errors_seen,
        ))?)?;
    } else {
        print(&report::table(
            &sc,
            &result.summary,
            &outcomes,
            &result.errors_seen,
        ))?;
    }
    let missed: Vec<_> = outcomes.iter().filter(|o| !o.ok).collect();
    for o in &missed {
        eprintln!(
            "vmq-bench: requirement not met: {} ({})",
            o.requirement, o.actual
        );
    }
    Ok(if missed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
