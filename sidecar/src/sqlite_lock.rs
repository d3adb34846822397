//! Opening an sqlite file other processes share (the stand-in's name registry, `state.sqlite`
//! components): switching a file's journal mode takes it to itself for an instant, and sqlite
//! answers SQLITE_BUSY for that at once, without consulting the busy handler, so sidecars that
//! open one file at the same moment retry the step.

use std::time::{Duration, Instant};

use backon::{BlockingRetryable, ConstantBuilder};

/// Pause between two attempts.
const PAUSE: Duration = Duration::from_millis(10);

/// sqlite's "the file is locked by another connection".
pub(crate) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Runs `step` (idempotent) until it is not refused as busy, for up to `limit` in all. Blocks:
/// call it where blocking is allowed (start-up, a blocking thread).
pub(crate) fn retry_while_busy<T>(
    limit: Duration,
    step: impl FnMut() -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let started = Instant::now();
    step.retry(ConstantBuilder::default().with_delay(PAUSE).without_max_times())
        .sleep(std::thread::sleep)
        .when(|e| is_busy(e) && started.elapsed() < limit)
        .call()
}
