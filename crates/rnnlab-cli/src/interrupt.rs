//! Ctrl-C during training: the first press asks the running fit to stop after its batch
//! (keeping the best checkpoint, which is then saved and evaluated as usual) and an experiment
//! to run nothing more; a second press quits at once (exit 130).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

fn flag() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Takes over SIGINT (and SIGTERM) for the rest of the process. Safe to call more than once.
pub fn install() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // Order matters: the second signal finds the flag set and exits.
            let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, flag().clone());
            let _ = signal_hook::flag::register(sig, flag().clone());
        }
    });
}

/// Whether a stop was asked for. Says so once on standard error, the first time it is seen.
pub fn requested() -> bool {
    static TOLD: AtomicBool = AtomicBool::new(false);
    let asked = flag().load(Ordering::Relaxed);
    if asked && !TOLD.swap(true, Ordering::Relaxed) {
        eprintln!("\ninterrupted: stopping after this batch and keeping the best checkpoint (Ctrl-C again quits now)");
    }
    asked
}
