//! The inbox contract: captured requests within their limits.

use super::support::*;

/// The capture inboxes: requests kept in arrival order, the oldest pushed
/// out beyond the capacity, a new inbox refused beyond the most, one inbox
/// cleared alone.
pub(super) fn inboxes_keep_their_newest_within_limits(store: &dyn Store) {
    let limits = InboxLimits {
        capacity: 3,
        max_inboxes: 2,
    };
    let keep = |name: &str, marker: &str| {
        store
            .capture(name.into(), captured("POST", marker), limits)
            .wait()
            .expect("capture")
    };
    for i in 1..=5 {
        assert!(keep("b", &i.to_string()));
    }
    assert!(keep("a", "x"));
    assert!(!keep("c", "refused"), "a third inbox is refused");
    let markers = |name: &str| {
        store
            .captured(name.into())
            .wait()
            .expect("captured")
            .iter()
            .map(|c| c.headers["x-marker"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(markers("b"), ["3", "4", "5"], "the newest 3, oldest first");
    assert_eq!(
        store.captured("b".into()).wait().expect("captured")[2],
        captured("POST", "5"),
        "kept as it arrived"
    );
    assert!(markers("c").is_empty());
    assert_eq!(
        store.inboxes().wait().expect("inboxes"),
        [("a".to_owned(), 1), ("b".to_owned(), 3)]
    );
    assert_eq!(store.clear_inbox("b".into()).wait().expect("clear"), 3);
    assert_eq!(store.clear_inbox("b".into()).wait().expect("clear"), 0);
    assert_eq!(
        store.inboxes().wait().expect("inboxes"),
        [("a".to_owned(), 1)]
    );
    assert!(keep("c", "now there is room"));
}
