//! In-process tests of the router against a fake sidecar.
