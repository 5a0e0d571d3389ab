//! End-to-end tests: the gateway in-process on a loopback port, a real upstream that echoes
//! what it received, and real HTTP between them. The same tests build twice: as `it` on
//! SQLite, and as `it_postgres` on a throw-away PostgreSQL cluster (see `pg.rs`).

mod helpers;
mod pg;

mod admin;
mod audit;
mod bans;
mod bans_under_load;
mod catalogs;
mod cli_bans;
mod csrf;
mod edge;
mod edge_cases;
mod failed_logins;
mod forward_auth_real;
mod lifecycle;
mod malformed_input;
mod metrics;
mod pages;
mod passkeys;
mod paths;
mod portal_headers;
mod proxy;
mod resilience;
mod resilience_store;
mod scaleout;
mod second_factor;
mod selfservice;
mod sessions;
