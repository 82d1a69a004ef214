//! The software watchdog (`watchdog-period`, debug.c): a debugging aid that reports a main
//! thread stuck for longer than the period. Every serverCron re-arms a one-shot timer (Redis
//! uses SIGALRM); when the timer expires before the next cron — the node asleep in `DEBUG
//! SLEEP`, blocked in a slow load or in the `read()` of a blocking diskless load — the log
//! gets "--- WATCHDOG TIMER EXPIRED ---" and a stack trace. replscope has no stack to show
//! and logs what Redis logs on a platform without `backtrace()`.

use super::event::LogLevel;
use super::node::{Node, Output, CRON_PERIOD_MS};

impl Node {
    /// `applyWatchdogPeriod` (CONFIG SET): a period shorter than two cron periods at the
    /// configured `hz` is raised to that, in the setting itself (CONFIG GET shows it), and
    /// the timer is armed anew.
    pub(crate) fn apply_watchdog_period(&mut self) {
        let period: u64 = self.cfg.inert_value("watchdog-period").parse().unwrap_or(0);
        let hz: u64 = self.cfg.inert_value("hz").parse().unwrap_or(10).max(1);
        let min = (1000 / hz) * 2;
        if period != 0 && period < min {
            let _ = self.cfg.set("watchdog-period", &min.to_string());
        }
        self.arm_watchdog();
    }

    /// The period in force, 0 = off: at least two of the engine's cron periods (it runs at
    /// 10 Hz whatever `hz` says), or the timer would expire between healthy crons.
    fn watchdog_period_ms(&self) -> u64 {
        let period: u64 = self.cfg.inert_value("watchdog-period").parse().unwrap_or(0);
        if period == 0 {
            0
        } else {
            period.max(2 * CRON_PERIOD_MS)
        }
    }

    /// `watchdogScheduleSignal(period)`: from serverCron, and when `watchdog-period`
    /// changes (0 stops the timer).
    pub(crate) fn arm_watchdog(&mut self) {
        let period = self.watchdog_period_ms();
        self.watchdog_due_ms = (period > 0).then(|| self.now_ms + period);
    }

    /// When the armed timer expires, if it is armed.
    pub(crate) fn watchdog_due_ms(&self) -> Option<u64> {
        self.watchdog_due_ms
    }

    /// The timer expired if its time has come: the one-shot signal is delivered.
    pub(crate) fn check_watchdog(&mut self) {
        if self.watchdog_due_ms.is_some_and(|due| due <= self.now_ms) {
            self.watchdog_expired();
        }
    }

    /// `watchdogSignalHandler`.
    fn watchdog_expired(&mut self) {
        self.watchdog_due_ms = None;
        self.log_from_handler(LogLevel::Warning, "\n--- WATCHDOG TIMER EXPIRED ---");
        self.log_from_handler(LogLevel::Warning, "Sorry: no support for backtrace().");
        self.log_from_handler(LogLevel::Warning, "--------\n");
    }

    /// The node stops for `micros` (`DEBUG SLEEP`, a foreground save slowed down): an armed
    /// watchdog expires in the middle, and its lines are logged at that moment.
    pub(crate) fn pause(&mut self, micros: u64) {
        let end_ms = self.now_ms + micros / 1000;
        match self.watchdog_due_ms.filter(|&due| due <= end_ms) {
            Some(due) => {
                let before = (due.saturating_sub(self.now_ms) * 1000).min(micros);
                if before > 0 {
                    self.out.push(Output::Pause { micros: before });
                }
                self.watchdog_expired();
                if micros > before {
                    self.out.push(Output::Pause {
                        micros: micros - before,
                    });
                }
            }
            None => self.out.push(Output::Pause { micros }),
        }
    }
}
