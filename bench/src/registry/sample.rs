//! CPU and memory of one process over a window: CPU from procfs totals at both ends (exact to
//! the kernel's 10 ms tick), resident memory sampled every 250 ms for the peak.

use std::cell::Cell;
use std::fs;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::procstat::{self, sample_tree, Sample};

/// How often resident memory is sampled.
const EVERY: Duration = Duration::from_millis(250);

/// What a process used over a window.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// Wall-clock length of the window.
    pub seconds: f64,
    /// CPU seconds (user + system) used in it.
    pub cpu_seconds: f64,
    /// Highest resident set size seen, in bytes.
    pub peak_rss: u64,
}

impl Usage {
    /// Average cores busy (1.0 = one core all the time).
    pub fn cores(&self) -> f64 {
        if self.seconds > 0.0 {
            self.cpu_seconds / self.seconds
        } else {
            0.0
        }
    }
}

/// Which part of a process tree is measured.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// The process and its descendants.
    Tree(u32),
    /// The process without its children (a `sidecar run` hosting its app as a child).
    Alone(u32),
}

impl Scope {
    fn read(self) -> Sample {
        match self {
            Scope::Tree(pid) => sample_tree(pid),
            Scope::Alone(pid) => {
                let own = sample_tree(pid);
                let kids: Vec<Sample> = procstat::children(pid).into_iter().map(sample_tree).collect();
                Sample {
                    cpu_seconds: own.cpu_seconds - kids.iter().map(|k| k.cpu_seconds).sum::<f64>(),
                    rss_bytes: own.rss_bytes.saturating_sub(kids.iter().map(|k| k.rss_bytes).sum::<u64>()),
                }
            }
        }
    }
}

/// A window being measured; [`Watch::finish`] closes it.
pub struct Watch {
    scope: Scope,
    start: Sample,
    started: Instant,
    peak: Rc<Cell<u64>>,
    task: actix_rt::task::JoinHandle<()>,
}

impl Watch {
    /// Opens a window on `scope` now.
    pub fn start(scope: Scope) -> Watch {
        let start = scope.read();
        let peak = Rc::new(Cell::new(start.rss_bytes));
        let sampler = peak.clone();
        let task = actix_rt::spawn(async move {
            loop {
                tokio::time::sleep(EVERY).await;
                sampler.set(sampler.get().max(scope.read().rss_bytes));
            }
        });
        Watch { scope, start, started: Instant::now(), peak, task }
    }

    /// Closes the window.
    pub fn finish(self) -> Usage {
        let end = self.scope.read();
        self.task.abort();
        Usage {
            seconds: self.started.elapsed().as_secs_f64(),
            cpu_seconds: (end.cpu_seconds - self.start.cpu_seconds).max(0.0),
            peak_rss: self.peak.get().max(end.rss_bytes),
        }
    }
}

/// Several windows opened and closed together.
pub struct Watches(Vec<Watch>);

impl Watches {
    /// Opens one window per scope.
    pub fn start(scopes: &[Scope]) -> Watches {
        Watches(scopes.iter().map(|s| Watch::start(*s)).collect())
    }

    /// Closes them, in the order they were given.
    pub fn finish(self) -> Vec<Usage> {
        self.0.into_iter().map(Watch::finish).collect()
    }
}

/// The process's own lifetime peak resident set (`VmHWM`), in bytes.
pub fn lifetime_peak_rss(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 =
        status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.split_whitespace().next()?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn measures_this_process() {
        let pid = std::process::id();
        let watch = Watch::start(Scope::Tree(pid));
        let usage = watch.finish();
        assert!(usage.peak_rss > 0);
        assert!(usage.cores() >= 0.0);
        assert!(lifetime_peak_rss(pid).is_some_and(|p| p > 0));
    }
}
