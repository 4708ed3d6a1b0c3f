//! An in-memory repository: for tests and throwaway sandboxes; nothing survives a restart.

use std::sync::{Arc, Mutex, MutexGuard};

use super::cache::Cache;
use super::{Change, Cleared, Pending, Repository, StoreError};
use crate::domain::{PmCode, Webhook, WebhookId};

/// The cache index behind one lock; the lock makes every call atomic.
#[derive(Default)]
pub struct MemoryStore {
    cache: Mutex<Cache>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Cache>, StoreError> {
        self.cache
            .lock()
            .map_err(|_| StoreError::Internal("memory store lock poisoned".into()))
    }
}

impl Repository for MemoryStore {
    fn create(&self, webhook: Webhook) -> Pending {
        Pending::done(self.lock().and_then(|mut cache| {
            if cache.contains(webhook.id)
                || cache.key_taken(&webhook.pm_code, webhook.product_id, webhook.id)
            {
                return Err(StoreError::Duplicate);
            }
            cache.put(webhook.clone());
            Ok(webhook)
        }))
    }

    fn get(&self, id: WebhookId, scope: Option<&PmCode>) -> Result<Arc<Webhook>, StoreError> {
        self.lock()?
            .shared(id, scope)
            .cloned()
            .ok_or(StoreError::NotFound)
    }

    fn list(&self, pm: &PmCode) -> Result<Vec<Arc<Webhook>>, StoreError> {
        Ok(self.lock()?.list(pm))
    }

    fn modify(&self, id: WebhookId, scope: Option<&PmCode>, change: Change) -> Pending {
        Pending::done(self.lock().and_then(|mut cache| {
            let mut updated = cache.get(id, scope).cloned().ok_or(StoreError::NotFound)?;
            change(&mut updated)?;
            if cache.key_taken(&updated.pm_code, updated.product_id, updated.id) {
                return Err(StoreError::Duplicate);
            }
            cache.put(updated.clone());
            Ok(updated)
        }))
    }

    fn check(&self) -> Result<(), StoreError> {
        self.lock().map(|_| ())
    }

    fn reset(&self) -> Pending<Cleared> {
        Pending::done(self.lock().map(|mut cache| Cleared {
            webhooks: cache.clear() as u64,
            notifications: 0,
        }))
    }
}
