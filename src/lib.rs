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
pub mod edge;
pub mod http_response;
pub mod i18n;
pub mod lifecycle;
pub mod metrics;
pub mod policy;
pub mod portal;
pub mod proxy;
pub mod routes;
pub mod session;
pub mod state;
pub mod store;
pub mod user_fields;

use std::sync::Arc;

use pingora::proxy::HttpProxy;
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
    connections: Arc<Connections>,
}

impl Gateway {
    /// Opens the store and the key, and prepares caches. Fails with a clear message when the
    /// database cannot be opened or the key file does not match it.
    pub fn open(config: Config) -> Result<Gateway, StartError> {
        // One TLS provider for every client and server in the process (the ACME client builds
        // its own configuration from the default); a second install is refused harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store =
            Store::open_at(&config.storage.location()).map_err(|source| StartError::Store {
                path: config.storage.describe(),
                source,
            })?;
        let secrets = SecretBox::load_or_create(&config.storage.key_file, &store)?;
        let limits = connections::limits(&config.server);
        let state = Arc::new(State::new(config, store, secrets, auth::unix_now()));
        state.listen_to_store();
        Ok(Gateway {
            state,
            connections: Arc::new(Connections::new(limits)),
        })
    }

    pub fn state(&self) -> &Arc<State> {
        &self.state
    }

    /// The pingora server with the proxy and background services, to run as `run` says.
    pub fn server(&self, run: lifecycle::Run) -> Result<Server, StartError> {
        let cfg = self.state.config();
        let conf = run.server_conf(&cfg.server);
        let mut server = Server::new_with_opt_and_conf(None, conf);
        server.bootstrap();
        let connections = Arc::clone(&self.connections);
        let server_conf = Arc::clone(&server.configuration);
        let front = |tls: Option<pingora::listeners::tls::Acceptor>| {
            let mut proxy = HttpProxy::new(
                proxy::Proxy::new(Arc::clone(&self.state), tls.is_some()),
                Arc::clone(&server_conf),
            );
            proxy.handle_init_modules();
            Front::new(proxy, Arc::clone(&connections), tls)
        };
        let mut plain = Service::new("portcullis".to_string(), front(None));
        for addr in &cfg.server.listen {
            plain.add_listener(connections::listener(addr));
        }
        server.add_service(plain);
        if let Some(tls) = &cfg.server.tls {
            let acceptor = connections::tls_acceptor(&self.state.edge)
                .map_err(|e| StartError::Server(format!("TLS listener: {e}")))?;
            let mut https = Service::new("portcullis-tls".to_string(), front(Some(acceptor)));
            https.add_listener(connections::listener(&tls.listen));
            server.add_service(https);
            if tls.acme.is_some() {
                server.add_service(background_service(
                    "portcullis-acme",
                    edge::acme::Acme::new(Arc::clone(&self.state)),
                ));
            }
        }
        server.add_service(background_service(
            "portcullis-maintenance",
            background::Maintenance::new(Arc::clone(&self.state), self.reloader()),
        ));
        let state = Arc::clone(&self.state);
        server.add_service(background_service(
            "portcullis-warden",
            Warden { connections, state },
        ));
        if let Some(m) = &cfg.metrics {
            let listener = metrics::MetricsListener::bind(m.listen, Arc::clone(&self.state))
                .map_err(|e| StartError::Server(format!("metrics on {}: {e}", m.listen)))?;
            server.add_service(background_service("portcullis-metrics", listener));
        }
        Ok(server)
    }

    fn reloader(&self) -> Arc<lifecycle::Reloader> {
        let (state, connections) = (Arc::clone(&self.state), Arc::clone(&self.connections));
        Arc::new(lifecycle::Reloader::new(state, connections))
    }

    /// Serves until `SIGTERM` or `SIGINT`, reloading at `SIGHUP` (see [`lifecycle`]).
    pub fn serve(self) -> Result<(), StartError> {
        let run = lifecycle::Run::serve(&self.state.config().server);
        let reloader = self.reloader();
        self.run_as(run, Box::new(lifecycle::Signals { reloader }))
    }

    /// Serves until `shutdown` answers, then stops at once. Blocks the calling thread.
    pub fn run(
        self,
        shutdown: Box<dyn ShutdownSignalWatch + Send + Sync>,
    ) -> Result<(), StartError> {
        self.run_as(lifecycle::Run::in_process(), shutdown)
    }

    fn run_as(
        self,
        run: lifecycle::Run,
        shutdown_signal: Box<dyn ShutdownSignalWatch + Send + Sync>,
    ) -> Result<(), StartError> {
        self.server(run)?.run(RunArgs { shutdown_signal });
        Ok(())
    }
}
