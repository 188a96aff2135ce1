//! Test support shared by the integration tests.

pub mod codecommit_fake;
pub mod github_fake;
pub mod http_engine;
pub mod lambda_runtime;
pub mod matrix;
pub mod memory_forge;
pub mod moto;
pub mod proxy;
pub mod serve;
pub mod served;
pub mod tester;
