//! `hoist lambda`: run as an AWS Lambda function (the binary is also the function's
//! `bootstrap`, which runs this with the role from the function's handler setting).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::lambda::{self, Role};

#[derive(Debug, Args)]
pub struct LambdaArgs {
    /// Which function this is; by default the function's handler setting (`_HANDLER`).
    #[arg(long, value_enum)]
    pub role: Option<Role>,
    /// Config file; by default `HOIST_CONFIG`, else `/var/task/hoist.yaml`.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub fn lambda(args: LambdaArgs) -> Result<()> {
    // CloudWatch keeps one line per record: JSON logs.
    super::serve::init_tracing(super::serve::LogFormat::Json);
    let role = match args.role {
        Some(r) => r,
        None => match Role::from_handler() {
            Ok(r) => r,
            Err(e) => {
                // Lambda shows why the function did not start.
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(lambda::init_error(&format!("{e:#}")));
                return Err(e);
            }
        },
    };
    lambda::run(role, &lambda::config_path(args.config))
}
