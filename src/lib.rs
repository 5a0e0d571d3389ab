//! Portcullis: a reverse-proxy authentication gateway on Pingora.
//!
//! [`Gateway::open`] turns a validated [`config::Config`] into the shared [`State`] (store, key,
//! session cache, regulation), and [`Gateway::run`] serves it. `main`, `demo` and the tests all
//! start the gateway this way. What happens to a request is told top to bottom in [`proxy`].

pub mod auth;
pub mod background;
pub mod cli;
pub mod config;
pub mod connections;
pub mod demo;
pub mod http_response;
pub mod metrics;
pub mod policy;
pub mod portal;
pub mod proxy;
pub mod routes;
pub mod session;
pub mod state;
pub mod store;

use std::sync::Arc;

use pingora::listeners::tls::TlsSettings;
use pingora::proxy::HttpProxy;
use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server, ShutdownSignalWatch};
use pingora::services::background::background_service;
use pingora::services::listening::Service;

use crate::auth::keys::{KeyError, SecretBox};
use crate::config::Config;
use crate::connections::{Connections, Front, Warden};
use crate::store::{Store, StoreError};

pub use crate::state::State;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database {path}: {source}")]
    Store { path: String, source: StoreError },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("{0}")]
    Server(String),
}

/// The gateway: state plus the server that serves it.
pub struct Gateway {
    state: Arc<State>,
}

impl Gateway {
    /// Opens the store and the key, and prepares caches. Fails with a clear message when the
    /// database cannot be opened or the key file does not match it.
    pub fn open(config: Config) -> Result<Gateway, StartError> {
        let store = Store::open(&config.storage.path).map_err(|source| StartError::Store {
            path: config.storage.path.display().to_string(),
            source,
        })?;
        let secrets = SecretBox::load_or_create(&config.storage.key_file, &store)?;
        let state = State::new(config, store, secrets, auth::unix_now());
        Ok(Gateway {
            state: Arc::new(state),
        })
    }

    pub fn state(&self) -> &Arc<State> {
        &self.state
    }

    /// Builds the pingora server with the proxy and background services.
    pub fn server(&self) -> Result<Server, StartError> {
        let cfg = &self.state.config;
        let conf = ServerConf {
            threads: cfg.server.threads,
            grace_period_seconds: Some(0),
            graceful_shutdown_timeout_seconds: Some(1),
            ca_file: cfg
                .server
                .upstream_ca_file
                .as_ref()
                .map(|p| p.display().to_string()),
            ..ServerConf::default()
        };
        let mut server = Server::new_with_opt_and_conf(None, conf);
        server.bootstrap();
        let connections = Arc::new(Connections::new(connections::limits(&cfg.server)));
        let server_conf = Arc::clone(&server.configuration);
        let front = |tls: bool| {
            let mut proxy = HttpProxy::new(
                proxy::Proxy::new(Arc::clone(&self.state), tls),
                Arc::clone(&server_conf),
            );
            proxy.handle_init_modules();
            Front::new(proxy, Arc::clone(&connections))
        };
        let mut plain = Service::new("portcullis".to_string(), front(false));
        for addr in &cfg.server.listen {
            plain.add_listener(connections::listener(addr, None));
        }
        server.add_service(plain);
        if let Some(tls) = &cfg.server.tls {
            let mut https = Service::new("portcullis-tls".to_string(), front(true));
            let settings = TlsSettings::intermediate(
                &tls.cert.display().to_string(),
                &tls.key.display().to_string(),
            )
            .map_err(|e| StartError::Server(format!("TLS listener: {e}")))?;
            https.add_listener(connections::listener(&tls.listen, Some(settings)));
            server.add_service(https);
        }
        server.add_service(background_service(
            "portcullis-maintenance",
            background::Maintenance::new(Arc::clone(&self.state)),
        ));
        let state = Arc::clone(&self.state);
        server.add_service(background_service(
            "portcullis-warden",
            Warden { connections, state },
        ));
        if let Some(m) = &cfg.metrics {
            let listener = metrics::MetricsListener::bind(m.listen, Arc::clone(&self.state))
                .map_err(|e| {
                    StartError::Server(format!("cannot listen for metrics on {}: {e}", m.listen))
                })?;
            server.add_service(background_service("portcullis-metrics", listener));
        }
        Ok(server)
    }

    /// Serves until `shutdown` answers. Blocks the calling thread.
    pub fn run(
        self,
        shutdown: Box<dyn ShutdownSignalWatch + Send + Sync>,
    ) -> Result<(), StartError> {
        let server = self.server()?;
        server.run(RunArgs {
            shutdown_signal: shutdown,
        });
        Ok(())
    }
}
