use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // On Lambda (provided.al2023) the binary is the function's `bootstrap`, started
    // without arguments: it is then `hoist lambda`.
    let name = std::env::args_os().next().unwrap_or_default();
    if std::path::Path::new(&name).file_name() == Some("bootstrap".as_ref())
        && std::env::args_os().len() == 1
    {
        return hoist::cli::run(hoist::cli::Cli::parse_from(["hoist", "lambda"]));
    }
    hoist::cli::run(hoist::cli::Cli::parse())
}
