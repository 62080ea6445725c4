//! The benchmark workflow: a linear chain of one trivial agent, so `bench/run` can measure
//! what the platform adds per step against a hand-written state machine calling the same
//! function.

use serde::{Deserialize, Serialize};
use switchyard_sdk::{agent, workflow, AgentError, JsonShape};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct Baton {
    /// How many relays have passed it on.
    pub hops: u32,
    pub note: String,
}

/// Passes the baton on, counting the hop: the cheapest agent there is.
#[agent]
pub async fn relay(baton: Baton) -> Result<Baton, AgentError> {
    Ok(Baton {
        hops: baton.hops + 1,
        note: baton.note,
    })
}

workflow! {
    /// Five relays in a row: the per-step benchmark's linear chain.
    pub BenchChain(Baton) {
        hop1 = relay -> hop2;
        hop2 = relay -> hop3;
        hop3 = relay -> hop4;
        hop4 = relay -> hop5;
        hop5 = relay -> end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_relay_counts_its_hop() {
        let baton = Baton {
            hops: 2,
            note: "n".into(),
        };
        let out = relay(baton).await;
        assert_eq!(out.ok().map(|b| b.hops), Some(3));
    }
}
