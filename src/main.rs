use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    hoist::cli::run(hoist::cli::Cli::parse())
}
