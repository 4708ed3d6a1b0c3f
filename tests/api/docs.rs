//! The README and docs/: every internal link resolves, and
//! docs/configuration.md agrees with the code on every key, its default and
//! its environment variable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::providers::Format;
use webhook_manager::config::Settings;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every Markdown file under docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).expect("docs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    pages.sort();
    pages
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The text outside fenced code blocks.
fn prose(text: &str) -> String {
    let mut fenced = false;
    let mut kept = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

fn anchors(text: &str) -> Vec<String> {
    prose(text)
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| slug(l.trim_start_matches('#')))
        .collect()
}

/// The links of a page that do not resolve: a file that is not there, or an
/// anchor no heading of the target has.
fn broken(page: &Path, text: &str) -> Vec<String> {
    let mut broken = Vec::new();
    let text = prose(text);
    for (i, _) in text.match_indices("](") {
        let rest = &text[i + 2..];
        let Some(end) = rest.find(')') else { continue };
        let target = &rest[..end];
        if target.starts_with("http://")
            || target.starts_with("https://")
            || target.starts_with("mailto:")
        {
            continue;
        }
        let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
        let path = if file.is_empty() {
            page.to_path_buf()
        } else {
            page.parent().expect("dir").join(file)
        };
        if !path.exists() {
            broken.push(format!("{}: {target} (no such file)", page.display()));
            continue;
        }
        if !anchor.is_empty() {
            let target_text = std::fs::read_to_string(&path).unwrap_or_default();
            if !anchors(&target_text).iter().any(|a| a == anchor) {
                broken.push(format!("{}: {target} (no such heading)", page.display()));
            }
        }
    }
    broken
}

#[test]
fn links_in_the_readme_and_docs_resolve() {
    let mut all = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("read");
        all.extend(broken(&page, &text));
    }
    assert!(all.is_empty(), "broken links: {all:#?}");
    // The check can fail: a missing file and a missing heading are caught.
    let readme = root().join("README.md");
    assert_eq!(
        broken(
            &readme,
            "[a](docs/nothing.md) [b](docs/api.md#no-such-heading) [c](#the-two-commands)"
        )
        .len(),
        2
    );
}

/// Each `section.key` of the settings with its default, as TOML writes it.
fn flatten(prefix: &str, value: &toml::Value, out: &mut BTreeMap<String, toml::Value>) {
    match value {
        toml::Value::Table(table) => {
            for (k, v) in table {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_owned(), other.clone());
        }
    }
}

/// The rows of docs/configuration.md's table: key -> (default cell, environment cell).
fn documented() -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(root().join("docs/configuration.md")).expect("read");
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            let key = cells[0]
                .trim_start_matches("| ")
                .trim_matches('`')
                .to_owned();
            (
                key,
                (cells[1].to_owned(), cells[2].trim_matches('`').to_owned()),
            )
        })
        .collect()
}

/// The first `code` of a cell (the default as written), or the cell.
fn first_code(cell: &str) -> String {
    cell.split('`')
        .nth(1)
        .unwrap_or(cell)
        .trim_matches('"')
        .to_owned()
}

fn written(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn configuration_doc_matches_the_code() {
    let shown = Settings::default().to_toml().expect("toml");
    let mut code = BTreeMap::new();
    flatten(
        "",
        &shown.parse::<toml::Value>().expect("parses"),
        &mut code,
    );
    let doc = documented();
    let mut wrong = Vec::new();
    for (key, value) in &code {
        match doc.get(key) {
            None => wrong.push(format!("{key}: in the code, not in docs/configuration.md")),
            Some((default, _)) => {
                let empty = matches!(value, toml::Value::Array(a) if a.is_empty());
                let none = default.starts_with("none") || default.starts_with("unset");
                let same = first_code(default).replace(' ', "") == written(value).replace(' ', "");
                if !(same || (empty && none)) {
                    wrong.push(format!(
                        "{key}: default {} in the code, {default} in the doc",
                        written(value)
                    ));
                }
            }
        }
    }
    for (key, (_, env)) in &doc {
        let expected = format!("WHM_{}", key.to_uppercase().replace('.', "__"));
        if *env != expected {
            wrong.push(format!("{key}: environment {env}, not {expected}"));
        }
        if code.contains_key(key) {
            continue;
        }
        // A key with no default (an Option): the configuration must know it.
        // A probe value of the wrong type is refused for its type, an unknown
        // key for being unknown.
        let (section, name) = key.rsplit_once('.').expect("section.key");
        let probe = format!("[{section}]\n{name} = {{ probe = 1 }}\n");
        let read =
            figment::Figment::from(figment::providers::Serialized::defaults(Settings::default()))
                .merge(figment::providers::Toml::string(&probe))
                .extract::<Settings>();
        if let Err(e) = read {
            if matches!(e.kind, figment::error::Kind::UnknownField(..)) {
                wrong.push(format!(
                    "{key}: in docs/configuration.md, not a key of the code"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "docs/configuration.md and the code disagree: {wrong:#?}"
    );
}
