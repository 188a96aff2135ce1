//! Hoist promotes container images through environments by pull request.

pub mod argocd;
pub mod backoff;
pub mod cli;
pub mod command;
pub mod config;
pub mod diff;
pub mod engine;
pub mod env;
pub mod event;
pub mod forge;
pub mod freight;
pub mod fsutil;
pub mod image;
pub mod ingress;
pub mod lambda;
pub mod manifest;
pub mod messages;
pub mod plan;
pub mod policy;
pub mod registry;
pub mod repo;
pub mod server;
pub mod store;
pub mod suggest;
pub mod tags;
pub mod worker;
