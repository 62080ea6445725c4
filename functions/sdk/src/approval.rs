use serde::{Deserialize, Serialize};

use crate::FlowsInto;

/// What an approval gate outputs: the data that was approved, plus the decision.
///
/// The decision travels as an `approval` field next to the data's own fields, so a step
/// after a gate may take `Approved<T>` to read who decided what, or just `T`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Approved<T> {
    #[serde(flatten)]
    pub subject: T,
    pub approval: ApprovalDecision,
}

#[diagnostic::do_not_recommend]
impl<T> FlowsInto<T> for Approved<T> {}

/// Two gates in a row: the second decision replaces the first in the JSON.
#[diagnostic::do_not_recommend]
impl<T> FlowsInto<T> for Approved<Approved<T>> {}

/// A person's (or the dev auto-approver's) decision at a gate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalDecision {
    /// `approve`, `reject`, or one of the gate's declared choices.
    pub decision: String,
    #[serde(default)]
    pub approver: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// The chosen option when the gate declares choices.
    #[serde(default)]
    pub choice: Option<String>,
    #[serde(default)]
    pub auto_approved: bool,
}
