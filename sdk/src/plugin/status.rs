//! The status a plugin reports on `/v1/status`, changeable at run time from anywhere.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use crate::protocol::PluginStatus;

/// A shared, lock-free status cell. Clones share the value.
#[derive(Clone, Debug)]
pub struct StatusHandle(Arc<AtomicU8>);

impl Default for StatusHandle {
    /// Starts `ACTIVE`.
    fn default() -> Self {
        Self::new(PluginStatus::Active)
    }
}

impl StatusHandle {
    /// A cell holding `status`.
    pub fn new(status: PluginStatus) -> Self {
        Self(Arc::new(AtomicU8::new(index(status))))
    }

    /// The current status.
    pub fn get(&self) -> PluginStatus {
        PluginStatus::ALL[self.0.load(Ordering::Relaxed) as usize]
    }

    /// Changes the status; the next `/v1/status` reports it.
    pub fn set(&self, status: PluginStatus) {
        self.0.store(index(status), Ordering::Relaxed);
    }
}

fn index(status: PluginStatus) -> u8 {
    PluginStatus::ALL.iter().position(|s| *s == status).unwrap_or(0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_status() {
        let a = StatusHandle::default();
        let b = a.clone();
        assert_eq!(a.get(), PluginStatus::Active);
        for s in PluginStatus::ALL {
            b.set(s);
            assert_eq!(a.get(), s);
        }
    }
}
