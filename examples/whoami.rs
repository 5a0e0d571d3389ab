//! A tiny upstream that shows the request it received, identity headers included.
//!
//! `cargo run --example whoami -- 127.0.0.1:3000`

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("whoami listening on http://{}", listener.local_addr()?);
    portcullis::demo::serve_whoami(listener).await;
    Ok(())
}
