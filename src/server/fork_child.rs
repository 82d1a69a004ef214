//! A process standing in for Redis's fork child while the engine takes a snapshot for
//! replication ([`Output::Fork`](crate::engine::node::Output::Fork)).
//!
//! The engine writes the snapshot itself, but operators and Redis's own tests look for the
//! child: `pgrep -P <server pid>` finds it, `kill -9` on it loses the snapshot (the OOM
//! killer's case: the master drops the replicas that waited for it and forks again), and it
//! dies when its parent dies. The stand-in is this same binary run as `replscope
//! rdb-child`: it holds the read end of a pipe and exits when the pipe closes, that is when
//! the server ends it or when the server dies (the kernel closes the write end).

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};

/// The argument that runs the binary as a stand-in child.
pub const ARG: &str = "rdb-child";

/// The stand-in's whole life: wait for the parent's end of the pipe to close.
pub fn run() -> std::process::ExitCode {
    let mut sink = [0u8; 64];
    let mut stdin = std::io::stdin();
    loop {
        match stdin.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return std::process::ExitCode::FAILURE,
        }
    }
    std::process::ExitCode::SUCCESS
}

/// The stand-in of the snapshot child in progress, if any.
#[derive(Default)]
pub struct ForkChild {
    child: Option<Child>,
}

impl ForkChild {
    /// Starts a stand-in; its pid, or why it could not start.
    pub fn start(&mut self) -> Result<u32, String> {
        self.end();
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let child = Command::new(exe)
            .arg(ARG)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a Ctrl-C in the server's terminal is the server's to
            // handle (a shutdown that kills the child itself), not the child's.
            .process_group(0)
            .spawn()
            .map_err(|e| e.to_string())?;
        let pid = child.id();
        self.child = Some(child);
        Ok(pid)
    }

    /// Ends the stand-in (the snapshot is over) and reaps it.
    pub fn end(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the stand-in died without the server ending it, and of which signal (`None`:
    /// it exited with an error). It is reaped then, as `checkChildrenDone` reaps a dead
    /// child with `waitpid(WNOHANG)`.
    pub fn died(&mut self) -> Option<Option<u32>> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        Some(status.signal().map(|s| s as u32))
    }
}
