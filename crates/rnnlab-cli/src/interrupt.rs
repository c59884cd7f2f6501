//! Ctrl-C (SIGINT) or SIGTERM during training: the first signal asks the running fit to stop
//! after its batch (keeping the best checkpoint, which is then saved and evaluated as usual)
//! and an experiment to run nothing more; the command then exits 130 (SIGINT) or 143
//! (SIGTERM), so scripts can tell an interrupted run from a finished one. A second signal quits
//! at once with the same code.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// One flag per signal: which one arrived decides the exit code.
fn flags() -> &'static [(i32, i32, Arc<AtomicBool>); 2] {
    static FLAGS: OnceLock<[(i32, i32, Arc<AtomicBool>); 2]> = OnceLock::new();
    FLAGS.get_or_init(|| {
        [
            (signal_hook::consts::SIGINT, 130, Arc::new(AtomicBool::new(false))),
            (signal_hook::consts::SIGTERM, 143, Arc::new(AtomicBool::new(false))),
        ]
    })
}

/// Takes over SIGINT and SIGTERM for the rest of the process. Safe to call more than once.
pub fn install() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        for (sig, code, flag) in flags() {
            // Order matters: the second signal finds the flag set and exits.
            let _ = signal_hook::flag::register_conditional_shutdown(*sig, *code, flag.clone());
            let _ = signal_hook::flag::register(*sig, flag.clone());
        }
    });
}

/// The exit code of the signal that asked the run to stop: 130 (SIGINT), 143 (SIGTERM).
pub fn exit_code() -> Option<u8> {
    flags()
        .iter()
        .find(|(_, _, f)| f.load(Ordering::Relaxed))
        .map(|(_, code, _)| *code as u8)
}

/// Whether a stop was asked for. Says so once on standard error, the first time it is seen.
pub fn requested() -> bool {
    static TOLD: AtomicBool = AtomicBool::new(false);
    let asked = exit_code().is_some();
    if asked && !TOLD.swap(true, Ordering::Relaxed) {
        eprintln!(
            "\ninterrupted: stopping after this batch and keeping the best checkpoint (the signal again quits now)"
        );
    }
    asked
}
