//! `single-window`: wires the command line to the library.

use clap::Parser;
use single_window::cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Validate(args) => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            single_window::cli::validate::run(args, &mut out)?
        }
    };
    std::process::exit(code);
}
