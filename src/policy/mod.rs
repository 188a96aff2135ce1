//! Decisions as plain functions over facts: the DAG, code owners.

pub mod codeowners;
pub mod dag;
