//! The `replscope` binary. In the browser (wasm32, built by Trunk) it mounts the UI;
//! natively it is the command-line tool, so there is one name for one program.

#[cfg(target_arch = "wasm32")]
fn main() {
    replscope::ui::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version") | Some("-v") => {
            println!("replscope {}", env!("CARGO_PKG_VERSION"));
            std::process::ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "replscope {}: the browser app is built with `./x serve`; \
                 native subcommands: --version",
                env!("CARGO_PKG_VERSION")
            );
            std::process::ExitCode::from(1)
        }
    }
}
