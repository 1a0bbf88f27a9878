//! `single-window`: wires the command line to the library.

use clap::Parser;
use single_window::cli::{self, Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let code = match &cli.command {
        Command::Validate(args) => cli::validate::run(args, &mut out)?,
        Command::Serve(args) => {
            runtime()?.block_on(cli::serve::run(args))?;
            0
        }
        Command::Submit(args) => runtime()?.block_on(cli::submit::run(args, &mut out))?,
        Command::Status(args) => runtime()?.block_on(cli::status::run(args, &mut out))?,
        Command::Watch(args) => runtime()?.block_on(cli::watch::run(args, &mut out))?,
        Command::CheckConfig(args) => {
            cli::check_config::run(args, |name| std::env::var(name).ok(), &mut out)?
        }
        Command::Load(args) => runtime()?.block_on(cli::load::run(args, &mut out))?,
        Command::DeadLetters(args) => {
            runtime()?.block_on(cli::dead_letters::run(args, &mut out))?
        }
        Command::AgencySim(args) => runtime()?.block_on(cli::agency_sim::run(args))?,
        Command::Audit(args) => cli::audit::run(args, &mut out)?,
        Command::Receipt(args) => cli::receipt::run(args, &mut out)?,
    };
    std::process::exit(code);
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}
