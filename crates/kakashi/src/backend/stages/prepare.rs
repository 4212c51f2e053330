//! The parallel half of running a run of records: enrich, filter and
//! format each record into every output's buffer, guarding every stage.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;

use super::failures::{ENRICHER_FAILURES, FILTER_FAILURES, FORMATTER_FAILURES};
use super::{enter_stage, Stages};
use crate::backend::stats::Counters;
use crate::record::Record;

/// One output's formatted lines for a run.
#[derive(Default)]
pub(super) struct OutBuf {
    pub(super) bytes: Vec<u8>,
    pub(super) ends: Vec<usize>,
    /// Which record (index into the run) each line is.
    pub(super) index: Vec<u32>,
}

/// A run of records of one pipeline, formatted and waiting for its turn.
#[derive(Default)]
pub(crate) struct Prepared {
    pub(super) outs: Vec<OutBuf>,
    /// Per record: failed (formatter or writer).
    pub(super) failed: Vec<bool>,
    /// Per record: reached at least one output.
    pub(super) routed: Vec<bool>,
    pub(super) records: usize,
}

/// Enriches, filters and formats `records` into `prep`.
pub(crate) fn prepare<'a>(
    stages: &Stages,
    records: impl Iterator<Item = &'a mut Record>,
    prep: &mut Prepared,
    counters: &Counters,
) {
    prep.outs.resize_with(stages.outputs.len(), OutBuf::default);
    for out in &mut prep.outs {
        out.bytes.clear();
        out.ends.clear();
        out.index.clear();
    }
    prep.failed.clear();
    prep.routed.clear();
    prep.records = 0;
    let _stage = enter_stage();
    match &stages.stage_scope {
        None => prepare_records(stages, records, prep, counters),
        Some(scope) => {
            let mut records = Some(records);
            let _ = catch_unwind(AssertUnwindSafe(|| {
                scope(&mut || {
                    if let Some(records) = records.take() {
                        prepare_records(stages, records, prep, counters);
                    }
                })
            }));
            // A scope that failed or never called us must not lose the batch.
            if let Some(records) = records.take() {
                prepare_records(stages, records, prep, counters);
            }
        }
    }
}

fn prepare_records<'a>(
    stages: &Stages,
    records: impl Iterator<Item = &'a mut Record>,
    prep: &mut Prepared,
    counters: &Counters,
) {
    for record in records {
        let i = prep.records;
        prep.records += 1;
        prep.failed.push(false);
        prep.routed.push(false);
        for enricher in &stages.enrichers {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| enricher.enrich(record))) {
                counters.enricher_errors.fetch_add(1, Relaxed);
                ENRICHER_FAILURES.report(&*payload);
            }
        }
        let kept = stages.filters.iter().all(|filter| {
            catch_unwind(AssertUnwindSafe(|| filter.allows(record))).unwrap_or_else(|payload| {
                counters.filter_errors.fetch_add(1, Relaxed);
                FILTER_FAILURES.report(&*payload);
                true
            })
        });
        if !kept {
            continue;
        }
        for (output, buf) in stages.outputs.iter().zip(&mut prep.outs) {
            if record.level < output.min_level {
                continue;
            }
            prep.routed[i] = true;
            let start = buf.bytes.len();
            let formatted = catch_unwind(AssertUnwindSafe(|| {
                output.formatter.format(record, &mut buf.bytes)
            }));
            if let Err(payload) = formatted {
                buf.bytes.truncate(start);
                prep.failed[i] = true;
                counters.formatter_errors.fetch_add(1, Relaxed);
                FORMATTER_FAILURES.report(&*payload);
                continue;
            }
            buf.bytes.push(b'\n');
            buf.ends.push(buf.bytes.len());
            buf.index.push(i as u32);
        }
    }
}
