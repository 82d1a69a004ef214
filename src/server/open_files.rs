//! `adjustOpenFilesLimit`: every client costs a file descriptor, so before serving, the open
//! files limit is raised to `maxclients` plus a reserve, or `maxclients` is lowered to what
//! the limit allows. Clients beyond it then get `-ERR max number of clients reached` instead
//! of finding `accept()` failing with EMFILE.

use crate::engine::event::LogLevel;

/// Descriptors kept for everything but clients (`CONFIG_MIN_RESERVED_FDS`): the listeners,
/// the log, the RDB file, the runtime's own.
const RESERVED_FDS: u64 = 32;

/// How much lower each attempt to raise the limit asks for after a refusal.
const STEP_FDS: u64 = 16;

/// The largest `maxclients` the process could raise its limit for (`CONFIG SET maxclients`
/// beyond it is refused, as `updateMaxclients` refuses what `adjustOpenFilesLimit` cannot
/// get): the hard limit less the reserve.
pub(super) fn maxclients_ceiling() -> u64 {
    current()
        .map_or(1024, |l| l.rlim_max)
        .saturating_sub(RESERVED_FDS)
}

fn current() -> Option<libc::rlimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != -1).then_some(limit)
}

/// The `maxclients` the process can honour, `Err` with Redis's words if it cannot start at
/// all; logs as Redis does. Called again when `CONFIG SET maxclients` raises it.
pub(super) fn adjust(maxclients: u64, log: impl Fn(LogLevel, &str)) -> Result<u64, String> {
    let wanted = maxclients + RESERVED_FDS;
    let Some(limit) = current() else {
        let e = std::io::Error::last_os_error();
        log(LogLevel::Warning, &format!("Unable to obtain the current NOFILE limit ({e}), assuming 1024 and setting the max clients configuration accordingly."));
        return Ok(1024 - RESERVED_FDS);
    };
    let old = limit.rlim_cur;
    if old >= wanted {
        return Ok(maxclients);
    }
    let mut best = wanted;
    let mut error = None;
    while best > old {
        let new = libc::rlimit {
            rlim_cur: best,
            rlim_max: best,
        };
        // SAFETY: setrlimit reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } != -1 {
            break;
        }
        error = Some(std::io::Error::last_os_error());
        if best < STEP_FDS {
            best = old;
            break;
        }
        best -= STEP_FDS;
    }
    best = best.max(old);
    if best >= wanted {
        log(
            LogLevel::Notice,
            &format!("Increased maximum number of open files to {wanted} (it was originally set to {old})."),
        );
        return Ok(maxclients);
    }
    if best <= RESERVED_FDS {
        return Err(format!("Your current 'ulimit -n' of {old} is not enough for the server to start. Please increase your open file limit to at least {wanted}. Exiting."));
    }
    let reduced = best - RESERVED_FDS;
    let why = error.map_or_else(String::new, |e| e.to_string());
    log(
        LogLevel::Warning,
        &format!("You requested maxclients of {maxclients} requiring at least {wanted} max file descriptors."),
    );
    log(
        LogLevel::Warning,
        &format!("Server can't set maximum open files to {wanted} because of OS error: {why}."),
    );
    log(LogLevel::Warning, &format!("Current maximum open files is {best}. maxclients has been reduced to {reduced} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'."));
    Ok(reduced)
}
