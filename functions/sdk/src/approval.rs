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

/// Written by hand: `decision` only ever holds `approve` or `reject`, so a condition
/// comparing it with anything else is refused at build.
impl JsonShape for ApprovalDecision {
    const SHAPE: Shape = Shape::Struct(&Struct {
        name: "ApprovalDecision",
        fields: &[
            Field {
                rust: "decision",
                json: "decision",
                shape: &Shape::OneOf(&[ApprovalDecision::APPROVE, ApprovalDecision::REJECT]),
                presence: Presence::Always,
                flatten: false,
            },
            Field {
                rust: "approver",
                json: "approver",
                shape: &Shape::Nullable(&Shape::String),
                presence: Presence::Always,
                flatten: false,
            },
            Field {
                rust: "notes",
                json: "notes",
                shape: &Shape::Nullable(&Shape::String),
                presence: Presence::Always,
                flatten: false,
            },
            Field {
                rust: "choice",
                json: "choice",
                shape: &Shape::Nullable(&Shape::String),
                presence: Presence::Always,
                flatten: false,
            },
            Field {
                rust: "auto_approved",
                json: "auto_approved",
                shape: &Shape::Bool,
                presence: Presence::Always,
                flatten: false,
            },
        ],
        deny_unknown_fields: false,
        approved: false,
    });
}

impl ApprovalDecision {
    /// The positive decision of a gate.
    pub const APPROVE: &'static str = "approve";
    /// The negative decision every gate offers.
    pub const REJECT: &'static str = "reject";

    /// The decision a gate outputs when `picked` (`approve`, `reject` or one of the gate's
    /// `choices`) is chosen. People and the dev auto-approver both go through here, so a
    /// workflow routing on `approval.decision` or `approval.choice` behaves the same in
    /// development and production: `decision` is `approve` or `reject`, and `choice` is the
    /// picked option on a gate with choices.
    pub fn picked(
        choices: &[String],
        picked: &str,
        approver: Option<String>,
        notes: Option<String>,
        auto_approved: bool,
    ) -> ApprovalDecision {
        let rejected = picked == Self::REJECT;
        ApprovalDecision {
            decision: if rejected {
                Self::REJECT
            } else {
                Self::APPROVE
            }
            .to_owned(),
            approver,
            notes,
            choice: (!choices.is_empty() && !rejected).then(|| picked.to_owned()),
            auto_approved,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_and_the_auto_approver_decide_in_the_same_shape() {
        let choices = vec!["concept-1".to_owned(), "concept-2".to_owned()];
        let person =
            ApprovalDecision::picked(&choices, "concept-1", Some("ada".into()), None, false);
        let auto = ApprovalDecision::picked(
            &choices,
            &choices[0],
            Some("auto-approver".into()),
            None,
            true,
        );
        assert_eq!(person.decision, auto.decision);
        assert_eq!(person.choice, auto.choice);
        assert_eq!(person.decision, "approve");
        assert_eq!(person.choice.as_deref(), Some("concept-1"));
        let plain = ApprovalDecision::picked(&[], "approve", None, None, true);
        assert_eq!((plain.decision.as_str(), plain.choice), ("approve", None));
        let rejected = ApprovalDecision::picked(&choices, "reject", None, None, false);
        assert_eq!(
            (rejected.decision.as_str(), rejected.choice),
            ("reject", None)
        );
    }
}
