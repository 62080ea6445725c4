use serde::{Deserialize, Serialize};

use crate::shape::{Field, JsonShape, Presence, Shape, Struct, APPROVAL_FIELD};
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

impl<T> std::ops::Deref for Approved<T> {
    type Target = T;

    /// A subject's field reads the same in Rust as in the JSON: `total`, not `subject.total`.
    fn deref(&self) -> &T {
        &self.subject
    }
}

impl<T: JsonShape> JsonShape for Approved<T> {
    const SHAPE: Shape = Shape::Struct(&Struct {
        name: "Approved",
        fields: &[
            Field {
                rust: "subject",
                json: "subject",
                shape: &T::SHAPE,
                presence: Presence::Always,
                flatten: true,
            },
            Field {
                rust: APPROVAL_FIELD,
                json: APPROVAL_FIELD,
                shape: &<ApprovalDecision as JsonShape>::SHAPE,
                presence: Presence::Always,
                flatten: false,
            },
        ],
        deny_unknown_fields: false,
        approved: true,
    });
}

#[diagnostic::do_not_recommend]
impl<T> FlowsInto<T> for Approved<T> {}

/// Two gates in a row: the second decision replaces the first in the JSON.
#[diagnostic::do_not_recommend]
impl<T> FlowsInto<T> for Approved<Approved<T>> {}

/// A person's (or the dev auto-approver's) decision at a gate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, crate::JsonShape)]
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
