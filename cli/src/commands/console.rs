//! `keelctl console`: the console entries the registry holds (`docs/console.md`), read as
//! [`keel_sdk::management::console`]'s records.

use keel_sdk::management::console::{ConsoleEntryView, ConsoleListQuery, ConsoleListing, OwnerKind};
use keel_sdk::protocol::REGISTRY_APP_ID;

use crate::api::{Api, Request};
use crate::args::Output;
use crate::error::CliError;
use crate::output;

/// Lists every entry (of type `kind` when given), by path.
pub async fn list(api: &Api, format: Output, kind: Option<u8>) -> Result<(), CliError> {
    let req = Request::get(REGISTRY_APP_ID, &["v1", "console", "entries"]).query(&ConsoleListQuery { kind });
    let listing: ConsoleListing = api.send(req).await?;
    output::list(format, &listing.entries, HEADERS, row);
    Ok(())
}

const HEADERS: &[&str] = &["PATH", "TYPE", "NAME", "OWNER", "STATUS"];

fn row(e: &ConsoleEntryView) -> Vec<String> {
    let place = match e.kind {
        1 => "1 top bar",
        2 => "2 plugin tab",
        3 => "3 operations tab",
        _ => "?",
    };
    let place = if e.external == 1 { format!("{place}, external") } else { place.to_owned() };
    let kind = match e.owner_kind {
        OwnerKind::Plugin => "plugin",
        OwnerKind::Service => "service",
    };
    vec![
        e.path.clone(),
        place,
        format!("{} ({})", e.name_en, e.name),
        format!("{} ({kind})", e.owner),
        e.status.clone(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_says_where_an_entry_appears_and_whose_it_is() {
        let e = ConsoleEntryView {
            name: "网关".into(),
            name_en: "Gateway".into(),
            obj: "gw".into(),
            kind: 1,
            path: "https://gw.example.com/".into(),
            external: 1,
            owner: "gw".into(),
            owner_kind: OwnerKind::Service,
            status: "UNKNOWN".into(),
        };
        assert_eq!(
            row(&e),
            ["https://gw.example.com/", "1 top bar, external", "Gateway (网关)", "gw (service)", "UNKNOWN"]
        );
    }
}
