//! The contract of Thredd's calls beside the webhooks: configurations and
//! fraud alerts.

use super::support::*;

/// A configuration of `pm_code` for `product` (every product when `None`).
pub(super) fn configuration(
    pm_code: &str,
    product: Option<u64>,
    at: OffsetDateTime,
) -> Configuration {
    let spec = ConfigSpec::from_json(&json!({
        "pmId": 20, "productId": product, "status": "Active", "messageTypeFilter": [1, 3]
    }))
    .expect("spec");
    Configuration::create(ConfigId::generate(at), pm(pm_code), spec, at)
}

pub(super) fn fraud_alert(pm_code: &str, raised: OffsetDateTime, expires_in: i64) -> FraudAlert {
    FraudAlert {
        id: FraudAlertId::parse(&uuid::Uuid::new_v4().to_string()).expect("id"),
        pm_code: pm(pm_code),
        product_id: Some(ProductId::from_stored(7)),
        notifications: vec![NotificationId::generate(), NotificationId::generate()],
        raised,
        expires: raised + Duration::milliseconds(expires_in),
        state: AlertState::Open,
        closed: None,
    }
}

pub(super) fn fraud_alerts_are_answered_once_expired_once_and_purged(store: &dyn Store) {
    let t = OffsetDateTime::from_unix_timestamp(1_750_000_000).expect("time");
    let answered = fraud_alert("TRD", t, 10_000);
    let soonest = fraud_alert("TRD", t, 5_000);
    let other = fraud_alert("ABC", t, 20_000);
    for a in [&answered, &soonest, &other] {
        assert!(store.raise_fraud_alert(a.clone()).wait().expect("raise"));
    }
    let mut again = answered.clone();
    again.pm_code = pm("ABC");
    assert!(
        !store.raise_fraud_alert(again).wait().expect("raise"),
        "an id taken is not raised again"
    );
    let through = answered.notifications[1];
    let answer = move |at: OffsetDateTime| -> AlertChange {
        Box::new(move |a: &mut FraudAlert| a.answer(through, FraudAnswer::Yes, at))
    };
    assert!(
        matches!(
            store
                .modify_fraud_alert(answered.id, Some(&pm("ABC")), answer(t))
                .wait(),
            Err(StoreError::FraudAlertNotFound)
        ),
        "another program manager's alert is not found"
    );
    let at = t + Duration::seconds(1);
    let stored = store
        .modify_fraud_alert(answered.id, Some(&pm("TRD")), answer(at))
        .wait()
        .expect("answer");
    assert_eq!(stored.state, AlertState::Answered(FraudAnswer::Yes));
    assert_eq!(stored.closed, Some(at));
    assert_eq!(
        stored.notifications, answered.notifications,
        "read back whole"
    );
    assert!(matches!(
        store
            .modify_fraud_alert(answered.id, None, answer(at))
            .wait(),
        Err(StoreError::Refused(Refusal::AlertAnswered("Yes")))
    ));
    assert_eq!(
        store.next_fraud_expiry().wait().expect("next"),
        Some(soonest.expires)
    );
    let due = t + Duration::seconds(6);
    let expired = store.expire_fraud_alerts(due, 10).wait().expect("expire");
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(expired[0].id, soonest.id);
    assert_eq!(expired[0].state, AlertState::Expired);
    assert_eq!(expired[0].closed, Some(soonest.expires));
    assert!(
        store
            .expire_fraud_alerts(due, 10)
            .wait()
            .expect("expire")
            .is_empty(),
        "each alert expires once"
    );
    assert_eq!(
        store.next_fraud_expiry().wait().expect("next"),
        Some(other.expires)
    );
    assert_eq!(
        store
            .purge_fraud_alerts(t + Duration::seconds(3))
            .wait()
            .expect("purge"),
        1,
        "the answered one, closed before"
    );
    assert_eq!(
        store.purge_fraud_alerts(due).wait().expect("purge"),
        1,
        "the expired one; the open one stays"
    );
    let cleared = store.reset(Some(&pm("ABC"))).wait().expect("reset");
    assert_eq!(cleared.fraud_alerts, 1);
    assert_eq!(store.next_fraud_expiry().wait().expect("next"), None);
}

pub(super) fn configurations_are_scoped_changed_in_place_and_bounded(store: &dyn Store) {
    let at = OffsetDateTime::from_unix_timestamp(1_750_000_000).expect("time");
    let first = configuration("TRD", Some(7), at);
    let second = configuration("TRD", None, at + Duration::seconds(1));
    let other = configuration("ABC", None, at);
    for c in [&first, &second, &other] {
        assert_eq!(
            store
                .create_configuration(c.clone())
                .wait()
                .expect("create"),
            *c,
            "answered as stored"
        );
    }
    assert_eq!(
        store.configurations(&pm("TRD")).wait().expect("list"),
        [first.clone(), second.clone()],
        "its own, oldest first, read back whole"
    );
    assert_eq!(
        store
            .configuration(first.id.clone(), Some(&pm("TRD")))
            .wait()
            .expect("get"),
        first
    );
    assert!(
        matches!(
            store
                .configuration(first.id.clone(), Some(&pm("ABC")))
                .wait(),
            Err(StoreError::ConfigurationNotFound)
        ),
        "another program manager's is not found"
    );
    let changed = store
        .modify_configuration(
            first.id.clone(),
            Some(&pm("TRD")),
            Box::new(|c| c.set_status(ConfigStatus::Inactive)),
        )
        .wait()
        .expect("modify");
    assert_eq!(changed.status, ConfigStatus::Inactive);
    assert_eq!(
        store
            .configuration(first.id.clone(), None)
            .wait()
            .expect("get"),
        changed,
        "the change is stored"
    );
    assert!(matches!(
        store
            .modify_configuration(
                first.id.clone(),
                None,
                Box::new(|c| c.set_status(ConfigStatus::Inactive)),
            )
            .wait(),
        Err(StoreError::Refused(Refusal::ConfigurationStatus(
            "Inactive"
        )))
    ));
    assert!(matches!(
        store
            .modify_configuration(
                other.id.clone(),
                Some(&pm("TRD")),
                Box::new(|c| c.set_status(ConfigStatus::Inactive)),
            )
            .wait(),
        Err(StoreError::ConfigurationNotFound)
    ));
    for i in 2..configuration::MOST_PER_PM {
        store
            .create_configuration(configuration("TRD", Some(i as u64), at))
            .wait()
            .expect("room");
    }
    assert!(
        matches!(
            store
                .create_configuration(configuration("TRD", None, at))
                .wait(),
            Err(StoreError::Refused(Refusal::TooManyConfigurations(_)))
        ),
        "no room beyond the most"
    );
    assert_eq!(
        store.configurations(&pm("TRD")).wait().expect("list").len(),
        configuration::MOST_PER_PM,
        "the refused one is not stored"
    );
    let cleared = store.reset(Some(&pm("TRD"))).wait().expect("reset");
    assert_eq!(cleared.configurations, configuration::MOST_PER_PM as u64);
    assert!(store
        .configurations(&pm("TRD"))
        .wait()
        .expect("list")
        .is_empty());
    assert_eq!(
        store.configurations(&pm("ABC")).wait().expect("list"),
        [other],
        "a scoped reset leaves other program managers"
    );
}
