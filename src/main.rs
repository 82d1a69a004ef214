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
        Some("server") => replscope::server::main(&args[1..]),
        Some("sim") => replscope::sim::cli::main(&args[1..]),
        Some("lesson") => replscope::sim::lesson_cli::main(&args[1..]),
        // Not for people: the process `replscope server` runs while it takes a snapshot.
        Some(replscope::server::fork_child::ARG) => replscope::server::fork_child::run(),
        Some("--version") | Some("-v") => {
            println!("replscope {}", env!("CARGO_PKG_VERSION"));
            std::process::ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "usage: replscope server [--port N] [--replicaof HOST PORT] [--<redis option> VALUE]...\n\
                 \x20      replscope sim --list | --scenario NAME|FILE [--seed N] [--until MS] | --random --seed N\n\
                 \x20      replscope lesson list | solve LESSON [--seed N] | check LESSON RUN.json\n\
                 \x20      replscope --version\n\
                 The browser app is built and served with `./x serve`."
            );
            std::process::ExitCode::from(1)
        }
    }
}
