//! The engine's ceiling: a Pingora reverse proxy with no logic at all, run with the same
//! threads, runtime flavour and allocator as the gateway, so that `bench/run.sh` can show what
//! the gateway costs over Pingora itself.
//!
//! `cargo run --release --example bare_pingora -- LISTEN UPSTREAM THREADS [steal|nosteal]`

use async_trait::async_trait;
use pingora::prelude::*;
use pingora::server::configuration::ServerConf;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Bare {
    upstream: std::net::SocketAddr,
}

#[async_trait]
impl ProxyHttp for Bare {
    type CTX = ();

    fn new_ctx(&self) {}

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.upstream, false, String::new())))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: bare_pingora LISTEN UPSTREAM THREADS [steal|nosteal]");
        std::process::exit(2);
    }
    let upstream = args[2]
        .parse()
        .expect("UPSTREAM is an address like 127.0.0.1:3000");
    let conf = ServerConf {
        threads: args[3].parse().expect("THREADS is a number"),
        work_stealing: args.get(4).map(String::as_str) == Some("steal"),
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut proxy = http_proxy_service(&server.configuration, Bare { upstream });
    proxy.add_tcp(&args[1]);
    server.add_service(proxy);
    server.run_forever();
}
