//! `replscope server`: one engine [`Node`] on real TCP sockets and the real clock, so that it
//! can be used with `redis-cli` and replicate with a real `redis-server` in both directions.
//!
//! This is the only place that owns sockets and reads the time. It is a thin shell: every
//! decision is the engine's. One task owns the node; each connection has a reader task
//! feeding [`Input`]s into a channel and a writer task draining the node's output for it.

mod options;

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::engine::event::{Event, LogLevel};
use crate::engine::node::{ConnId, Input, Node, NodeOptions, Output, PeerAddr};

pub use options::{parse, ServerOptions};

/// Messages into the node's task.
enum Msg {
    Input(Input),
    /// A connection is ready; its writer takes bytes from this sender.
    Writer(ConnId, mpsc::UnboundedSender<Write>),
}

/// What a writer task is asked to do.
enum Write {
    Bytes(Vec<u8>),
    Close,
}

/// Runs the server with command-line `args` (after `server`); the process exit code.
pub fn main(args: &[String]) -> ExitCode {
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

async fn run(opts: ServerOptions) -> Result<(), String> {
    let listener = TcpListener::bind((opts.bind.as_str(), opts.config.port))
        .await
        .map_err(|e| {
            format!(
                "Failed listening on port {} (tcp), aborting: {e}",
                opts.config.port
            )
        })?;
    let seed = now_ms() ^ u64::from(std::process::id()).rotate_left(32);
    let mut node = Node::new(NodeOptions {
        name: format!("{}:{}", opts.bind, opts.config.port),
        config: opts.config.clone(),
        seed,
        now_ms: now_ms(),
    });
    if let Some((host, port)) = opts.replicaof.clone() {
        node.configure_replicaof(host, port);
    }
    let path = std::path::Path::new(&opts.config.dir).join(&opts.config.dbfilename);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let keys = node
                .load_from_disk(&bytes)
                .map_err(|e| format!("Fatal error loading the DB: {e}. Exiting."))?;
            log_line(
                'M',
                LogLevel::Notice,
                &format!("Done loading RDB, keys loaded: {keys}."),
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("Fatal error loading the DB: {e}. Exiting.")),
    }
    log_line(
        'M',
        LogLevel::Notice,
        &format!(
            "replscope {} (Redis {} replication engine) started, port {}",
            env!("CARGO_PKG_VERSION"),
            crate::engine::info::REDIS_VERSION,
            opts.config.port
        ),
    );
    log_line('M', LogLevel::Notice, "Ready to accept connections tcp");

    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut writers: HashMap<ConnId, mpsc::UnboundedSender<Write>> = HashMap::new();
    let mut next_in = 1u64;
    loop {
        let role = if node.master_addr().is_some() {
            'S'
        } else {
            'M'
        };
        while let Some(out) = node.poll_output() {
            match out {
                Output::Send { conn, bytes } => {
                    if let Some(w) = writers.get(&conn) {
                        let _ = w.send(Write::Bytes(bytes));
                    }
                }
                Output::Close { conn } | Output::Abort { conn } => {
                    if let Some(w) = writers.remove(&conn) {
                        let _ = w.send(Write::Close);
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
                                let writer = spawn_connection(conn, stream, tx.clone());
                                let _ = tx.send(Msg::Writer(conn, writer));
                                let _ = tx.send(Msg::Input(Input::Connected { conn }));
                            }
                            Ok(Err(e)) => {
                                log_line(
                                    'S',
                                    LogLevel::Warning,
                                    &format!("Error condition on socket for SYNC: {e}"),
                                );
                                let _ = tx.send(Msg::Input(Input::Closed { conn }));
                            }
                            Err(_) => {
                                log_line(
                                    'S',
                                    LogLevel::Warning,
                                    "Error condition on socket for SYNC: Connection timed out",
                                );
                                let _ = tx.send(Msg::Input(Input::Closed { conn }));
                            }
                        }
                    });
                }
                Output::SaveRdb { bytes } => {
                    if let Err(e) = write_rdb(&opts.config.dir, &opts.config.dbfilename, &bytes) {
                        log_line(
                            role,
                            LogLevel::Warning,
                            &format!("Failed saving the DB: {e}"),
                        );
                    }
                }
                Output::Event(Event::Log { level, text }) => log_line(role, level, &text),
                Output::Event(_) => {}
            }
        }
        let wait = node.poll_timeout().saturating_sub(now_ms());
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, addr)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let conn = ConnId::In(next_in);
                next_in += 1;
                let writer = spawn_connection(conn, stream, tx.clone());
                writers.insert(conn, writer);
                let peer = PeerAddr { ip: addr.ip().to_string(), port: addr.port() };
                node.handle(now_ms(), Input::Accepted { conn, peer });
            }
            Some(msg) = rx.recv() => match msg {
                Msg::Input(input) => {
                    if let Input::Closed { conn } = &input {
                        writers.remove(conn);
                    }
                    node.handle(now_ms(), input);
                }
                Msg::Writer(conn, writer) => { writers.insert(conn, writer); }
            },
            _ = tokio::time::sleep(Duration::from_millis(wait)) => node.handle_timeout(now_ms()),
        }
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

/// Spawns the reader and writer tasks of one connection; returns the writer's sender.
fn spawn_connection(
    conn: ConnId,
    stream: TcpStream,
    tx: mpsc::UnboundedSender<Msg>,
) -> mpsc::UnboundedSender<Write> {
    let (mut reader, mut writer) = stream.into_split();
    let (wtx, mut wrx) = mpsc::unbounded_channel::<Write>();
    tokio::spawn(async move {
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
    tokio::spawn(async move {
        while let Some(w) = wrx.recv().await {
            match w {
                Write::Bytes(bytes) => {
                    if writer.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                Write::Close => {
                    let _ = writer.shutdown().await;
                    return;
                }
            }
        }
    });
    wtx
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
