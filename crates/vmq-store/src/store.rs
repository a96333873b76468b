//! [`Store`]: the one implementation of [`MessageStore`], [`MetadataStore`] and
//! [`BatchWrite`] over any [`KvEngine`]: refcounting, queue ordering, intra-batch
//! read-your-writes, and opening a backend under `setup.data_dir`.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::batch::{Batch, Op};
use crate::codec::{self, FORMAT_VERSION};
use crate::engine::{EngineBatch, EngineOp, KvEngine};
use crate::error::{Error, Result};
use crate::key::{self, KeyReader};
use crate::memory::MemoryEngine;
use crate::options::{Backend, StoreOptions};
use crate::traits::{BatchWrite, MessageStore, MetadataStore};
use crate::types::{StoredMessage, StoredSession, StoredSubscription, SubscriberKey};

pub(crate) const META_FORMAT: &str = "format";
pub(crate) const META_SEQ: &str = "next_seq";

/// A message and metadata store over one engine. `Send + Sync`: share it as
/// `Arc<Store>`. Writes are serialised internally (one writer at a time); reads run
/// concurrently with them.
pub struct Store {
    pub(crate) engine: Box<dyn KvEngine>,
    pub(crate) writer: Mutex<WriterState>,
    pub(crate) location: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location)
            .finish()
    }
}

/// State owned by the writer lock.
#[derive(Debug)]
pub(crate) struct WriterState {
    /// The next queue sequence number (persisted as `meta/next_seq` in every batch that
    /// allocates one).
    pub(crate) next_seq: u64,
}

impl Store {
    /// Opens the store of `options.backend` under `data_dir` (VerneMQ's `setup.data_dir`,
    /// `./data` by default): sled uses `<data_dir>/store-sled`, created if missing; memory
    /// touches nothing. Errors name the path; see the crate docs for moving or repairing a
    /// broken store.
    pub fn open(data_dir: impl AsRef<Path>, options: &StoreOptions) -> Result<Store> {
        let _ = &data_dir; // unused when only the memory backend is compiled in
        match options.backend {
            #[cfg(feature = "sled")]
            Backend::Sled => {
                let path = Self::store_dir(data_dir.as_ref(), options.backend)
                    .unwrap_or_else(|| data_dir.as_ref().to_path_buf());
                let engine = crate::sled_engine::SledEngine::open(
                    &path,
                    &crate::sled_engine::SledSettings {
                        cache_capacity: options.cache_capacity,
                        flush_every_ms: options.flush_every_ms,
                        high_throughput: options.high_throughput,
                    },
                )?;
                Self::with_engine(Box::new(engine))
            }
            Backend::Memory => Ok(Self::memory()),
        }
    }

    /// The directory a backend uses under `data_dir` (`None` for memory).
    pub fn store_dir(data_dir: &Path, backend: Backend) -> Option<PathBuf> {
        backend.dir_name().map(|d| data_dir.join(d))
    }

    /// A fresh in-memory store.
    pub fn memory() -> Store {
        Store {
            engine: Box::new(MemoryEngine::new()),
            writer: Mutex::new(WriterState { next_seq: 0 }),
            location: "memory".to_owned(),
        }
    }

    /// Wraps any engine (a third-party backend, or a test double). Checks the format version
    /// and restores the queue sequence counter.
    pub fn with_engine(engine: Box<dyn KvEngine>) -> Result<Store> {
        let location = match engine.path() {
            Some(p) => p.display().to_string(),
            None => "memory".to_owned(),
        };
        let path = engine.path().map(Path::to_path_buf).unwrap_or_default();
        let mut store = Store {
            engine,
            writer: Mutex::new(WriterState { next_seq: 0 }),
            location,
        };
        match store.engine.get(&key::meta(META_FORMAT))? {
            Some(v) if v.as_ref() == [FORMAT_VERSION] => {}
            Some(v) => {
                return Err(Error::Version {
                    path,
                    found: v.first().copied().unwrap_or(0),
                    expected: FORMAT_VERSION,
                })
            }
            None => {
                store.engine.apply(vec![EngineOp::Put(
                    key::meta(META_FORMAT),
                    vec![FORMAT_VERSION],
                )])?;
            }
        }
        let next_seq = match store.engine.get(&key::meta(META_SEQ))? {
            Some(v) => codec::decode_u64("sequence counter", &v)
                .map_err(|e| store.corrupt(&key::meta(META_SEQ), e))?,
            None => 0,
        };
        store.writer.get_mut().next_seq = next_seq;
        Ok(store)
    }

    /// Where the data lives: the store directory, or `memory`.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The engine underneath, for tools and tests: raw reads and writes that bypass the
    /// refcounting (e.g. to inject a corrupt record, or to export). Do not write through it
    /// while the broker runs.
    pub fn engine(&self) -> &dyn KvEngine {
        self.engine.as_ref()
    }

    /// The store directory (`None` for memory).
    pub fn path(&self) -> Option<&Path> {
        self.engine.path()
    }

    /// Bytes on disk (sled: `size_on_disk`, which includes space not yet reclaimed by its
    /// segment cleaner; memory: live key and value bytes).
    pub fn size_on_disk(&self) -> Result<u64> {
        self.engine.size_on_disk()
    }

    /// Wraps a decode error with the key and location.
    pub(crate) fn corrupt(&self, key: &[u8], e: Error) -> Error {
        let reason = match e {
            Error::Decode { what, reason } => format!("{what}: {reason}"),
            other => other.to_string(),
        };
        Error::CorruptRecord {
            location: self.location.clone(),
            key: key::describe(key),
            reason,
        }
    }

    /// Collects the entries under `prefix`.
    pub(crate) fn scan_all(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Bytes)>> {
        let mut out = Vec::new();
        self.engine.scan(prefix, prefix, &mut |k, v| {
            out.push((k.to_vec(), v));
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(out)
    }

    fn load_message(&self, msg_id: u128, from_key: &[u8]) -> Result<StoredMessage> {
        let mkey = key::message(msg_id);
        match self.engine.get(&mkey)? {
            Some(v) => codec::decode_message(&v).map_err(|e| self.corrupt(&mkey, e)),
            None => Err(Error::CorruptRecord {
                location: self.location.clone(),
                key: key::describe(from_key),
                reason: format!("refers to message {msg_id:032x}, which is missing"),
            }),
        }
    }
}

/// A batch in progress: reads see the batch's own earlier writes.
struct Tx<'a> {
    store: &'a Store,
    overlay: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'a> Tx<'a> {
    fn get(&self, k: &[u8]) -> Result<Option<Bytes>> {
        match self.overlay.get(k) {
            Some(v) => Ok(v.as_deref().map(Bytes::copy_from_slice)),
            None => self.store.engine.get(k),
        }
    }

    fn put(&mut self, k: Vec<u8>, v: Vec<u8>) {
        self.overlay.insert(k, Some(v));
    }

    fn del(&mut self, k: Vec<u8>) {
        self.overlay.insert(k, None);
    }

    /// The live entries under `prefix`, engine and overlay merged.
    fn scan(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Bytes)>> {
        let mut merged: BTreeMap<Vec<u8>, Bytes> =
            self.store.scan_all(prefix)?.into_iter().collect();
        for (k, v) in self
            .overlay
            .range::<[u8], _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(prefix))
        {
            match v {
                Some(v) => merged.insert(k.clone(), Bytes::copy_from_slice(v)),
                None => merged.remove(k),
            };
        }
        Ok(merged.into_iter().collect())
    }

    /// Reads a refcount; an undecodable one counts as `corrupt_as`.
    fn refcount(&self, msg_id: u128, corrupt_as: u32) -> Result<Option<u32>> {
        match self.get(&key::refcount(msg_id))? {
            Some(v) => Ok(Some(
                codec::decode_u32("refcount", &v).unwrap_or(corrupt_as),
            )),
            None => Ok(None),
        }
    }

    /// Drops one reference to `msg_id`, freeing the message with the last one.
    fn unref(&mut self, msg_id: u128) -> Result<()> {
        match self.refcount(msg_id, 1)? {
            Some(n) if n > 1 => self.put(key::refcount(msg_id), codec::encode_u32(n - 1)),
            _ => {
                self.del(key::refcount(msg_id));
                self.del(key::message(msg_id));
            }
        }
        Ok(())
    }

    fn put_message(
        &mut self,
        w: &mut WriterState,
        msg: &StoredMessage,
        subs: &[SubscriberKey],
        seq_used: &mut bool,
    ) -> Result<()> {
        let mut added = 0u32;
        for sub in subs {
            let pkey = key::position(sub, msg.msg_id)?;
            if self.get(&pkey)?.is_some() {
                continue;
            }
            let seq = w.next_seq;
            w.next_seq += 1;
            *seq_used = true;
            self.put(key::queue_entry(sub, seq)?, codec::encode_u128(msg.msg_id));
            self.put(pkey, codec::encode_u64(seq));
            added += 1;
        }
        if added == 0 {
            return Ok(());
        }
        match self.refcount(msg.msg_id, 0)? {
            Some(n) if n > 0 && self.get(&key::message(msg.msg_id))?.is_some() => {
                self.put(key::refcount(msg.msg_id), codec::encode_u32(n + added));
            }
            _ => {
                self.put(key::message(msg.msg_id), codec::encode_message(msg)?);
                self.put(key::refcount(msg.msg_id), codec::encode_u32(added));
            }
        }
        Ok(())
    }

    fn delete_entry(&mut self, sub: &SubscriberKey, msg_id: u128) -> Result<()> {
        let pkey = key::position(sub, msg_id)?;
        let Some(v) = self.get(&pkey)? else {
            return Ok(());
        };
        self.del(pkey);
        match codec::decode_u64("queue position", &v) {
            Ok(seq) => self.del(key::queue_entry(sub, seq)?),
            Err(_) => {
                // The position is unreadable: find the entry by scanning the queue.
                for (k, v) in self.scan(&key::queue_prefix(sub)?)? {
                    if codec::decode_u128("queue entry", &v).ok() == Some(msg_id) {
                        self.del(k);
                    }
                }
            }
        }
        self.unref(msg_id)
    }

    fn delete_queue(&mut self, sub: &SubscriberKey) -> Result<()> {
        for (k, v) in self.scan(&key::queue_prefix(sub)?)? {
            self.del(k);
            if let Ok(msg_id) = codec::decode_u128("queue entry", &v) {
                self.del(key::position(sub, msg_id)?);
                self.unref(msg_id)?;
            }
        }
        // Positions whose entry was unreadable.
        let pprefix = key::KeyBuf::new(key::NS_POSITION).subscriber(sub)?.finish();
        for (k, _) in self.scan(&pprefix)? {
            self.del(k);
        }
        Ok(())
    }

    fn apply(&mut self, w: &mut WriterState, op: &Op, seq_used: &mut bool) -> Result<()> {
        match op {
            Op::PutMessage {
                message,
                subscribers,
            } => self.put_message(w, message, subscribers, seq_used)?,
            Op::DeleteEntry { subscriber, msg_id } => self.delete_entry(subscriber, *msg_id)?,
            Op::DeleteQueue { subscriber } => self.delete_queue(subscriber)?,
            Op::SetRetained { message } => {
                let k = key::retained(&message.mountpoint, &message.topic)?;
                self.put(k, codec::encode_message(message)?);
            }
            Op::DeleteRetained { mountpoint, topic } => {
                self.del(key::retained(mountpoint, topic)?);
            }
            Op::SetSubscription {
                subscriber,
                subscription,
            } => {
                let k = key::subscription(subscriber, &subscription.filter)?;
                self.put(k, codec::encode_subscription(subscription)?);
            }
            Op::DeleteSubscription { subscriber, filter } => {
                self.del(key::subscription(subscriber, filter)?);
            }
            Op::DeleteSubscriptions { subscriber } => {
                for (k, _) in self.scan(&key::subscription(subscriber, "")?)? {
                    self.del(k);
                }
            }
            Op::SetSession {
                subscriber,
                session,
            } => {
                self.put(key::session(subscriber)?, codec::encode_session(session)?);
            }
            Op::DeleteSession { subscriber } => self.del(key::session(subscriber)?),
            Op::PutGeneric {
                namespace,
                key: k,
                value,
            } => {
                self.put(key::generic(namespace, k)?, value.clone());
            }
            Op::DeleteGeneric { namespace, key: k } => self.del(key::generic(namespace, k)?),
        }
        Ok(())
    }
}

impl BatchWrite for Store {
    fn write_batch(&self, batch: &Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut w = self.writer.lock();
        let start_seq = w.next_seq;
        let mut tx = Tx {
            store: self,
            overlay: BTreeMap::new(),
        };
        let mut seq_used = false;
        let mut result = Ok(());
        for op in batch.ops() {
            if let Err(e) = tx.apply(&mut w, op, &mut seq_used) {
                result = Err(e);
                break;
            }
        }
        if seq_used && result.is_ok() {
            tx.put(key::meta(META_SEQ), codec::encode_u64(w.next_seq));
        }
        let result = result.and_then(|()| {
            let ops: EngineBatch = tx
                .overlay
                .into_iter()
                .map(|(k, v)| match v {
                    Some(v) => EngineOp::Put(k, v),
                    None => EngineOp::Delete(k),
                })
                .collect();
            self.engine.apply(ops)
        });
        if result.is_err() {
            w.next_seq = start_seq;
        }
        result
    }

    fn flush(&self) -> Result<()> {
        self.engine.flush()
    }
}

impl MessageStore for Store {
    fn read_queue(&self, subscriber: &SubscriberKey) -> Result<Vec<StoredMessage>> {
        let mut out = Vec::new();
        for (k, v) in self.scan_all(&key::queue_prefix(subscriber)?)? {
            let id = codec::decode_u128("queue entry", &v).map_err(|e| self.corrupt(&k, e))?;
            out.push(self.load_message(id, &k)?);
        }
        Ok(out)
    }

    fn queue_len(&self, subscriber: &SubscriberKey) -> Result<usize> {
        let prefix = key::queue_prefix(subscriber)?;
        let mut n = 0;
        self.engine.scan(&prefix, &prefix, &mut |_, _| {
            n += 1;
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(n)
    }

    fn for_each_queue(
        &self,
        visit: &mut dyn FnMut(SubscriberKey, Vec<StoredMessage>),
    ) -> Result<()> {
        let prefix = [key::NS_QUEUE];
        let mut current: Option<(SubscriberKey, Vec<StoredMessage>)> = None;
        self.engine.scan(&prefix, &prefix, &mut |k, v| {
            let (_, mut r) = KeyReader::new(k)?;
            let sub = r.subscriber().map_err(|e| self.corrupt(k, e))?;
            let id = codec::decode_u128("queue entry", &v).map_err(|e| self.corrupt(k, e))?;
            let msg = self.load_message(id, k)?;
            match &mut current {
                Some((s, msgs)) if *s == sub => msgs.push(msg),
                _ => {
                    if let Some((s, msgs)) = current.replace((sub, vec![msg])) {
                        visit(s, msgs);
                    }
                }
            }
            Ok(ControlFlow::Continue(()))
        })?;
        if let Some((s, msgs)) = current {
            visit(s, msgs);
        }
        Ok(())
    }

    fn refcount(&self, msg_id: u128) -> Result<Option<u32>> {
        let k = key::refcount(msg_id);
        match self.engine.get(&k)? {
            Some(v) => Ok(Some(
                codec::decode_u32("refcount", &v).map_err(|e| self.corrupt(&k, e))?,
            )),
            None => Ok(None),
        }
    }

    fn message_count(&self) -> Result<usize> {
        let prefix = [key::NS_MESSAGE];
        let mut n = 0;
        self.engine.scan(&prefix, &prefix, &mut |_, _| {
            n += 1;
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(n)
    }
}

impl MetadataStore for Store {
    fn subscriptions(&self, subscriber: &SubscriberKey) -> Result<Vec<StoredSubscription>> {
        let prefix = key::subscription(subscriber, "")?;
        let mut out = Vec::new();
        for (k, v) in self.scan_all(&prefix)? {
            let filter = std::str::from_utf8(&k[prefix.len()..])
                .map_err(|_| self.corrupt(&k, Error::decode("subscription", "filter not UTF-8")))?
                .to_owned();
            out.push(codec::decode_subscription(filter, &v).map_err(|e| self.corrupt(&k, e))?);
        }
        Ok(out)
    }

    fn for_each_subscription(
        &self,
        visit: &mut dyn FnMut(&SubscriberKey, StoredSubscription),
    ) -> Result<()> {
        let prefix = [key::NS_SUBSCRIPTION];
        self.engine.scan(&prefix, &prefix, &mut |k, v| {
            let (_, mut r) = KeyReader::new(k)?;
            let sub = r.subscriber().map_err(|e| self.corrupt(k, e))?;
            let filter = std::str::from_utf8(r.tail())
                .map_err(|_| self.corrupt(k, Error::decode("subscription", "filter not UTF-8")))?
                .to_owned();
            let s = codec::decode_subscription(filter, &v).map_err(|e| self.corrupt(k, e))?;
            visit(&sub, s);
            Ok(ControlFlow::Continue(()))
        })
    }

    fn retained(&self, mountpoint: &str, topic: &str) -> Result<Option<StoredMessage>> {
        let k = key::retained(mountpoint, topic)?;
        match self.engine.get(&k)? {
            Some(v) => Ok(Some(
                codec::decode_message(&v).map_err(|e| self.corrupt(&k, e))?,
            )),
            None => Ok(None),
        }
    }

    fn scan_retained(
        &self,
        mountpoint: &str,
        topic_prefix: &str,
        visit: &mut dyn FnMut(StoredMessage),
    ) -> Result<()> {
        let prefix = key::retained(mountpoint, topic_prefix)?;
        self.engine.scan(&prefix, &prefix, &mut |k, v| {
            visit(codec::decode_message(&v).map_err(|e| self.corrupt(k, e))?);
            Ok(ControlFlow::Continue(()))
        })
    }

    fn for_each_retained(&self, visit: &mut dyn FnMut(StoredMessage)) -> Result<()> {
        let prefix = [key::NS_RETAINED];
        self.engine.scan(&prefix, &prefix, &mut |k, v| {
            visit(codec::decode_message(&v).map_err(|e| self.corrupt(k, e))?);
            Ok(ControlFlow::Continue(()))
        })
    }

    fn session(&self, subscriber: &SubscriberKey) -> Result<Option<StoredSession>> {
        let k = key::session(subscriber)?;
        match self.engine.get(&k)? {
            Some(v) => Ok(Some(
                codec::decode_session(&v).map_err(|e| self.corrupt(&k, e))?,
            )),
            None => Ok(None),
        }
    }

    fn for_each_session(&self, visit: &mut dyn FnMut(SubscriberKey, StoredSession)) -> Result<()> {
        let prefix = [key::NS_SESSION];
        self.engine.scan(&prefix, &prefix, &mut |k, v| {
            let (_, mut r) = KeyReader::new(k)?;
            let sub = r.subscriber().map_err(|e| self.corrupt(k, e))?;
            visit(
                sub,
                codec::decode_session(&v).map_err(|e| self.corrupt(k, e))?,
            );
            Ok(ControlFlow::Continue(()))
        })
    }

    fn generic_get(&self, namespace: &str, k: &[u8]) -> Result<Option<Bytes>> {
        self.engine.get(&key::generic(namespace, k)?)
    }

    fn generic_scan(
        &self,
        namespace: &str,
        key_prefix: &[u8],
        visit: &mut dyn FnMut(&[u8], Bytes),
    ) -> Result<()> {
        let ns_prefix_len = key::generic(namespace, b"")?.len();
        let prefix = key::generic(namespace, key_prefix)?;
        self.engine.scan(&prefix, &prefix, &mut |k, v| {
            visit(&k[ns_prefix_len..], v);
            Ok(ControlFlow::Continue(()))
        })
    }
}
