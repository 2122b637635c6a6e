//! citadel-agent: discovers an AWS estate with read-only EC2 APIs, evaluates
//! sandboxed WebAssembly check packs against it, signs the verdicts and pushes
//! them to the collector over mTLS, spooling to disk while the collector is away.
//!
//! Pipeline: [`discovery`] → [`plugin_host`] → [`batch`] → sign ([`citadel_wire`])
//! → [`spool`] → [`push`]; [`service`] runs it on a schedule (`citadel-agent run`).

pub mod backoff;
pub mod batch;
pub mod cli;
pub mod config;
pub mod discovery;
pub mod enroll;
pub mod fsutil;
pub mod identity;
pub mod parts;
pub mod plugin_dev;
pub mod plugin_host;
pub mod push;
pub mod scan;
pub mod service;
pub mod spool;
pub mod state;
pub mod status;
mod summary;
pub mod tls;

pub use cli::{Cli, run};
