//! tauri-build: embeds `tauri.conf.json`, the capabilities and the icons.
//!
//! `generate_context!` needs `build.frontendDist` (`../ui/dist`) to exist at
//! compile time. The frontend is built by `npm run build` in `ui/`
//! (`scripts/setup.sh`, `scripts/app.sh`); on a checkout where it has not
//! been built yet (a Rust-only CI step, a fresh clone running `cargo test`),
//! a one-line placeholder page is written so the shell still compiles. It is
//! written only when the folder is missing, never over a real build.

use std::path::Path;

fn main() {
    let dist = Path::new("../ui/dist");
    if !dist.exists() {
        std::fs::create_dir_all(dist).expect("create ../ui/dist");
        std::fs::write(
            dist.join("index.html"),
            "<!doctype html><meta name=\"whaleid-placeholder\"><title>WhaleID</title><p>The WhaleID frontend is not built: run scripts/app.sh (npm run build in ui/).</p>\n",
        )
        .expect("write the placeholder ../ui/dist/index.html");
    }
    println!("cargo:rerun-if-changed=../ui/dist");
    tauri_build::build()
}
