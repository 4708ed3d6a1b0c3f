//! webhook-manager: a self-hosted implementation of Thredd's Webhook Management API.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod outbound;
pub mod routes;
pub mod runtime;
pub mod sandbox;
pub mod seed;
pub mod shutdown;
pub mod startup;
pub mod store;

/// The modules' order, from the top: each imports only from the levels below
/// its own (docs/layout.md says so; `main` sits above all).
#[cfg(test)]
mod layers {
    use std::collections::BTreeSet;
    use std::path::Path;

    const LEVELS: &[&[&str]] = &[
        &["startup", "cli"],
        &["runtime"],
        &["api", "dashboard"],
        &["delivery"],
        &["outbound", "sandbox"],
        &["auth", "seed"],
        &["routes"],
        &["error", "config"],
        &["store"],
        &["domain", "metrics", "shutdown"],
    ];

    fn level(module: &str) -> usize {
        LEVELS
            .iter()
            .position(|l| l.contains(&module))
            .unwrap_or_else(|| panic!("module {module} is in no level of lib::layers"))
    }

    /// The top-level modules a file imports (`crate::name`).
    fn imports(text: &str) -> BTreeSet<String> {
        text.match_indices("crate::")
            .map(|(i, m)| {
                text[i + m.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect()
            })
            .filter(|name: &String| !name.is_empty())
            .collect()
    }

    fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn no_module_imports_one_above_or_beside_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut all = Vec::new();
        files(&src, &mut all);
        let mut wrong = Vec::new();
        for path in all {
            let relative = path.strip_prefix(&src).expect("under src");
            let top = relative
                .components()
                .next()
                .and_then(|c| c.as_os_str().to_str())
                .expect("name")
                .trim_end_matches(".rs")
                .to_owned();
            if top == "main" || top == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read");
            for import in imports(&text) {
                if import != top && level(&import) <= level(&top) {
                    wrong.push(format!("{} imports crate::{import}", relative.display()));
                }
            }
        }
        assert!(wrong.is_empty(), "imports against the layers: {wrong:#?}");
        // The test can fail: a file of `store` naming `api` is caught.
        assert!(level("api") <= level("store") && imports("use crate::api::x;").contains("api"));
    }
}
