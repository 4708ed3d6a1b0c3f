//! The in-memory index of webhooks: by id, and per program manager in creation
//! order. It is not a cache: it holds every webhook and reads never miss. The
//! memory backend is this index behind a lock; the SQLite backend answers every
//! webhook read from it, and its writer updates it after each commit.

use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::{PmCode, ProductId, Webhook, WebhookId};

#[derive(Debug, Default)]
pub struct Index {
    /// Boxed (in an `Arc`) so that growing the table moves pointers, not whole
    /// webhooks: a resize at 100,000+ entries otherwise copies tens of MiB while
    /// the writer holds the lock, and every read waits.
    by_id: HashMap<WebhookId, Arc<Webhook>>,
    /// Ids per program manager, oldest first. Webhooks are never re-owned, so an
    /// id stays in the list it was first appended to.
    by_pm: HashMap<PmCode, Vec<WebhookId>>,
}

impl Index {
    pub fn get(&self, id: WebhookId, scope: Option<&PmCode>) -> Option<&Webhook> {
        self.shared(id, scope).map(|w| &**w)
    }

    /// The stored webhook itself, to hand out without copying it.
    pub fn shared(&self, id: WebhookId, scope: Option<&PmCode>) -> Option<&Arc<Webhook>> {
        self.by_id.get(&id).filter(|w| w.visible_to(scope))
    }

    pub fn list(&self, pm: &PmCode) -> Vec<Arc<Webhook>> {
        self.by_pm
            .get(pm)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| self.by_id.get(id))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stores a webhook: a new one goes to the end of its program manager's list,
    /// a known one is replaced where it stands.
    pub fn put(&mut self, webhook: Webhook) {
        if !self.by_id.contains_key(&webhook.id) {
            self.by_pm
                .entry(webhook.pm_code.clone())
                .or_default()
                .push(webhook.id);
        }
        self.by_id.insert(webhook.id, Arc::new(webhook));
    }

    pub fn contains(&self, id: WebhookId) -> bool {
        self.by_id.contains_key(&id)
    }

    /// Whether a webhook other than `except` holds the (program manager, product) key.
    pub fn key_taken(&self, pm: &PmCode, product_id: Option<ProductId>, except: WebhookId) -> bool {
        self.by_pm.get(pm).is_some_and(|ids| {
            ids.iter()
                .filter(|id| **id != except)
                .filter_map(|id| self.by_id.get(id))
                .any(|w| w.product_id == product_id)
        })
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Forgets every webhook; answers how many there were.
    pub fn clear(&mut self) -> usize {
        let count = self.by_id.len();
        self.by_id.clear();
        self.by_pm.clear();
        count
    }
}
