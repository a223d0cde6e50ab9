//! `lucent bench`: the tools behind BENCHMARKS.md, shipped with the server
//! so that anyone can measure their own machine.

pub mod fill;
pub mod load;
