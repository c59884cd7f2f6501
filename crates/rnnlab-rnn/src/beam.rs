//! Beam search over any network that writes one unit per step with its state carried: the
//! encoder-decoder's decoding and the language model's generation share it.

use rnnlab_kernels::CarriedState;

use crate::Error;

/// One step of the network for `n` hypotheses: their last units and the carried state (`None`
/// before the first step) in, each row's log-probabilities over the vocabulary (`[n * vocab]`,
/// row-major) and the state after the step out.
pub type Step<'a> = dyn FnMut(&[u32], Option<&CarriedState>) -> Result<(Vec<f32>, CarriedState), Error> + 'a;

/// Where a search starts and ends.
pub struct BeamLimits {
    /// Hypotheses kept at every step (1: greedy).
    pub beam: usize,
    /// Units written at most (the end unit not counted).
    pub limit: usize,
    /// The unit that ends a hypothesis (not part of its output), if any.
    pub end: Option<u32>,
    /// Width of the carried state's rows, to reorder them after each step.
    pub hidden: usize,
}

/// The output of highest total log-probability (no length penalty), ended by the end unit or by
/// the length limit, starting from `first` (the unit fed at the first step) and `state`.
pub fn beam_search(
    first: u32,
    state: Option<CarriedState>,
    limits: &BeamLimits,
    step: &mut Step,
) -> Result<Vec<u32>, Error> {
    let BeamLimits {
        beam,
        limit,
        end,
        hidden,
    } = *limits;
    if beam == 0 {
        return Err(Error::Param("--beam must be 1 or more".into()));
    }
    // (units, total log-probability); alive hypotheses share the state's rows, in order.
    let mut alive: Vec<(Vec<u32>, f32)> = vec![(Vec::new(), 0.0)];
    let mut finished: Vec<(Vec<u32>, f32)> = Vec::new();
    let mut state = state;
    for _ in 0..=limit {
        let n = alive.len();
        let inputs: Vec<u32> = alive.iter().map(|(u, _)| u.last().copied().unwrap_or(first)).collect();
        let (logp, next_state) = step(&inputs, state.as_ref())?;
        let v = logp.len() / n.max(1);
        let mut cand: Vec<(f32, usize, u32)> = Vec::with_capacity(n * v);
        for (i, (_, s)) in alive.iter().enumerate() {
            for u in 0..v {
                cand.push((s + logp[i * v + u], i, u as u32));
            }
        }
        cand.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let (mut next, mut parents, mut capped) = (Vec::new(), Vec::new(), vec![false; n]);
        for &(s, i, u) in &cand {
            if next.len() == beam || finished.len() == beam {
                break;
            }
            let units = &alive[i].0;
            if Some(u) == end {
                finished.push((units.clone(), s));
            } else if units.len() == limit {
                // At the limit a hypothesis ends as it is, once.
                if !capped[i] {
                    capped[i] = true;
                    finished.push((units.clone(), alive[i].1));
                }
            } else {
                let mut units = units.clone();
                units.push(u);
                next.push((units, s));
                parents.push(i);
            }
        }
        // Scores only fall, so a finished hypothesis at least as good as every live one wins.
        let best_done = finished.iter().map(|f| f.1).fold(f32::NEG_INFINITY, f32::max);
        let best_alive = next.iter().map(|a| a.1).fold(f32::NEG_INFINITY, f32::max);
        alive = next;
        if alive.is_empty() || finished.len() >= beam || best_done >= best_alive {
            break;
        }
        state = Some(next_state.select_rows(&parents, hidden));
    }
    // A finished hypothesis wins over any unfinished one (whose score would still fall).
    let pool = if finished.is_empty() { alive } else { finished };
    Ok(pool
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(u, _)| u)
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy "network" over 3 units whose log-probabilities depend on the last unit only:
    /// after 0 it prefers 1 (0.6) over 2 (0.4); after 1 the end unit 0 is unlikely, after 2 it
    /// is certain. Greedy takes 1 first and pays later; a beam of 2 finds [2].
    fn toy(inputs: &[u32], _: Option<&CarriedState>) -> Result<(Vec<f32>, CarriedState), Error> {
        let row = |last: u32| -> [f32; 3] {
            match last {
                0 => [f32::NEG_INFINITY, 0.6f32.ln(), 0.4f32.ln()],
                1 => [0.1f32.ln(), 0.45f32.ln(), 0.45f32.ln()],
                _ => [0.0, f32::NEG_INFINITY, f32::NEG_INFINITY],
            }
        };
        let logp = inputs.iter().flat_map(|&u| row(u)).collect();
        let state = CarriedState {
            h: vec![inputs.iter().map(|&u| u as f32).collect()],
            c: Vec::new(),
        };
        Ok((logp, state))
    }

    #[test]
    fn a_wider_beam_finds_what_greedy_misses() {
        let limits = |beam| BeamLimits {
            beam,
            limit: 5,
            end: Some(0),
            hidden: 1,
        };
        let greedy = beam_search(0, None, &limits(1), &mut toy).unwrap();
        assert_eq!(greedy[0], 1, "greedy takes the likelier first unit");
        assert_eq!(beam_search(0, None, &limits(2), &mut toy).unwrap(), vec![2]);
        assert!(beam_search(0, None, &limits(0), &mut toy).is_err());
        // Without an end unit the limit ends every hypothesis.
        let capped = BeamLimits {
            beam: 2,
            limit: 3,
            end: None,
            hidden: 1,
        };
        assert_eq!(beam_search(0, None, &capped, &mut toy).unwrap().len(), 3);
    }
}
