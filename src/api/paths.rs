//! Path normalisation: Thredd's clients write `/api/v1/Webhooks`, some lower-case,
//! some through the API hub prefix `/eds`. Every form is rewritten to the one
//! canonical lower-case path before routing. Only `/api/...` paths are touched:
//! sandbox inbox names, for one, keep their case.

/// Path words matched without regard to case. Ids and event codes are left alone.
const RESOURCE_WORDS: &[&str] = &[
    "api",
    "v1",
    "webhooks",
    "subscriptions",
    "heartbeat",
    "status",
    "events",
    "notifications",
    "details",
    "undelivered",
    "resend",
    "configs",
    "fraudalerts",
    "response",
];

/// The canonical form of `path`, or `None` when it already is canonical:
/// resource words lower-cased, a leading `/eds` hub prefix (before `/api` or
/// the sign-in's `/connect`) dropped, a trailing slash trimmed.
pub fn canonical(path: &str) -> Option<String> {
    let mut segments: Vec<&str> = path.split('/').skip(1).collect();
    if segments.len() >= 2
        && segments[0].eq_ignore_ascii_case("eds")
        && (segments[1].eq_ignore_ascii_case("api") || segments[1] == "connect")
    {
        segments.remove(0);
    }
    if segments.len() > 1 && segments.last() == Some(&"") {
        segments.pop();
    }
    if !segments
        .first()
        .is_some_and(|s| s.eq_ignore_ascii_case("api"))
    {
        let trimmed = format!("/{}", segments.join("/"));
        return (trimmed != path).then_some(trimmed);
    }
    let rewritten: Vec<String> = segments
        .iter()
        .map(
            |s| match RESOURCE_WORDS.iter().find(|w| w.eq_ignore_ascii_case(s)) {
                Some(word) => (*word).to_owned(),
                None => (*s).to_owned(),
            },
        )
        .collect();
    let canonical = format!("/{}", rewritten.join("/"));
    (canonical != path).then_some(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_paths() {
        let id = "af2d48de-2ad7-42f8-a252-8422cd9e6078";
        let cases = [
            ("/api/v1/webhooks".to_owned(), None),
            (
                "/api/v1/Webhooks".to_owned(),
                Some("/api/v1/webhooks".to_owned()),
            ),
            (
                "/API/V1/WEBHOOKS/".to_owned(),
                Some("/api/v1/webhooks".to_owned()),
            ),
            (
                "/eds/api/v1/Webhooks".to_owned(),
                Some("/api/v1/webhooks".to_owned()),
            ),
            (
                "/EDS/api/v1/webhooks".to_owned(),
                Some("/api/v1/webhooks".to_owned()),
            ),
            (
                format!("/api/v1/Webhooks/{id}/Heartbeat"),
                Some(format!("/api/v1/webhooks/{id}/heartbeat")),
            ),
            (
                format!("/api/v1/webhooks/{id}/Subscriptions/101"),
                Some(format!("/api/v1/webhooks/{id}/subscriptions/101")),
            ),
            ("/eds".to_owned(), None),
            ("/healthz".to_owned(), None),
            ("/".to_owned(), None),
            ("/Sandbox/Name".to_owned(), None),
            ("/sandbox/v1/inbox/V1".to_owned(), None),
            (
                "/sandbox/v1/inbox/Box/".to_owned(),
                Some("/sandbox/v1/inbox/Box".to_owned()),
            ),
            (
                format!("/API/v1/Webhooks/{id}/Events/103/Notifications"),
                Some(format!("/api/v1/webhooks/{id}/events/103/notifications")),
            ),
            (
                format!("/api/v1/webhooks/{id}/Notifications/Resend"),
                Some(format!("/api/v1/webhooks/{id}/notifications/resend")),
            ),
        ];
        for (path, expected) in cases {
            assert_eq!(canonical(&path), expected, "case {path:?}");
        }
    }
}
