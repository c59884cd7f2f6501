//! Progress on the terminal while a network trains.

use rnnlab_rnn::TrainObserver;

/// A progress bar per epoch showing the loss, and a line per epoch with the validation metric.
pub struct EpochBar {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
    loss: f64,
    seen: usize,
    /// What the validation metric is called on the epoch line.
    metric: &'static str,
}

impl EpochBar {
    pub fn new(quiet: bool) -> Self {
        EpochBar {
            bar: None,
            quiet,
            loss: 0.0,
            seen: 0,
            metric: "metric",
        }
    }

    /// A bar whose epoch lines name the validation metric (`perplexity`).
    pub fn with_metric(quiet: bool, metric: &'static str) -> Self {
        EpochBar {
            metric,
            ..EpochBar::new(quiet)
        }
    }
}

impl TrainObserver for EpochBar {
    fn epoch_start(&mut self, epoch: usize, batches: usize) {
        if self.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return;
        }
        let bar = indicatif::ProgressBar::new(batches as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "epoch {prefix:>3} {bar:30} {pos}/{len} batches {msg} [{elapsed}<{eta}]",
            )
            .expect("valid template"),
        );
        bar.set_prefix(epoch.to_string());
        self.bar = Some(bar);
        self.loss = 0.0;
        self.seen = 0;
    }

    fn batch_end(&mut self, loss: f64) {
        self.loss += loss;
        self.seen += 1;
        if let Some(b) = &self.bar {
            b.inc(1);
            b.set_message(format!("loss {:.4}", self.loss / self.seen as f64));
        }
    }

    fn interrupted(&mut self) -> bool {
        let asked = crate::interrupt::requested();
        if asked {
            if let Some(b) = self.bar.take() {
                b.finish_and_clear();
            }
        }
        asked
    }

    fn epoch_end(&mut self, s: &rnnlab_rnn::EpochStats) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        if self.quiet {
            return;
        }
        if s.val_metric.is_nan() {
            eprintln!(
                "refit epoch {:>3}: train loss {:.4} (training + validation rows) ({:.1}s)",
                s.epoch, s.train_loss, s.seconds
            );
        } else if s.val_loss.is_nan() {
            // A tagger scores validation by accuracy alone.
            eprintln!(
                "epoch {:>3}: train loss {:.4}, val accuracy {:.4} ({:.1}s)",
                s.epoch, s.train_loss, s.val_metric, s.seconds
            );
        } else {
            eprintln!(
                "epoch {:>3}: train loss {:.4}, val loss {:.4}, val {} {:.4} (lr {}, {:.1}s)",
                s.epoch, s.train_loss, s.val_loss, self.metric, s.val_metric, s.lr, s.seconds
            );
        }
    }
}
