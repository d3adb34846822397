//! placeholder
#![forbid(unsafe_code)]
pub mod bundle;
pub mod config;
pub mod error;
pub mod model;
