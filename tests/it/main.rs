//! End-to-end tests: the gateway in-process on a loopback port, a real upstream that echoes
//! what it received, and real HTTP between them.

mod helpers;

mod cli_bans;
mod edge_cases;
mod forward_auth_real;
mod hardening;
mod paths;
mod proxy;
mod resilience;
mod resilience_store;
mod second_factor;
