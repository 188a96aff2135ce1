//! Test support shared by the integration tests.

pub mod github_fake;
pub mod memory_forge;
