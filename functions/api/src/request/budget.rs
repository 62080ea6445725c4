//! A run's `budget` as a start body gives it: `{"tokens": N?, "usd": X?}`, checked by the
//! rule `workflow!` checks a declared budget by.

use serde::Deserialize;
use switchyard_state::{Budget, BudgetLimit};

/// `{"tokens"?, "usd"?}`: a key it does not know is refused, not ignored (a misspelt limit
/// would leave a run unbounded).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetBody {
    tokens: Option<u64>,
    usd: Option<f64>,
}

impl BudgetBody {
    /// The budget, or its first problem as the path of its limit under `at` (`budget.usd`)
    /// and what is wrong.
    pub fn check(self, at: &str) -> Result<Budget, (String, String)> {
        let budget = Budget {
            tokens: self.tokens,
            usd: self.usd,
        };
        match budget.problems().into_iter().next() {
            None => Ok(budget),
            Some(problem) => {
                let field = match problem.limit {
                    BudgetLimit::Whole => at.to_owned(),
                    limit => format!("{at}.{}", limit.key()),
                };
                Err((field, problem.message))
            }
        }
    }
}
