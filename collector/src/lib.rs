//! Citadel collector: verifies signed scan batches from enrolled agents and
//! stores them with the assets and check results they carry.
//!
//! Pipeline stages, one module each: [`pki`] (CA, enrollment certificates,
//! client identity), [`ingest`] (verify an incoming batch), [`store`] (write it
//! to SQLite or PostgreSQL), [`mapping`] (plans controls, policies and evidence
//! through the SCF [`catalog`]; the store writes the plan), [`http`] and
//! [`serve`] (the two TLS listeners).
//! Operators and auditors come in through [`api`] (REST + OpenAPI), which
//! goes through [`auth`] (users, roles, the guard) to the store; every
//! change is recorded in the [`audit`] log. The web [`console`] is the
//! same guard and store functions rendered as HTML pages.

pub mod api;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod bench_api;
pub mod catalog;
pub mod cli;
pub mod cli_users;
pub mod config;
pub mod console;
pub mod http;
pub mod ingest;
pub mod limits;
pub mod mapping;
pub mod pki;
pub mod posture;
pub mod revocation;
pub mod serve;
pub mod store;
