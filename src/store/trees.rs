//! The store's sled trees: the data trees an event names ([`Tree`]), the store's own trees
//! (idempotency, outbox, audit, audit checkpoint, status events) opened once in [`Trees`], and
//! the [`Slot`] a staged write goes to.

use super::StoreError;

/// The trees an event may write to besides the store's own (idempotency, outbox, audit,
/// events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tree {
    /// Declarations by id: small metadata records.
    Declarations,
    /// Raw payloads by content hash, in chunks (large values never sit in index pages).
    Payloads,
    /// Shipment state by shipment key.
    Shipments,
    /// Buyers' annual quotas.
    Quotas,
    /// Secondary indexes (enterprise + status → shipment, message id → shipment, …).
    Index,
    /// Deliveries given up on (and orphan receipts), with why: for operators to inspect and
    /// replay.
    DeadLetters,
}

impl Tree {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Tree::Declarations => "declarations",
            Tree::Payloads => "payloads",
            Tree::Shipments => "shipments",
            Tree::Quotas => "quotas",
            Tree::Index => "index",
            Tree::DeadLetters => "dead_letters",
        }
    }

    pub(crate) const ALL: [Tree; 6] = [
        Tree::Declarations,
        Tree::Payloads,
        Tree::Shipments,
        Tree::Quotas,
        Tree::Index,
        Tree::DeadLetters,
    ];
}

/// Where a write goes: one of the store's own trees or a data tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Slot {
    Idempotency,
    Outbox,
    Audit,
    AuditMeta,
    Events,
    Data(Tree),
}

pub(super) struct Trees {
    pub idempotency: sled::Tree,
    pub outbox: sled::Tree,
    pub audit: sled::Tree,
    /// The audit log's checkpoint.
    pub audit_meta: sled::Tree,
    pub events: sled::Tree,
    data: Vec<sled::Tree>,
}

impl Trees {
    pub fn open(db: &sled::Db) -> Result<Trees, StoreError> {
        let mut data = Vec::with_capacity(Tree::ALL.len());
        for tree in Tree::ALL {
            data.push(db.open_tree(tree.name())?);
        }
        Ok(Trees {
            idempotency: db.open_tree("idempotency")?,
            outbox: db.open_tree("outbox")?,
            audit: db.open_tree("audit")?,
            audit_meta: db.open_tree("audit_meta")?,
            events: db.open_tree("events")?,
            data,
        })
    }

    pub fn data(&self, tree: Tree) -> &sled::Tree {
        &self.data[tree as usize]
    }

    pub(super) fn of(&self, slot: Slot) -> &sled::Tree {
        match slot {
            Slot::Idempotency => &self.idempotency,
            Slot::Outbox => &self.outbox,
            Slot::Audit => &self.audit,
            Slot::AuditMeta => &self.audit_meta,
            Slot::Events => &self.events,
            Slot::Data(tree) => self.data(tree),
        }
    }
}
