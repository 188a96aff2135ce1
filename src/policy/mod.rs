//! Decisions as plain functions over facts: the DAG, code owners, required checks, and
//! the merge gate that puts them together.

pub mod checks;
pub mod codeowners;
pub mod dag;
pub mod gate;
pub mod rollback;
pub mod window;
