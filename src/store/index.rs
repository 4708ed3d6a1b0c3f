//! The in-memory index of webhooks: by id, and per program manager in creation
//! order. It is not a cache: it holds every webhook and reads never miss. The
//! memory backend is this index behind a lock; the SQLite backend answers every
//! webhook read from it, and its writer updates it after each commit.
//!
//! Each webhook is kept as its document (`domain::WebhookDocument`, the JSON the
//! API answers with) plus what lookups need: its status, its program manager (as a
//! slot in a table of program managers, so that 100,000 webhooks do not hold
//! 100,000 copies of a few hundred codes) and its product id (the uniqueness key). A read answers
//! the document as it is; a rule that needs the webhook reads it back from the
//! document. About 450 bytes per webhook with a 300-byte document.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::StoreError;
use crate::domain::{
    PmCode, ProductId, Webhook, WebhookDocument, WebhookId, WebhookKeys, WebhookStatus,
};

#[derive(Debug, Default)]
pub struct Index {
    /// Boxed so that growing the table moves 24-byte buckets, not whole
    /// entries, while the writer holds the lock and every read waits.
    by_id: HashMap<WebhookId, Box<Entry>>,
    /// Program managers by slot, each with its webhooks' ids, oldest first.
    /// Webhooks are never re-owned, so an id stays in the list it was first
    /// appended to.
    owners: Vec<Owner>,
    slots: HashMap<PmCode, u32>,
}

#[derive(Debug)]
struct Entry {
    owner: u32,
    status: WebhookStatus,
    product_id: Option<ProductId>,
    document: WebhookDocument,
}

/// What the index keeps of a webhook beside its document.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    pub pm: &'a PmCode,
    pub product_id: Option<ProductId>,
    pub status: WebhookStatus,
}

#[derive(Debug)]
struct Owner {
    pm: PmCode,
    ids: Vec<WebhookId>,
}

impl Index {
    /// An empty index with room for `webhooks` without growing.
    pub fn with_capacity(webhooks: usize) -> Self {
        Self {
            by_id: HashMap::with_capacity(webhooks),
            ..Self::default()
        }
    }

    /// One webhook's document, within `scope`.
    pub fn document(&self, id: WebhookId, scope: Option<&PmCode>) -> Option<&WebhookDocument> {
        self.entry(id, scope).map(|e| &e.document)
    }

    /// One webhook, read back from its document, within `scope`.
    pub fn webhook(
        &self,
        id: WebhookId,
        scope: Option<&PmCode>,
    ) -> Result<Option<Webhook>, StoreError> {
        self.document(id, scope)
            .map(|d| d.webhook().map_err(corrupt))
            .transpose()
    }

    fn entry(&self, id: WebhookId, scope: Option<&PmCode>) -> Option<&Entry> {
        self.by_id
            .get(&id)
            .map(|e| &**e)
            .filter(|e| scope.is_none_or(|pm| self.owners[e.owner as usize].pm == *pm))
    }

    /// A webhook's status (the claims skip webhooks that are not active).
    pub fn status(&self, id: WebhookId) -> Option<WebhookStatus> {
        self.by_id.get(&id).map(|e| e.status)
    }

    /// Every document of one program manager, oldest first.
    pub fn documents(&self, pm: &PmCode) -> Vec<WebhookDocument> {
        self.ids(pm)
            .iter()
            .filter_map(|id| self.by_id.get(id))
            .map(|e| e.document.clone())
            .collect()
    }

    /// The documents of one program manager's active webhooks for `product`
    /// or for no product, oldest first.
    pub fn active_for(&self, pm: &PmCode, product: Option<ProductId>) -> Vec<WebhookDocument> {
        self.ids(pm)
            .iter()
            .filter_map(|id| self.by_id.get(id))
            .filter(|e| e.status == WebhookStatus::Active)
            .filter(|e| e.product_id.is_none() || e.product_id == product)
            .map(|e| e.document.clone())
            .collect()
    }

    /// The keys of one program manager's webhooks, oldest first.
    pub fn keys(&self, pm: &PmCode) -> Vec<WebhookKeys> {
        self.ids(pm)
            .iter()
            .filter_map(|id| {
                self.by_id.get(id).map(|e| WebhookKeys {
                    id: *id,
                    product_id: e.product_id,
                    status: e.status,
                })
            })
            .collect()
    }

    fn ids(&self, pm: &PmCode) -> &[WebhookId] {
        self.slots
            .get(pm)
            .map_or(&[], |slot| &self.owners[*slot as usize].ids)
    }

    /// Stores a webhook with its document: a new one goes to the end of its
    /// program manager's list, a known one is replaced where it stands.
    pub fn put(&mut self, webhook: &Webhook, document: WebhookDocument) {
        let keys = Keys {
            pm: &webhook.pm_code,
            product_id: webhook.product_id,
            status: webhook.status,
        };
        self.put_stored(webhook.id, keys, document);
    }

    /// Stores a webhook from its keys and document (as read at start-up).
    pub fn put_stored(&mut self, id: WebhookId, keys: Keys<'_>, document: WebhookDocument) {
        let Keys {
            pm,
            product_id,
            status,
        } = keys;
        if let Some(entry) = self.by_id.get_mut(&id) {
            entry.product_id = product_id;
            entry.status = status;
            entry.document = document;
            return;
        }
        let owner = match self.slots.get(pm) {
            Some(slot) => *slot,
            None => {
                let slot = u32::try_from(self.owners.len()).unwrap_or(u32::MAX);
                self.owners.push(Owner {
                    pm: pm.clone(),
                    ids: Vec::new(),
                });
                self.slots.insert(pm.clone(), slot);
                slot
            }
        };
        self.owners[owner as usize].ids.push(id);
        self.by_id.insert(
            id,
            Box::new(Entry {
                owner,
                status,
                product_id,
                document,
            }),
        );
    }

    pub fn contains(&self, id: WebhookId) -> bool {
        self.by_id.contains_key(&id)
    }

    /// Whether a webhook other than `except` holds the (program manager, product) key.
    pub fn key_taken(&self, pm: &PmCode, product_id: Option<ProductId>, except: WebhookId) -> bool {
        self.ids(pm)
            .iter()
            .filter(|id| **id != except)
            .filter_map(|id| self.by_id.get(id))
            .any(|e| e.product_id == product_id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// The ids of one program manager's webhooks, oldest first.
    pub fn ids_of(&self, pm: &PmCode) -> Vec<WebhookId> {
        self.ids(pm).to_vec()
    }

    /// Forgets one program manager's webhooks; answers how many there were.
    pub fn remove_pm(&mut self, pm: &PmCode) -> usize {
        let Some(slot) = self.slots.get(pm).copied() else {
            return 0;
        };
        let ids = std::mem::take(&mut self.owners[slot as usize].ids);
        for id in &ids {
            self.by_id.remove(id);
        }
        ids.len()
    }

    /// Forgets some of one program manager's webhooks (all of them, for a
    /// reset of it); answers how many there were.
    pub fn remove(&mut self, pm: &PmCode, ids: &HashSet<WebhookId>) -> usize {
        let Some(slot) = self.slots.get(pm).copied() else {
            return 0;
        };
        let owned = &mut self.owners[slot as usize].ids;
        let before = owned.len();
        owned.retain(|id| !ids.contains(id));
        for id in ids {
            self.by_id.remove(id);
        }
        before - owned.len()
    }

    /// Forgets every webhook; answers how many there were.
    pub fn clear(&mut self) -> usize {
        let count = self.by_id.len();
        self.by_id.clear();
        self.owners.clear();
        self.slots.clear();
        count
    }
}

/// Webhooks read back from their documents (a backend's answer to `list` and
/// `active_for`).
pub fn read_back(documents: &[WebhookDocument]) -> Result<Vec<Arc<Webhook>>, StoreError> {
    documents
        .iter()
        .map(|d| d.webhook().map(Arc::new).map_err(corrupt))
        .collect()
}

/// A stored document that does not read back: corrupt data.
pub fn corrupt(why: String) -> StoreError {
    StoreError::Internal(why.into())
}
