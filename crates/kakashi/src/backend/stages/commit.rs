//! The ordered half: hand a prepared run's lines to the writers (one
//! worker at a time, in ticket order), retry what a writer hands back, and
//! count each record's outcome.
//!
//! A full disk (`ENOSPC`, `EDQUOT`, `EFBIG`) under `block` is waited out:
//! the worker retries the batch with a growing pause (up to a second) for as
//! long as its caller says to (`persist`: the backend is not abandoning its
//! queue), so the queue fills and callers wait, and nothing is lost. Under
//! the drop strategies, and for every other error, what the writer gave up
//! on fails, counted.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use super::prepare::{OutBuf, Prepared};
use super::{enter_stage, Output, Stages, WriterCounters};
use crate::backend::stats::Counters;
use crate::backend::timed_lock::lock;
use crate::pipeline::{Batch, Writer};

/// Hands each output's lines to its writers and counts the outcome of every
/// record. Returns the number of records written. While `persist()` is
/// true, a batch that failed for lack of room is retried instead of failed.
pub(crate) fn commit(
    stages: &Stages,
    prep: &mut Prepared,
    counters: &Counters,
    persist: &dyn Fn() -> bool,
) -> u64 {
    let _stage = enter_stage();
    // A writer that forks (a Python writer calling `os.fork`) returns twice;
    // in the child, the rest of this batch is the parent's to write and the
    // whole of it the parent's to count: checked after each writer.
    let generation = crate::record::fork_generation();
    for (output, buf) in stages.outputs.iter().zip(&prep.outs) {
        if buf.ends.is_empty() {
            continue;
        }
        if output.abandoned.load(Relaxed) {
            abandoned(output, buf, &mut prep.failed, counters, stages);
            continue;
        }
        let batch = Batch::new(&buf.bytes, &buf.ends);
        let mut writers = output.writers.lock();
        for (writer, c) in writers.iter_mut().zip(&output.counters) {
            write_all(
                writer,
                c,
                &batch,
                &buf.index,
                &mut prep.failed,
                counters,
                stages,
                persist,
            );
            if crate::record::fork_generation() != generation {
                return 0;
            }
        }
        counters.batches_written.fetch_add(1, Relaxed);
        counters
            .bytes_written
            .fetch_add(buf.bytes.len() as u64, Relaxed);
    }
    let (mut written, mut failed, mut filtered) = (0, 0, 0);
    for i in 0..prep.records {
        if prep.failed[i] {
            failed += 1;
        } else if prep.routed[i] {
            written += 1;
        } else {
            filtered += 1;
        }
    }
    counters.messages_written.fetch_add(written, Relaxed);
    counters.messages_failed.fetch_add(failed, Relaxed);
    counters.messages_filtered.fetch_add(filtered, Relaxed);
    written
}

/// Whether an I/O error says there is no room (a full disk, a quota, a
/// file size limit): what room made later fixes.
fn out_of_room(error: &std::io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EFBIG)
    )
}

/// Delivers `batch` to one writer, handing back the remainder after each
/// partial failure, and marks the records it gave up on.
#[allow(clippy::too_many_arguments)]
fn write_all(
    writer: &mut Box<dyn Writer>,
    c: &WriterCounters,
    batch: &Batch<'_>,
    index: &[u32],
    failed: &mut [bool],
    counters: &Counters,
    stages: &Stages,
    persist: &dyn Fn() -> bool,
) {
    let mut pause = Duration::from_millis(10);
    let mut start = 0;
    let generation = crate::record::fork_generation();
    while start < batch.len() {
        if crate::record::fork_generation() != generation {
            // The writer forked and this is the child: what is left of the
            // batch is the parent's to write (`commit` counts nothing).
            return;
        }
        let (tail_ends, tail_bytes);
        let sub = if start == 0 {
            *batch
        } else {
            (tail_ends, tail_bytes) = batch.tail(start);
            Batch::new(tail_bytes, &tail_ends)
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| writer.write_batch(&sub)));
        let retries = writer.take_retries();
        c.retries.fetch_add(retries, Relaxed);
        counters.write_retries.fetch_add(retries, Relaxed);
        let (delivered, given_up, error) = match outcome {
            Ok(Ok(())) => (sub.len(), 0, None),
            Ok(Err(e)) if out_of_room(&e.error) && persist() => {
                // No room: keep what was delivered, wait, and hand the rest
                // back (counted as a retry, reported once on stderr).
                let delivered = e.written.min(sub.len());
                c.written.fetch_add(delivered as u64, Relaxed);
                c.retries.fetch_add(1, Relaxed);
                counters.write_retries.fetch_add(1, Relaxed);
                if !c.reported.swap(true, Relaxed) {
                    eprintln!(
                        "kakashi: writer {}: {}; waiting for room (overflow strategy block)",
                        c.name, e.error
                    );
                }
                start += delivered;
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(1));
                continue;
            }
            Ok(Err(e)) => {
                let delivered = e.written.min(sub.len());
                // A writer that reports neither progress nor failures gives up on the rest.
                let given_up = if e.written == 0 && e.failed == 0 {
                    sub.len()
                } else {
                    e.failed.min(sub.len() - delivered)
                };
                (delivered, given_up, Some(e.error.to_string()))
            }
            Err(panic) => (
                0,
                sub.len(),
                Some(format!(
                    "writer panicked: {}",
                    crate::panic_message(&*panic)
                )),
            ),
        };
        c.written.fetch_add(delivered as u64, Relaxed);
        if let Some(error) = error {
            c.failed.fetch_add(given_up as u64, Relaxed);
            c.errors.fetch_add(1, Relaxed);
            counters.write_errors.fetch_add(1, Relaxed);
            for &i in &index[start + delivered..start + delivered + given_up] {
                failed[i as usize] = true;
            }
            let text = format!("{}: {error}", c.name);
            if !c.reported.swap(true, Relaxed) {
                eprintln!("kakashi: writer {text} (further failures are counted in the stats)");
            }
            stages.pending_failures.fetch_add(given_up as u64, Relaxed);
            *lock(&stages.last_failure) = text;
            stages.has_pending.store(true, Relaxed);
        }
        start += delivered + given_up;
    }
}

/// Fails an abandoned output's lines (a forked child whose parent was
/// writing to it at the fork).
fn abandoned(
    output: &Output,
    buf: &OutBuf,
    failed: &mut [bool],
    counters: &Counters,
    stages: &Stages,
) {
    const WHY: &str = "a thread of the parent process was using this writer when it forked";
    for &i in &buf.index {
        failed[i as usize] = true;
    }
    let n = buf.index.len() as u64;
    for c in &output.counters {
        c.failed.fetch_add(n, Relaxed);
        c.errors.fetch_add(1, Relaxed);
        if !c.reported.swap(true, Relaxed) {
            eprintln!(
                "kakashi: writer {}: {WHY}; its records fail in this process (counted in the stats)",
                c.name
            );
        }
    }
    counters.write_errors.fetch_add(1, Relaxed);
    stages.pending_failures.fetch_add(n, Relaxed);
    *lock(&stages.last_failure) = WHY.to_owned();
    stages.has_pending.store(true, Relaxed);
}
