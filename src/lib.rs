//! Hoist promotes container images through environments by pull request.

pub mod cli;
pub mod config;
pub mod diff;
pub mod fsutil;
pub mod image;
pub mod manifest;
pub mod suggest;
pub mod tags;
