//! What the store folder holds for one accepted CEB block, read with the store closed to the
//! gateway: its idempotency record and its declaration, complete and equal to what was sent.

use single_window::ceb;
use single_window::ingest::record_key;
use single_window::rules::Rules;
use single_window::store::{Store, Tree};

/// How a stored declaration decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// As stored: a CEB message `ceb::decode` takes.
    AsStored,
    /// Only with the envelope of the message it came in (see [`re_enveloped`]).
    WithSentEnvelope,
}

/// Checks block `key` of `sender`, sent in message `sent`; says what is missing or wrong.
pub fn complete(
    store: &Store,
    sender: &str,
    key: &str,
    sent: &[u8],
    rules: &Rules,
) -> Result<Form, String> {
    if store.reply_of(sender, key).unwrap().is_none() {
        return Err("no idempotency record".into());
    }
    let Some(stored) = store
        .get(Tree::Declarations, &record_key(sender, key))
        .unwrap()
    else {
        return Err("no declaration record".into());
    };
    let message = ceb::decode(sent, &rules.limits).expect("what was sent decodes");
    let decoded = match ceb::decode(&stored, &rules.limits) {
        Ok(back) => Ok((back, Form::AsStored)),
        Err(direct) => ceb::decode(&re_enveloped(&stored, sent), &rules.limits)
            .map(|back| (back, Form::WithSentEnvelope))
            .map_err(|again| format!("{direct}; with the envelope of the message sent: {again}")),
    };
    match decoded {
        Ok((back, form))
            if back.blocks.len() == 1 && back.blocks[0].body == message.blocks[0].body =>
        {
            Ok(form)
        }
        Ok((back, _)) => Err(format!(
            "the stored declaration differs from the one sent: {:?}",
            back.blocks
        )),
        Err(err) => Err(format!(
            "the stored declaration does not decode: {err}; {} bytes ending {:?}",
            stored.len(),
            String::from_utf8_lossy(&stored[stored.len().saturating_sub(80)..])
        )),
    }
}

/// A stored declaration kept as the block alone in a bare envelope (`guid="-"`, no
/// `BaseTransfer` or no signature) is refused by `ceb::decode` as a data message: give it the
/// root guid and the envelope parts it lacks from the message it came in, so that the decoder
/// still checks every element of the stored block.
fn re_enveloped(stored: &[u8], sent: &[u8]) -> Vec<u8> {
    let (stored, sent) = (
        String::from_utf8_lossy(stored),
        String::from_utf8_lossy(sent),
    );
    let guid = sent
        .split_once(" guid=\"")
        .and_then(|(_, rest)| rest.split('"').next())
        .unwrap_or_default();
    let close = sent.rfind("</ceb:").unwrap_or(sent.len());
    let from = if !stored.contains("<ceb:BaseTransfer>") {
        sent.find("<ceb:BaseTransfer>")
    } else if !stored.contains("<ds:Signature") {
        sent.find("<ds:Signature")
    } else {
        None
    };
    let tail = from.map_or("", |from| &sent[from..close]);
    let Some(close) = stored.rfind("</ceb:") else {
        return stored.into_owned().into_bytes();
    };
    let head = stored[..close].replacen(" guid=\"-\"", &format!(" guid=\"{guid}\""), 1);
    format!("{head}{tail}{}", &stored[close..]).into_bytes()
}
