//! `keel`, the router (Dapr app-id `keel`): loads its configuration, starts the router, logs its
//! addresses and runs until SIGINT/SIGTERM (`keel_sdk::service::main`). Everything else lives in
//! the library (`src/lib.rs`).

use std::process::ExitCode;

/// Every routed request allocates and frees header maps, URLs and body chunks; with jemalloc keel
/// forwards a few percent more requests per core than with glibc's malloc, whose fastbin
/// consolidation showed up in its profile, at about the same resident memory (14 MB under
/// load). mimalloc was measured too: as fast, but its huge-page-backed segments took keel's RSS
/// to 28 MB with two plugins, too close to the 30 MB budget (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    keel_sdk::service::main(keel_sdk::protocol::KEEL_APP_ID, keel::Config::from_env, keel::start)
}
