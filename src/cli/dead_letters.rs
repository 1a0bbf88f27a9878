//! `single-window dead-letters list|show|replay`: the operator's view of the deliveries the
//! gateway gave up on and the orphan receipts, through the gateway's `Admin` service.

use std::io::Write;

use super::{DeadLettersArgs, DeadLettersCommand};
use crate::pb::v1;
use crate::pb::v1::admin_client::AdminClient;

/// Exit code: done.
pub const EXIT_OK: i32 = 0;
/// Exit code: the gateway refused (no such dead letter, replay not possible).
pub const EXIT_REFUSED: i32 = 1;

/// Runs the subcommand; the exit code.
pub async fn run(args: &DeadLettersArgs, out: &mut dyn Write) -> anyhow::Result<i32> {
    let channel = args.gateway.endpoint()?.connect().await?;
    let mut admin = AdminClient::new(channel);
    match &args.command {
        DeadLettersCommand::List { agency } => {
            let mut token = String::new();
            let mut count = 0usize;
            loop {
                let page = admin
                    .list_dead_letters(v1::ListDeadLettersRequest {
                        agency: agency.clone(),
                        page_size: 1000,
                        page_token: token,
                    })
                    .await?
                    .into_inner();
                for letter in &page.dead_letters {
                    count += 1;
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{} attempts\t{}",
                        letter.id,
                        letter.agency,
                        letter.kind,
                        letter.attempts.len(),
                        letter.reason
                    )?;
                }
                token = page.next_page_token;
                if token.is_empty() {
                    break;
                }
            }
            writeln!(out, "{count} dead letters")?;
            Ok(EXIT_OK)
        }
        DeadLettersCommand::Show { id } => {
            match admin
                .get_dead_letter(v1::DeadLetterRequest { id: id.clone() })
                .await
            {
                Ok(letter) => {
                    show(&letter.into_inner(), out)?;
                    Ok(EXIT_OK)
                }
                Err(status) => {
                    writeln!(out, "{id}: {}", status.message())?;
                    Ok(EXIT_REFUSED)
                }
            }
        }
        DeadLettersCommand::Replay { id } => {
            match admin
                .replay_dead_letter(v1::DeadLetterRequest { id: id.clone() })
                .await
            {
                Ok(reply) => {
                    let reply = reply.into_inner();
                    writeln!(out, "{id}: replayed ({})", reply.detail)?;
                    Ok(EXIT_OK)
                }
                Err(status) => {
                    writeln!(out, "{id}: not replayed: {}", status.message())?;
                    Ok(EXIT_REFUSED)
                }
            }
        }
    }
}

fn show(letter: &v1::DeadLetter, out: &mut dyn Write) -> std::io::Result<()> {
    let shipment = letter.shipment.clone().unwrap_or_default();
    writeln!(out, "id:        {}", letter.id)?;
    writeln!(out, "agency:    {}", letter.agency)?;
    writeln!(out, "kind:      {}", letter.kind)?;
    writeln!(out, "message:   {}", letter.message_id)?;
    writeln!(
        out,
        "shipment:  {} / {}",
        shipment.ebp_code, shipment.order_no
    )?;
    writeln!(out, "reason:    {}", letter.reason)?;
    writeln!(out, "at:        {} (Unix ms)", letter.at_unix_ms)?;
    for a in &letter.attempts {
        writeln!(
            out,
            "attempt {}: {} (Unix ms) {}",
            a.number, a.at_unix_ms, a.error
        )?;
    }
    if let Some(r) = &letter.receipt {
        writeln!(
            out,
            "receipt:   {} status {} {}",
            r.receipt_id, r.return_status, r.return_info
        )?;
    }
    Ok(())
}
