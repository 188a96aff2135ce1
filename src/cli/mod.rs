//! The `hoist` command line.

mod app_manifest;
mod config;
mod doctor;
mod edit;
mod lambda;
mod ledger;
mod plan;
mod reconcile;
mod reference;
mod scratch;
mod serve;
mod status;
mod store_args;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "hoist",
    version,
    about = "Promote container images through environments by pull request"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    CheckConfig(config::CheckConfigArgs),
    Doctor(doctor::DoctorArgs),
    GithubAppManifest(app_manifest::AppManifestArgs),
    /// Print the JSON Schema of the config file (or, with --markdown, the configuration
    /// reference generated from it).
    ConfigSchema {
        /// Print the configuration reference (docs/config-reference.md) instead.
        #[arg(long)]
        markdown: bool,
    },
    /// Run as an AWS Lambda function: the ingress (GitHub webhooks at a Function URL onto
    /// SQS) or the worker (SQS batches and scheduled reconciles). See docs/lambda.md.
    Lambda(lambda::LambdaArgs),
    /// The promotion ledger.
    Ledger(ledger::LedgerArgs),
    Plan(plan::PlanArgs),
    Reconcile(reconcile::ReconcileArgs),
    Serve(serve::ServeArgs),
    SetImage(edit::SetImageArgs),
    SetValue(edit::SetValueArgs),
    Status(status::StatusArgs),
}

/// Runs a command: exit 0 on success (changed or unchanged), 1 on a refusal or bad input,
/// with the reason on stderr.
pub use config::schema;
pub use reference::config_reference;

pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::CheckConfig(a) => config::check_config(a),
        Command::Doctor(a) => doctor::doctor(a),
        Command::GithubAppManifest(a) => app_manifest::app_manifest(a),
        Command::ConfigSchema { markdown } => {
            if markdown {
                print!("{}", reference::config_reference());
            } else {
                print!("{}", config::schema());
            }
            Ok(())
        }
        Command::Lambda(a) => lambda::lambda(a),
        Command::Ledger(a) => ledger::ledger(a),
        Command::Plan(a) => plan::plan(a),
        Command::Reconcile(a) => reconcile::reconcile(a),
        Command::Serve(a) => serve::serve(a),
        Command::SetImage(a) => edit::set_image(a),
        Command::SetValue(a) => edit::set_value(a),
        Command::Status(a) => status::status(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
