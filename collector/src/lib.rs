//! Citadel collector: verifies signed scan batches from enrolled agents and
//! stores them with the assets and check results they carry.
//!
//! Pipeline stages, one module each: [`pki`] (CA, enrollment certificates,
//! client identity), [`ingest`] (verify an incoming batch), [`store`] (write it
//! to SQLite or PostgreSQL), [`mapping`] (plans controls, policies and evidence
//! through the SCF [`catalog`]; the store writes the plan), [`http`] and
//! [`serve`] (the two TLS listeners).

pub mod bench;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod http;
pub mod ingest;
pub mod mapping;
pub mod pki;
pub mod posture;
pub mod serve;
pub mod store;
