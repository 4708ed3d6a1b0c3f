//! The store's contracts: the same tests run against every backend, one file
//! per contract (`repository`, `outbox`, `inboxes`, `calls` for Thredd's
//! configurations and fraud alerts). `contract_suite!` runs every one of them
//! on a backend; a new backend adds one line below. Tests of one backend alone
//! live beside it (`sqlite/tests.rs`, `postgres/tests.rs`).

mod calls;
mod inboxes;
mod outbox;
mod repository;
pub(crate) mod support;

use self::calls::*;
use self::inboxes::*;
use self::outbox::*;
use self::repository::*;
use self::support::*;

macro_rules! contract_suite {
    ($backend:ident, $make:expr) => {
        contract_suite!($backend, $make, claims_on_record = true);
    };
    ($backend:ident, $make:expr, claims_on_record = $claims_on_record:expr) => {
        mod $backend {
            use super::*;

            /// Runs `test` on a new store; a backend that is not there
            /// (PostgreSQL not installed) says SKIPPED and runs nothing.
            #[allow(unused_variables)]
            fn with_repo(test: impl FnOnce(Arc<dyn Store>)) {
                let dir = tempfile::tempdir().expect("temp dir");
                let made: Result<Arc<dyn Store>, String> = $make(dir.path());
                match made {
                    Ok(repo) => test(repo),
                    Err(why) => eprintln!("SKIPPED ({}): {why}", stringify!($backend)),
                }
            }

            #[test]
            fn notification_scoping() {
                with_repo(|r| another_pm_sees_no_notifications(&*r));
            }
            #[test]
            fn reset() {
                with_repo(|r| reset_forgets_every_webhook(&*r));
            }
            #[test]
            fn create_then_get() {
                with_repo(|r| create_then_get_returns_the_same_webhook(&*r));
            }
            #[test]
            fn scoping() {
                with_repo(|r| another_pm_sees_nothing(&*r));
            }
            #[test]
            fn keys() {
                with_repo(|r| keys_are_one_program_managers_in_creation_order(&*r));
            }
            #[test]
            fn missing() {
                with_repo(|r| missing_webhook_is_not_found(&*r));
            }
            #[test]
            fn uniqueness() {
                with_repo(|r| one_webhook_per_pm_and_product(&*r));
            }
            #[test]
            fn replace_uniqueness() {
                with_repo(|r| replace_cannot_take_another_webhooks_key(&*r));
            }
            #[test]
            fn list_order() {
                with_repo(|r| list_is_in_creation_order(&*r));
            }
            #[test]
            fn replace() {
                with_repo(|r| replace_clears_what_is_left_out_and_keeps_created_time(&*r));
            }
            #[test]
            fn documents() {
                with_repo(|r| documents_are_the_stored_webhooks_rendered(&*r));
            }
            #[test]
            fn active_for() {
                with_repo(|r| active_for_selects_an_events_candidates(&*r));
            }
            #[test]
            fn status() {
                with_repo(|r| status_changes_and_same_status_is_refused(&*r));
            }
            #[test]
            fn subscriptions() {
                with_repo(|r| subscriptions_add_all_or_nothing_and_remove(&*r));
            }
            #[test]
            fn heartbeat() {
                with_repo(|r| heartbeat_is_kept_without_touching_last_modified(&*r));
            }
            #[test]
            fn concurrent_creates() {
                with_repo(concurrent_creates_for_one_key_have_one_winner);
            }
            #[test]
            fn outbox_reads_and_resend() {
                with_repo(|r| super::outbox_reads_and_resend(&*r));
            }
            #[test]
            fn recent_finals() {
                with_repo(|r| recorded_attempts_answer_the_recent_final_statuses(&*r));
            }
            #[test]
            fn resend_needs_active() {
                with_repo(|r| resend_needs_an_active_webhook_in_scope(&*r));
            }
            #[test]
            fn refused_change() {
                with_repo(|r| a_refused_change_writes_nothing(&*r));
            }
            #[test]
            fn claims() {
                with_repo(|r| claims_follow_due_order_and_leases(&*r));
            }
            #[test]
            fn per_webhook_room() {
                with_repo(|r| a_full_queue_does_not_hold_up_another(&*r));
            }
            #[test]
            fn record_and_claim() {
                with_repo(|r| recording_claims_the_next_in_the_same_write(&*r, $claims_on_record));
            }
            #[test]
            fn deliver_now() {
                with_repo(|r| deliver_now_makes_a_waiting_notification_due(&*r));
            }
            #[test]
            fn recent() {
                with_repo(|r| recent_lists_newest_first_in_pages_with_filters(&*r));
            }
            #[test]
            fn backoff() {
                with_repo(|r| a_failing_queue_backs_off_and_probes_one_at_a_time(&*r));
            }

            #[test]
            fn give_up() {
                with_repo(|r| waiting_notifications_give_up_when_their_schedule_runs_out(&*r));
            }
            #[test]
            fn suspended() {
                with_repo(|r| a_suspended_webhooks_notifications_end_as_they_come_due(&*r));
            }
            #[test]
            fn parking() {
                with_repo(|r| inactive_webhooks_park_their_notifications(&*r));
            }
            #[test]
            fn purge() {
                with_repo(|r| purge_deletes_old_final_notifications_only(&*r));
            }
            #[test]
            fn reset_notifications() {
                with_repo(|r| reset_deletes_notifications(&*r));
            }
            #[test]
            fn remove() {
                with_repo(|r| removing_a_webhook_takes_only_it_and_what_is_stored_about_it(&*r));
            }
            #[test]
            fn scoped_reset() {
                with_repo(|r| a_scoped_reset_leaves_other_program_managers(&*r));
            }
            #[test]
            fn inboxes() {
                with_repo(|r| inboxes_keep_their_newest_within_limits(&*r));
            }
            #[test]
            fn fraud_alerts() {
                with_repo(|r| fraud_alerts_are_answered_once_expired_once_and_purged(&*r));
            }
            #[test]
            fn configurations() {
                with_repo(|r| configurations_are_scoped_changed_in_place_and_bounded(&*r));
            }
            #[test]
            fn failures_stay_alone() {
                with_repo(a_failing_write_does_not_fail_the_writes_committed_with_it);
            }
        }
    };
}

contract_suite!(memory, |_dir: &std::path::Path| Ok(
    Arc::new(MemoryStore::new()) as Arc<dyn Store>
));
contract_suite!(sqlite, |dir: &std::path::Path| Ok(Arc::new(
    SqliteStore::open(&dir.join("contract.db"), &SqliteOptions::default()).expect("open sqlite")
) as Arc<dyn Store>));
contract_suite!(sqlite_normal, |dir: &std::path::Path| Ok(Arc::new(
    SqliteStore::open(
        &dir.join("contract.db"),
        &SqliteOptions {
            synchronous: Synchronous::Normal,
            max_batch: 4,
            ..SqliteOptions::default()
        }
    )
    .expect("open sqlite")
)
    as Arc<dyn Store>));
contract_suite!(
    postgres,
    |_dir: &std::path::Path| {
        crate::store::postgres::throwaway::database().map(|url| {
            Arc::new(
                crate::store::PgStore::open(&url, &crate::store::postgres::PgOptions::default())
                    .expect("open postgres"),
            ) as Arc<dyn Store>
        })
    },
    claims_on_record = false
);
