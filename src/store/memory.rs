//! An in-memory repository: for tests and throwaway sandboxes; nothing survives a restart.

use std::sync::{Mutex, MutexGuard};

use super::{Change, Repository, StoreError};
use crate::domain::{PmCode, Webhook, WebhookId};

/// Webhooks in creation order behind one lock. Lookups scan, which is fine for the
/// sizes a test or a sandbox holds.
#[derive(Default)]
pub struct MemoryStore {
    webhooks: Mutex<Vec<Webhook>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Vec<Webhook>>, StoreError> {
        self.webhooks
            .lock()
            .map_err(|_| StoreError::Internal("memory store lock poisoned".into()))
    }
}

/// Whether `candidate` would share its (program manager, product id) key with
/// another stored webhook.
fn collides(stored: &[Webhook], candidate: &Webhook) -> bool {
    stored.iter().any(|w| {
        w.id != candidate.id
            && w.pm_code == candidate.pm_code
            && w.product_id == candidate.product_id
    })
}

impl Repository for MemoryStore {
    fn create(&self, webhook: &Webhook) -> Result<(), StoreError> {
        let mut stored = self.lock()?;
        if stored.iter().any(|w| w.id == webhook.id) || collides(&stored, webhook) {
            return Err(StoreError::Duplicate);
        }
        stored.push(webhook.clone());
        Ok(())
    }

    fn get(&self, id: WebhookId, scope: Option<&PmCode>) -> Result<Webhook, StoreError> {
        self.lock()?
            .iter()
            .find(|w| w.id == id && w.visible_to(scope))
            .cloned()
            .ok_or(StoreError::NotFound)
    }

    fn list(&self, pm: &PmCode) -> Result<Vec<Webhook>, StoreError> {
        Ok(self
            .lock()?
            .iter()
            .filter(|w| w.pm_code == *pm)
            .cloned()
            .collect())
    }

    fn modify(
        &self,
        id: WebhookId,
        scope: Option<&PmCode>,
        change: Change<'_>,
    ) -> Result<Webhook, StoreError> {
        let mut stored = self.lock()?;
        let index = stored
            .iter()
            .position(|w| w.id == id && w.visible_to(scope))
            .ok_or(StoreError::NotFound)?;
        let mut updated = stored[index].clone();
        change(&mut updated)?;
        if collides(&stored, &updated) {
            return Err(StoreError::Duplicate);
        }
        stored[index] = updated.clone();
        Ok(updated)
    }

    fn check(&self) -> Result<(), StoreError> {
        self.lock().map(|_| ())
    }
}
