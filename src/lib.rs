//! lucent: a transparent telemetry log. Reports travel
//! HTTP ([`api`]) → validation ([`lucent_core::record`]) → the single writer
//! ([`sequencer`]) → pending rows ([`storage`]) → the period's publication
//! ([`sequencer`]) → tiles, roots and receipts served by [`api`].
//!
//! [`witness`] is `lucent witness`, a C2SP tlog-witness server for other logs.

pub mod api;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod cosigning;
pub mod datadir;
pub mod host;
pub mod http;
pub mod listener;
pub mod metrics;
pub mod pages;
pub mod published;
pub mod routes;
pub mod sequencer;
pub mod server;
pub mod stats;
pub mod storage;
pub mod witness;

pub use lucent_core as core;
pub use lucent_wire as wire;
