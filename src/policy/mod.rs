//! Decisions as plain functions over facts: the DAG, code owners, required checks.

pub mod checks;
pub mod codeowners;
pub mod dag;
