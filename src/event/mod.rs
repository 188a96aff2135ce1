//! Inbound events, decoded at the edge into Hoist's own types.

pub mod ecr;
