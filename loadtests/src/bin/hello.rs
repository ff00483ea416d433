//! The baseline the hot-property numbers are compared with: a plain
//! actix-web hello-world route, same framework, same machine, same worker
//! count as `innkeep serve`.
//!
//! cargo run --release -p innkeep-loadtests --bin hello -- 127.0.0.1:8090

use actix_web::{App, HttpServer, get};

#[get("/")]
async fn hello() -> &'static str {
    "hello, world"
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".to_owned());
    HttpServer::new(|| App::new().service(hello))
        .bind(bind)?
        .run()
        .await
}
