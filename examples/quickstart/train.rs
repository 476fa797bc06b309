//! Training the quickstart model for a fixed wall-clock budget.

use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use super::model::CharLm;

/// How long to train.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    /// Until this much wall-clock time is spent (at least one step).
    Time(Duration),
    /// Exactly this many steps (at least one).
    Steps(usize),
}

/// Steps whose mean loss is reported as the final loss.
const LAST_STEPS: usize = 20;

/// What a training run did.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// Optimiser steps taken.
    pub steps: usize,
    /// Loss of the first step (before any update: about ln(alphabet size)).
    pub first_loss: f32,
    /// Mean loss of the last 20 steps (or of all, when fewer).
    pub last_loss: f32,
    /// Wall-clock time spent.
    pub elapsed: Duration,
}

/// Trains `model` on `text` until `budget` is spent, reporting the mean loss of the steps since
/// the last report about twice a second (and at the end) through `log`.
pub fn train(
    model: &CharLm,
    text: &str,
    budget: Budget,
    seed: u64,
    mut log: impl FnMut(usize, f32),
) -> anyhow::Result<TrainReport> {
    let varmap = model
        .varmap()
        .ok_or_else(|| anyhow::anyhow!("the model was not built for training"))?;
    let data = model.vocab().encode(text);
    let ctx = model.config().context;
    anyhow::ensure!(
        data.len() > ctx + 1,
        "the training text is shorter than the context"
    );
    let mut opt = AdamW::new(
        varmap.all_vars(),
        ParamsAdamW {
            lr: 1e-2,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )?;
    let batch = 128;
    let mut rng = fastrand::Rng::with_seed(seed);
    let started = Instant::now();
    let mut next_report = Duration::from_millis(500);
    let (mut sum, mut count) = (0.0f32, 0usize);
    let mut first_loss = None;
    let mut recent = std::collections::VecDeque::with_capacity(LAST_STEPS);
    let mut steps = 0;
    loop {
        let mut xs = Vec::with_capacity(batch * ctx);
        let mut ys = Vec::with_capacity(batch);
        for _ in 0..batch {
            // Any position, the ones near the start with left padding as at generation time.
            let end = rng.usize(1..data.len());
            xs.extend(model.window(&data[..end]));
            ys.push(data[end]);
        }
        let xs = Tensor::from_vec(xs, (batch, ctx), &Device::Cpu)?;
        let ys = Tensor::from_vec(ys, batch, &Device::Cpu)?;
        let loss = candle_nn::loss::cross_entropy(&model.forward(&xs)?, &ys)?;
        opt.backward_step(&loss)?;
        steps += 1;
        let value = loss.to_scalar::<f32>()?;
        first_loss.get_or_insert(value);
        if recent.len() == LAST_STEPS {
            recent.pop_front();
        }
        recent.push_back(value);
        sum += value;
        count += 1;
        let elapsed = started.elapsed();
        let (done, past_half) = match budget {
            Budget::Time(d) => (elapsed >= d, elapsed * 2 > d),
            Budget::Steps(n) => (steps >= n.max(1), steps * 2 > n),
        };
        // Anneal the learning rate over the second half of the budget.
        if past_half {
            opt.set_learning_rate(3e-3);
        }
        if elapsed >= next_report || done {
            log(steps, sum / count as f32);
            (sum, count) = (0.0, 0);
            next_report = elapsed + Duration::from_millis(500);
        }
        if done {
            let last_loss = recent.iter().sum::<f32>() / recent.len().max(1) as f32;
            return Ok(TrainReport {
                steps,
                first_loss: first_loss.unwrap_or(last_loss),
                last_loss,
                elapsed,
            });
        }
    }
}
