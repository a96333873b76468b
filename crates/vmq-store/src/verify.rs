//! [`Store::verify`] and [`Store::repair`]: check every record and every cross-reference
//! (queue entry -> message, position <-> entry, refcount = number of entries, sequence
//! counter above every entry), and optionally drop or fix what is wrong.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use bytes::Bytes;

use crate::codec;
use crate::engine::{EngineBatch, EngineOp};
use crate::error::Result;
use crate::key::{self, KeyReader};
use crate::store::{Store, META_FORMAT, META_SEQ};

/// One problem found by [`Store::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The record, rendered by [`key::describe`].
    pub key: String,
    /// What is wrong, and (after a repair) what was done.
    pub reason: String,
}

/// The result of [`Store::verify`] or [`Store::repair`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records examined.
    pub records: u64,
    /// Problems found (empty: the store is consistent).
    pub problems: Vec<Problem>,
    /// True when the problems were fixed (records dropped or rewritten) and flushed.
    pub repaired: bool,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Store {
    /// Checks every record without changing anything.
    pub fn verify(&self) -> Result<VerifyReport> {
        let _w = self.writer.lock();
        let (report, _) = self.check()?;
        Ok(report)
    }

    /// Checks every record and fixes what is wrong: undecodable records are dropped, queue
    /// entries whose message is missing are dropped, refcounts are recomputed, messages no
    /// entry refers to are dropped, the sequence counter is raised. Then flushes. Run it on
    /// a store that [`Store::open`] accepts but whose reads fail with
    /// [`crate::Error::CorruptRecord`]; keep a copy of the directory first.
    pub fn repair(&self) -> Result<VerifyReport> {
        let mut w = self.writer.lock();
        let (mut report, fix) = self.check()?;
        if let Some(seq) = fix.next_seq {
            w.next_seq = seq;
        }
        for chunk in fix.ops.chunks(4096) {
            self.engine.apply(chunk.to_vec())?;
        }
        self.engine.flush()?;
        report.repaired = true;
        Ok(report)
    }

    fn check(&self) -> Result<(VerifyReport, Fix)> {
        let mut c = Checker {
            report: VerifyReport::default(),
            fix: Fix::default(),
        };
        let all = [0u8; 0];
        // Pass 1: messages, and decode everything that is self-contained.
        let mut messages: HashSet<u128> = HashSet::new();
        let mut refcounts: HashMap<u128, (Vec<u8>, u32)> = HashMap::new();
        let mut positions: HashMap<Vec<u8>, u64> = HashMap::new();
        let mut entries: Vec<(Vec<u8>, Vec<u8>, u128, u64)> = Vec::new();
        let mut stored_seq: Option<u64> = None;
        self.engine.scan(&all, &all, &mut |k, v| {
            c.report.records += 1;
            c.record(k, v, &mut |ns, r, v| match ns {
                key::NS_META => match r.tail() {
                    t if t == META_FORMAT.as_bytes() => Ok(()),
                    t if t == META_SEQ.as_bytes() => {
                        stored_seq = Some(codec::decode_u64("sequence counter", &v)?);
                        Ok(())
                    }
                    _ => Err(crate::Error::decode("meta", "unknown meta record")),
                },
                key::NS_MESSAGE => {
                    let id = r.u128()?;
                    r.end()?;
                    let m = codec::decode_message(&v)?;
                    if m.msg_id != id {
                        return Err(crate::Error::decode("message", "id differs from key"));
                    }
                    messages.insert(id);
                    Ok(())
                }
                key::NS_REFCOUNT => {
                    let id = r.u128()?;
                    r.end()?;
                    refcounts.insert(id, (k.to_vec(), codec::decode_u32("refcount", &v)?));
                    Ok(())
                }
                key::NS_QUEUE => {
                    let sub = r.subscriber()?;
                    let seq = r.u64()?;
                    r.end()?;
                    let id = codec::decode_u128("queue entry", &v)?;
                    entries.push((k.to_vec(), key::position(&sub, id)?, id, seq));
                    Ok(())
                }
                key::NS_POSITION => {
                    r.subscriber()?;
                    r.u128()?;
                    r.end()?;
                    positions.insert(k.to_vec(), codec::decode_u64("queue position", &v)?);
                    Ok(())
                }
                key::NS_RETAINED => {
                    r.str()?;
                    let topic = r.tail().to_vec();
                    let m = codec::decode_message(&v)?;
                    if m.topic.as_bytes() != topic.as_slice() {
                        return Err(crate::Error::decode("retained", "topic differs from key"));
                    }
                    Ok(())
                }
                key::NS_SUBSCRIPTION => {
                    r.subscriber()?;
                    let filter = String::from_utf8(r.tail().to_vec())
                        .map_err(|_| crate::Error::decode("subscription", "filter not UTF-8"))?;
                    codec::decode_subscription(filter, &v).map(|_| ())
                }
                key::NS_SESSION => {
                    r.subscriber()?;
                    r.end()?;
                    codec::decode_session(&v).map(|_| ())
                }
                key::NS_GENERIC => r.str().map(|_| ()),
                other => Err(crate::Error::decode(
                    "key",
                    format!("unknown namespace {other:#04x}"),
                )),
            });
            Ok(ControlFlow::Continue(()))
        })?;

        // Pass 2: cross-references.
        let mut refs: HashMap<u128, u32> = HashMap::new();
        let mut max_seq: Option<u64> = None;
        let mut live_positions: HashSet<Vec<u8>> = HashSet::new();
        for (ekey, pkey, id, seq) in entries {
            if !messages.contains(&id) {
                c.problem(&ekey, format!("refers to missing message {id:032x}"));
                c.fix.ops.push(EngineOp::Delete(ekey));
                continue;
            }
            *refs.entry(id).or_insert(0) += 1;
            max_seq = Some(max_seq.map_or(seq, |m| m.max(seq)));
            if positions.get(&pkey) != Some(&seq) {
                c.problem(&pkey, "queue position missing or wrong".to_owned());
                c.fix
                    .ops
                    .push(EngineOp::Put(pkey.clone(), codec::encode_u64(seq)));
            }
            live_positions.insert(pkey);
        }
        for pkey in positions.keys() {
            if !live_positions.contains(pkey) {
                c.problem(pkey, "position without a queue entry".to_owned());
                c.fix.ops.push(EngineOp::Delete(pkey.clone()));
            }
        }
        for id in &messages {
            let want = refs.get(id).copied().unwrap_or(0);
            let have = refcounts.get(id).map(|(_, n)| *n);
            if want == 0 {
                c.problem(&key::message(*id), "no queue entry refers to it".to_owned());
                c.fix.ops.push(EngineOp::Delete(key::message(*id)));
                c.fix.ops.push(EngineOp::Delete(key::refcount(*id)));
            } else if have != Some(want) {
                c.problem(
                    &key::refcount(*id),
                    format!("refcount {have:?}, {want} entries refer to the message"),
                );
                c.fix
                    .ops
                    .push(EngineOp::Put(key::refcount(*id), codec::encode_u32(want)));
            }
        }
        for (id, (rkey, _)) in &refcounts {
            if !messages.contains(id) {
                c.problem(rkey, "refcount of a missing message".to_owned());
                c.fix.ops.push(EngineOp::Delete(rkey.clone()));
            }
        }
        if let Some(max) = max_seq {
            if stored_seq.is_none_or(|s| s <= max) {
                c.problem(
                    &key::meta(META_SEQ),
                    format!("sequence counter {stored_seq:?} not above {max}"),
                );
                c.fix.ops.push(EngineOp::Put(
                    key::meta(META_SEQ),
                    codec::encode_u64(max + 1),
                ));
                c.fix.next_seq = Some(max + 1);
            }
        }
        Ok((c.report, c.fix))
    }
}

#[derive(Default)]
struct Fix {
    ops: EngineBatch,
    next_seq: Option<u64>,
}

struct Checker {
    report: VerifyReport,
    fix: Fix,
}

type CheckFn<'a> = &'a mut dyn FnMut(u8, &mut KeyReader<'_>, Bytes) -> Result<()>;

impl Checker {
    fn problem(&mut self, k: &[u8], reason: String) {
        self.report.problems.push(Problem {
            key: key::describe(k),
            reason,
        });
    }

    /// Runs `check` on one record; a failure is a problem and the record is dropped.
    fn record(&mut self, k: &[u8], v: Bytes, check: CheckFn<'_>) {
        let res = KeyReader::new(k).and_then(|(ns, mut r)| check(ns, &mut r, v));
        if let Err(e) = res {
            self.problem(k, format!("undecodable, dropped on repair: {e}"));
            self.fix.ops.push(EngineOp::Delete(k.to_vec()));
        }
    }
}
