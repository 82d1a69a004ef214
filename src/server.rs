//! `replscope server`: one engine [`Node`] on real TCP sockets and the real clock, so that it
//! can be used with `redis-cli` and replicate with a real `redis-server` in both directions.
//!
//! This is the only place that owns sockets and reads the time. It is a thin shell: every
//! decision is the engine's. One task owns the node and writes its output to the sockets;
//! each connection has a reader task feeding [`Input`]s into a channel and a writer task for
//! what its socket could not take at once (`ConnWriter`).

mod config_file;
pub mod fork_child;
mod listeners;
mod open_files;
mod options;
mod socket;
mod sync_file;

use std::collections::HashMap;
use std::io::ErrorKind;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::AsyncRead;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpStream, UnixListener, UnixStream};
use tokio::signal::unix::{signal as unix_signal, SignalKind};
use tokio::sync::mpsc;

use crate::engine::event::{Event, LogLevel};
use crate::engine::node::{ConnId, Input, Node, NodeOptions, Output, PeerAddr};
use crate::engine::shutdown::ShutdownSignal;
use socket::SendHalf;

pub use options::{parse, ServerOptions, USAGE};

/// Messages into the node's task.
enum Msg {
    Input(Input),
    /// An outbound connection is ready; output for it goes through this.
    Ready(ConnId, ConnWriter),
    /// The writer task of a connection wrote some of what waited.
    Wrote(ConnId),
}

/// What a writer task is asked to do.
enum Write {
    Bytes(Vec<u8>),
    /// Write what waits, then shut the sending side down.
    Close,
}

/// How long an exiting server waits for its sockets to take what was queued for them.
const EXIT_FLUSH_WITHIN: Duration = Duration::from_millis(500);

/// The sending side of a connection. Like Redis's `writeToClient`, the node's task writes
/// what the socket takes at once; the rest waits, in order, for the connection's writer task,
/// which writes it as the socket drains. The node is told how much waits
/// ([`Input::SendQueue`]): it applies `client-output-buffer-limit` to that, and a replica's
/// RDB must have been written out before the replica goes online.
struct ConnWriter {
    socket: Arc<SendHalf>,
    /// Bytes handed to the writer task and not written yet (the writer counts them down).
    waiting: Arc<AtomicUsize>,
    writer: mpsc::UnboundedSender<Write>,
    /// The level the node last heard of.
    reported: usize,
    /// The connection's reader task: stopped when the node closes the connection, so that
    /// a client it gave up on cannot go on filling the node's channel (what it sends after
    /// is never read, as after Redis's `close()`).
    reader: tokio::task::AbortHandle,
}

impl ConnWriter {
    /// Bytes handed to the writer are not all written yet.
    fn has_waiting(&self) -> bool {
        self.waiting.load(Ordering::Relaxed) > 0
    }

    /// Closes the connection: what waits is written, then the socket is closed.
    fn close(self) {
        self.reader.abort();
        let _ = self.writer.send(Write::Close);
    }

    /// Writes `bytes`, directly when nothing waits before them.
    fn send(&mut self, bytes: Vec<u8>) {
        let mut written = 0;
        if self.waiting.load(Ordering::Acquire) == 0 {
            match self.socket.try_write(&bytes) {
                Ok(n) => written = n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                // A broken connection: its reader reports the end.
                Err(_) => return,
            }
        }
        if written < bytes.len() {
            self.waiting
                .fetch_add(bytes.len() - written, Ordering::AcqRel);
            let _ = self.writer.send(Write::Bytes(bytes[written..].to_vec()));
        }
    }

    /// Tells the node how much waits, if that changed since it last heard.
    fn report(&mut self, node: &mut Node, conn: ConnId) {
        let queued = self.waiting.load(Ordering::Acquire);
        if queued != self.reported {
            self.reported = queued;
            node.handle(now_ms(), Input::SendQueue { conn, queued });
        }
    }
}

/// How often the server has the allocator give freed memory back (see
/// [`collect_freed_memory`]): a collection visits every page of the heap.
const COLLECT_PERIOD_MS: u64 = 1000;

/// Gives memory the server freed back to the system, as Redis's jemalloc returns it within
/// its decay time. mimalloc (the allocator, see `lib.rs`) purges freed pages some ms after
/// they are freed, but only when the thread calls into it again: a server gone quiet after
/// dropping a client's 200 MB query buffer, or a failed transfer, would keep it resident for
/// good (issue #14). Called once a second ([`COLLECT_PERIOD_MS`]) from a timer tick: the
/// purges whose delay has passed happen then, off the allocation path (purging at every
/// free instead made writes of big values 2.5 times slower).
fn collect_freed_memory() {
    extern "C" {
        fn mi_collect(force: bool);
    }
    // SAFETY: mimalloc (linked in as the global allocator) collects the calling thread's
    // freed memory; callable at any time, it frees nothing still allocated.
    unsafe { mi_collect(false) }
}

/// Runs the server with command-line `args` (after `server`); the process exit code.
pub fn main(args: &[String]) -> ExitCode {
    // As redis-server: usage on stderr and exit code 1 for help, the version for -v.
    match args.first().map(String::as_str) {
        Some("-h" | "--help") => {
            eprint!("{USAGE}");
            return ExitCode::from(1);
        }
        Some("-v" | "--version") => {
            println!(
                "replscope server v={} (Redis {} replication engine)",
                env!("CARGO_PKG_VERSION"),
                crate::engine::info::REDIS_VERSION
            );
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let opts = match options::parse(args) {
        Ok(opts) => opts,
        Err(message) => {
            eprintln!("\n*** FATAL CONFIG FILE ERROR (replscope) ***\n{message}");
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            log_line('M', LogLevel::Warning, &message);
            ExitCode::from(1)
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Prints a log line the way Redis does: `pid:role dd Mon yyyy hh:mm:ss.mmm <level> text`.
fn log_line(role: char, level: LogLevel, text: &str) {
    let mark = match level {
        LogLevel::Verbose => '-',
        LogLevel::Notice => '*',
        LogLevel::Warning => '#',
    };
    println!(
        "{}:{} {} {} {}",
        std::process::id(),
        role,
        timestamp(now_ms()),
        mark,
        text
    );
}

/// `26 Nov 2026 12:00:00.123` in UTC.
fn timestamp(ms: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms / 1000;
    let (days, rem) = (secs / 86400, secs % 86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

async fn run(mut opts: ServerOptions) -> Result<(), String> {
    // Redis marks every line after its configuration is read with the role it gives.
    let startup_role = if opts.replicaof.is_some() { 'S' } else { 'M' };
    opts.config.maxclients = open_files::adjust(opts.config.maxclients, |level, text| {
        log_line(startup_role, level, text)
    })?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut listening = listeners::listen(&opts.bind, opts.config.port)
        .await
        .map_err(|e| {
            log_line(startup_role, LogLevel::Warning, &e);
            format!(
                "Failed listening on port {} (tcp), aborting.",
                opts.config.port
            )
        })?;
    let seed = now_ms() ^ u64::from(std::process::id()).rotate_left(32);
    let mut node = Node::new(NodeOptions {
        name: format!("{}:{}", opts.bind[0], opts.config.port),
        config: opts.config.clone(),
        seed,
        now_ms: now_ms(),
    });
    node.set_maxclients_ceiling(open_files::maxclients_ceiling());
    node.set_process_id(std::process::id());
    node.set_config_file(opts.config_file.is_some());
    // The maxclients the open files limit was last raised for.
    let mut maxclients = opts.config.maxclients;
    if let Some((host, port)) = opts.replicaof.clone() {
        node.configure_replicaof(host, port);
    }
    log_line(
        startup_role,
        LogLevel::Notice,
        &format!(
            "replscope {} (Redis {} replication engine) started, port {}",
            env!("CARGO_PKG_VERSION"),
            crate::engine::info::REDIS_VERSION,
            opts.config.port
        ),
    );
    // Redis's logo carries "Port: N" and "PID: N"; tools that start redis-server (its own
    // test harness among them) wait for that PID line when `always-show-logo` is set.
    if opts.config.inert_value("always-show-logo") == "yes" {
        println!(
            "\n    replscope {} standalone\n    Port: {}\n    PID: {}\n",
            env!("CARGO_PKG_VERSION"),
            opts.config.port,
            std::process::id()
        );
    } else {
        log_line(
            startup_role,
            LogLevel::Notice,
            &format!("Running mode=standalone, port={}.", opts.config.port),
        );
    }
    // `main`: "Server initialized", then `loadDataFromDisk` (rdbLoad logs what it meets).
    log_line(startup_role, LogLevel::Warning, "Server initialized");
    let path = std::path::Path::new(&opts.config.dir).join(&opts.config.dbfilename);
    match std::fs::read(&path) {
        Ok(bytes) => {
            node.load_from_disk(&bytes)
                .map_err(|e| format!("Fatal error loading the DB: {e}. Exiting."))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("Fatal error loading the DB: {e}. Exiting.")),
    }

    // SIGTERM and SIGINT shut the node down as Redis does (a final save if save points are
    // set); a second SIGINT exits at once.
    let mut sigterm =
        unix_signal(SignalKind::terminate()).map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
    let mut sigint =
        unix_signal(SignalKind::interrupt()).map_err(|e| format!("cannot handle SIGINT: {e}"))?;
    let mut interrupted = false;
    let unix = listen_unix(&opts.config)?;
    // `createPidFile`: the pid of the process, when a pidfile is set.
    let pidfile = opts.config.inert_value("pidfile");
    if !pidfile.is_empty() {
        if let Err(e) = std::fs::write(pidfile, format!("{}\n", std::process::id())) {
            log_line(
                startup_role,
                LogLevel::Warning,
                &format!("Failed to write PID file: {e}"),
            );
        }
    }
    let mut outboxes: HashMap<ConnId, ConnWriter> = HashMap::new();
    let mut fork_child = fork_child::ForkChild::default();
    let mut sync_files = sync_file::SyncFiles::default();
    let mut next_in = 1u64;
    let mut collected_ms = 0u64;
    // Redis says it is ready once the data is loaded: after the lines the load logged.
    let mut ready_logged = false;
    loop {
        let role = if node.master_addr().is_some() {
            'S'
        } else {
            'M'
        };
        while let Some(out) = node.poll_output() {
            match out {
                Output::Send { conn, bytes } => {
                    // Reported before the node is polled again: bytes left waiting must not
                    // count as written (the node's outputs are then drained by this loop).
                    if let Some(outbox) = outboxes.get_mut(&conn) {
                        outbox.send(bytes);
                        outbox.report(&mut node, conn);
                    }
                }
                Output::Close { conn } | Output::Abort { conn } => {
                    if let Some(outbox) = outboxes.remove(&conn) {
                        outbox.close();
                    }
                }
                Output::Connect { conn, host, port } => {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        let dial = tokio::time::timeout(
                            Duration::from_secs(10),
                            TcpStream::connect((host.as_str(), port)),
                        )
                        .await;
                        match dial {
                            Ok(Ok(stream)) => {
                                let _ = stream.set_nodelay(true);
                                let outbox = spawn_connection(conn, stream, tx.clone());
                                let _ = tx.send(Msg::Ready(conn, outbox));
                                let _ = tx.send(Msg::Input(Input::Connected { conn }));
                            }
                            // The node logs the failure ("Error condition on socket for
                            // SYNC: …"), once, as syncWithMaster does.
                            Ok(Err(_)) | Err(_) => {
                                let _ = tx.send(Msg::Input(Input::Closed { conn }));
                            }
                        }
                    });
                }
                Output::SaveRdb { bytes } => {
                    let written = write_rdb(&opts.config.dir, &opts.config.dbfilename, &bytes);
                    if let Err(e) = &written {
                        log_line(
                            role,
                            LogLevel::Warning,
                            &format!("Failed saving the DB: {e}"),
                        );
                    }
                    node.handle(
                        now_ms(),
                        Input::SaveDone {
                            ok: written.is_ok(),
                        },
                    );
                }
                Output::SyncFile(op) => {
                    // The node logs the failure as Redis does, and cancels the sync.
                    if let Err((name, step, error)) = sync_files.apply(&opts.config.dir, op) {
                        node.handle(now_ms(), Input::SyncFileFailed { name, step, error });
                    }
                }
                Output::Listen { port } => {
                    // changeListenPort: the new sockets first, the old ones closed only then.
                    let ok = match listeners::listen(&opts.bind, port).await {
                        Ok(new) => {
                            listening = new;
                            true
                        }
                        Err(e) => {
                            log_line(role, LogLevel::Warning, &e);
                            false
                        }
                    };
                    node.handle(now_ms(), Input::Listening { ok });
                }
                Output::RewriteConfig { lines } => {
                    let error = match &opts.config_file {
                        Some(path) => config_file::rewrite(path, &lines).err(),
                        None => Some("no configuration file".into()),
                    };
                    node.handle(now_ms(), Input::RewriteDone { error });
                }
                Output::Exit if node.exit_status() != 0 => {
                    // A fatal error: Redis's `exit(1)`, nothing flushed, no file removed.
                    fork_child.end();
                    std::process::exit(node.exit_status());
                }
                Output::Exit => {
                    // `flushSlavesOutputBuffers`: a best effort, then the listeners close.
                    let start = std::time::Instant::now();
                    while outboxes.values().any(ConnWriter::has_waiting)
                        && start.elapsed() < EXIT_FLUSH_WITHIN
                    {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    if unix.is_some() {
                        let _ = std::fs::remove_file(node.config().inert_value("unixsocket"));
                    }
                    let pidfile = node.config().inert_value("pidfile");
                    if !pidfile.is_empty() {
                        let _ = std::fs::remove_file(pidfile);
                    }
                    fork_child.end();
                    return Ok(());
                }
                Output::Pause { micros } => {
                    // DEBUG SLEEP: this thread runs every connection's tasks too, so nothing
                    // is read or written meanwhile, as in Redis's single-threaded sleep.
                    std::thread::sleep(Duration::from_micros(micros));
                }
                Output::Fork => match fork_child.start() {
                    Ok(pid) => node.handle(now_ms(), Input::Forked { pid }),
                    Err(e) => log_line(
                        role,
                        LogLevel::Warning,
                        &format!("Can't save in background: fork: {e}"),
                    ),
                },
                Output::ChildDone => fork_child.end(),
                Output::Event(Event::Log {
                    text,
                    signal_handler: true,
                    ..
                }) => println!(
                    "{}:signal-handler ({}) {text}",
                    std::process::id(),
                    now_ms() / 1000
                ),
                Output::Event(Event::Log { level, text, .. }) => log_line(role, level, &text),
                Output::Event(_) => {}
            }
        }
        if !ready_logged {
            ready_logged = true;
            log_line(role, LogLevel::Notice, "Ready to accept connections");
            if unix.is_some() {
                log_line(
                    role,
                    LogLevel::Notice,
                    &format!(
                        "The server is now ready to accept connections at {}",
                        node.config().inert_value("unixsocket")
                    ),
                );
            }
        }
        if node.config().maxclients > maxclients {
            // A CONFIG SET within the ceiling: the limit can be raised for it.
            maxclients = node.config().maxclients;
            let _ = open_files::adjust(maxclients, |level, text| log_line(role, level, text));
        }
        if let Some(signal) = fork_child.died() {
            node.handle(now_ms(), Input::ChildDied { signal });
            continue;
        }
        let wait = node.poll_timeout().saturating_sub(now_ms());
        tokio::select! {
            (stream, addr) = listening.accept() => {
                let _ = stream.set_nodelay(true);
                let conn = ConnId::In(next_in);
                next_in += 1;
                let outbox = spawn_connection(conn, stream, tx.clone());
                outboxes.insert(conn, outbox);
                let peer = PeerAddr { ip: addr.ip().to_string(), port: addr.port() };
                node.handle(now_ms(), Input::Accepted { conn, peer });
            }
            Ok((stream, _)) = accept_unix(&unix) => {
                let conn = ConnId::In(next_in);
                next_in += 1;
                let outbox = spawn_unix_connection(conn, stream, tx.clone());
                outboxes.insert(conn, outbox);
                // Redis names a Unix socket client by the socket's path and port 0.
                let ip = opts.config.inert_value("unixsocket").to_string();
                node.handle(now_ms(), Input::Accepted { conn, peer: PeerAddr { ip, port: 0 } });
            }
            Some(msg) = rx.recv() => match msg {
                Msg::Input(input) => {
                    if let Input::Closed { conn } = &input {
                        outboxes.remove(conn);
                    }
                    node.handle(now_ms(), input);
                }
                Msg::Ready(conn, outbox) => { outboxes.insert(conn, outbox); }
                Msg::Wrote(conn) => {
                    if let Some(outbox) = outboxes.get_mut(&conn) {
                        outbox.report(&mut node, conn);
                    }
                }
            },
            _ = sigterm.recv() => node.handle(now_ms(), Input::Signal(ShutdownSignal::Term)),
            _ = sigint.recv() => {
                if interrupted {
                    return Err("You insist... exiting now.".into());
                }
                interrupted = true;
                node.handle(now_ms(), Input::Signal(ShutdownSignal::Int));
            }
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {
                let now = now_ms();
                node.handle_timeout(now);
                if now.saturating_sub(collected_ms) >= COLLECT_PERIOD_MS {
                    collect_freed_memory();
                    collected_ms = now;
                }
            }
        }
    }
}

/// The `unixsocket` listener, if one is configured: an old socket file is removed first, and
/// `unixsocketperm` (octal, 0 = leave the umask's) applied.
fn listen_unix(config: &crate::engine::config::Config) -> Result<Option<UnixListener>, String> {
    let path = config.inert_value("unixsocket");
    if path.is_empty() {
        return Ok(None);
    }
    let _ = std::fs::remove_file(path);
    let listener =
        UnixListener::bind(path).map_err(|e| format!("Failed opening Unix socket: {e}"))?;
    let perm = u32::from_str_radix(config.inert_value("unixsocketperm"), 8).unwrap_or(0);
    if perm != 0 {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm));
    }
    Ok(Some(listener))
}

/// The next client on the Unix socket; never, without one.
async fn accept_unix(
    unix: &Option<UnixListener>,
) -> std::io::Result<(UnixStream, tokio::net::unix::SocketAddr)> {
    match unix {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

/// Writes a snapshot the way `rdbSave` does: to a temp file in `dir`, then renamed over
/// `dbfilename`, so a crash never leaves a half-written dump.
fn write_rdb(dir: &str, dbfilename: &str, bytes: &[u8]) -> std::io::Result<()> {
    let dir = std::path::Path::new(dir);
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, dir.join(dbfilename))
}

/// Spawns the reader and writer tasks of one connection; returns its sending side.
fn spawn_connection(conn: ConnId, stream: TcpStream, tx: mpsc::UnboundedSender<Msg>) -> ConnWriter {
    let (reader, writer) = stream.into_split();
    spawn_halves(conn, reader, SendHalf::Tcp(writer), tx)
}

/// [`spawn_connection`] for a client on the Unix socket.
fn spawn_unix_connection(
    conn: ConnId,
    stream: UnixStream,
    tx: mpsc::UnboundedSender<Msg>,
) -> ConnWriter {
    let (reader, writer) = stream.into_split();
    spawn_halves(conn, reader, SendHalf::Unix(writer), tx)
}

fn spawn_halves(
    conn: ConnId,
    mut reader: impl AsyncRead + Unpin + Send + 'static,
    writer: SendHalf,
    tx: mpsc::UnboundedSender<Msg>,
) -> ConnWriter {
    let socket = Arc::new(writer);
    let waiting = Arc::new(AtomicUsize::new(0));
    let (wtx, wrx) = mpsc::unbounded_channel::<Write>();
    let writer_tx = tx.clone();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Msg::Input(Input::Closed { conn }));
                    return;
                }
                Ok(n) => {
                    if tx
                        .send(Msg::Input(Input::Data {
                            conn,
                            bytes: buf[..n].to_vec(),
                        }))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
    tokio::spawn(write_waiting(
        conn,
        Arc::clone(&socket),
        Arc::clone(&waiting),
        wrx,
        writer_tx,
    ));
    ConnWriter {
        socket,
        waiting,
        writer: wtx,
        reported: 0,
        reader: reader.abort_handle(),
    }
}

/// The writer task: writes what the socket could not take at once as it drains, telling the
/// node's task after every write. When it ends, the last handle on the socket's sending side
/// goes and the side is shut down (`OwnedWriteHalf` does that when dropped).
async fn write_waiting(
    conn: ConnId,
    socket: Arc<SendHalf>,
    waiting: Arc<AtomicUsize>,
    mut rx: mpsc::UnboundedReceiver<Write>,
    tx: mpsc::UnboundedSender<Msg>,
) {
    while let Some(Write::Bytes(bytes)) = rx.recv().await {
        let mut off = 0;
        while off < bytes.len() {
            if socket.writable().await.is_err() {
                return;
            }
            match socket.try_write(&bytes[off..]) {
                Ok(n) => {
                    off += n;
                    waiting.fetch_sub(n, Ordering::AcqRel);
                    let _ = tx.send(Msg::Wrote(conn));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::timestamp;

    #[test]
    fn log_timestamps_are_utc_calendar_dates() {
        assert_eq!(timestamp(0), "01 Jan 1970 00:00:00.000");
        assert_eq!(timestamp(1_795_262_645_123), "21 Nov 2026 12:04:05.123");
        assert_eq!(timestamp(951_782_400_000), "29 Feb 2000 00:00:00.000");
    }
}
