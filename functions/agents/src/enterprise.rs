//! Enterprise coordinator: a request is classified (by policy words, else by the model),
//! routed to the reviewer for its category, sent for finance approval only when its total
//! exceeds 5000, then fulfilled.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchyard_sdk::{agent, workflow, AgentContext, AgentError, JsonShape, Prompt};

use crate::text::one_line;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct LineItem {
    pub description: String,
    pub quantity: u32,
    pub unit_price: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct PurchaseRequest {
    pub request_id: String,
    pub department: String,
    pub requester: String,
    pub items: Vec<LineItem>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonShape)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Software,
    Travel,
    Procurement,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct ClassifiedRequest {
    pub request: PurchaseRequest,
    pub category: Category,
    pub total: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct ReviewedRequest {
    pub request: PurchaseRequest,
    pub category: Category,
    pub total: f64,
    pub reviewer: String,
    pub conditions: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct Fulfilment {
    pub request_id: String,
    pub purchase_order: String,
    pub total: f64,
}

/// Words that settle a category on their own, by the purchasing policy.
const POLICY_WORDS: [(Category, &[&str]); 2] = [
    (
        Category::Software,
        &["license", "licence", "saas", "subscription"],
    ),
    (Category::Travel, &["flight", "hotel", "travel"]),
];

/// How long the classification of the same items is reused: the same requests come back.
const CLASSIFICATION_CACHE: Duration = Duration::from_secs(24 * 60 * 60);

const CLASSIFIER_SYSTEM: &str = "\
You classify purchase requests so they reach the reviewer who approves them:
- software: licences, subscriptions, SaaS and cloud services, software support;
- travel: flights, hotels, trains, car hire, conference travel;
- procurement: everything else (equipment, hardware, furniture, supplies, services).
Classify by what the items are, not by who asks for them. When the items span categories, \
answer the category of the main item; when candidate categories are listed, answer one of them.";

/// The classifier's answer. Procurement, the catch-all, comes first: the offline model
/// answers the first.
#[derive(Debug, Deserialize, JsonShape)]
struct Classification {
    category: CategoryChoice,
}

#[derive(Clone, Copy, Debug, Deserialize, JsonShape)]
#[serde(rename_all = "snake_case")]
enum CategoryChoice {
    Procurement,
    Software,
    Travel,
}

impl From<CategoryChoice> for Category {
    fn from(choice: CategoryChoice) -> Category {
        match choice {
            CategoryChoice::Procurement => Category::Procurement,
            CategoryChoice::Software => Category::Software,
            CategoryChoice::Travel => Category::Travel,
        }
    }
}

/// The categories whose policy words the items use, in policy order.
fn policy_categories(items: &[LineItem]) -> Vec<Category> {
    let text = items
        .iter()
        .map(|i| i.description.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    POLICY_WORDS
        .iter()
        .filter(|(_, words)| words.iter().any(|w| text.contains(w)))
        .map(|(category, _)| *category)
        .collect()
}

fn category_name(category: Category) -> &'static str {
    match category {
        Category::Software => "software",
        Category::Travel => "travel",
        Category::Procurement => "procurement",
    }
}

/// Classifies the request and totals it: policy words decide when they name one category,
/// the model otherwise (among the categories named, when several are).
#[agent(capabilities = ["classification"])]
pub async fn request_classifier(
    request: PurchaseRequest,
    ctx: AgentContext,
) -> Result<ClassifiedRequest, AgentError> {
    if request.items.is_empty() {
        return Err(AgentError::InvalidInput(
            "a purchase request needs at least one item".into(),
        ));
    }
    let candidates = policy_categories(&request.items);
    let category = match candidates.as_slice() {
        [only] => *only,
        _ => {
            // Only what the category depends on, so the same items are answered from the cache.
            let mut brief = format!(
                "Purchase request from {}\nItems:\n{}",
                request.department,
                request
                    .items
                    .iter()
                    .map(|i| format!("- {}", one_line(&i.description)))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            if !candidates.is_empty() {
                let names: Vec<&str> = candidates.iter().map(|c| category_name(*c)).collect();
                brief.push_str(&format!("\nCandidate categories: {}", names.join(", ")));
            }
            let answer: Classification = ctx
                .model
                .chat(Prompt::new(CLASSIFIER_SYSTEM, brief).temperature(0.0))
                .cache(CLASSIFICATION_CACHE)
                .ask()
                .await?;
            let chosen = Category::from(answer.category);
            match candidates.first() {
                // An answer outside the candidates breaks the policy: its first candidate stands.
                Some(first) if !candidates.contains(&chosen) => *first,
                _ => chosen,
            }
        }
    };
    let total = request
        .items
        .iter()
        .map(|i| f64::from(i.quantity) * i.unit_price)
        .sum();
    Ok(ClassifiedRequest {
        request,
        category,
        total,
    })
}

fn review(classified: ClassifiedRequest, reviewer: &str, conditions: &[&str]) -> ReviewedRequest {
    ReviewedRequest {
        request: classified.request,
        category: classified.category,
        total: classified.total,
        reviewer: reviewer.into(),
        conditions: conditions.iter().map(|c| c.to_string()).collect(),
    }
}

/// IT reviews software purchases.
#[agent(capabilities = ["it-approval"])]
pub async fn it_reviewer(request: ClassifiedRequest) -> Result<ReviewedRequest, AgentError> {
    Ok(review(request, "it", &["security review of the vendor"]))
}

/// Travel desk reviews travel.
#[agent(capabilities = ["travel-approval"])]
pub async fn travel_reviewer(request: ClassifiedRequest) -> Result<ReviewedRequest, AgentError> {
    Ok(review(request, "travel-desk", &["economy class"]))
}

/// Procurement reviews everything else.
#[agent(capabilities = ["procurement-approval"])]
pub async fn procurement_reviewer(
    request: ClassifiedRequest,
) -> Result<ReviewedRequest, AgentError> {
    Ok(review(request, "procurement", &[]))
}

/// Issues the purchase order.
#[agent(capabilities = ["fulfilment"])]
pub async fn fulfilment(request: ReviewedRequest) -> Result<Fulfilment, AgentError> {
    Ok(Fulfilment {
        purchase_order: format!("PO-{}", request.request.request_id),
        request_id: request.request.request_id,
        total: request.total,
    })
}

workflow! {
    /// Classify → route by category → finance approval when total > 5000 → fulfil.
    pub EnterpriseCoordinator(PurchaseRequest) {
        classify = request_classifier -> route;
        route = match category {
            Category::Software => it_review,
            Category::Travel => travel_review,
            Category::Procurement => procurement_review,
        };
        it_review = it_reviewer -> finance_approval;
        travel_review = travel_reviewer -> finance_approval;
        procurement_review = procurement_reviewer -> finance_approval;
        finance_approval = approval(
            subject = "Finance approval for a purchase over 5000",
            summary = [
                total as "Total (USD)",
                category,
                request.department,
                request.requester,
                reviewer as "Reviewed by",
                conditions,
            ],
            timeout = 86400,
            approvers = ["finance@switchyard.test"],
            on_reject = fail,
            on_timeout = fail,
        ).when(total > 5000.0) -> fulfil;
        fulfil = fulfilment -> end;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scripted::{offline, with_model, ScriptedModel};

    fn request(descriptions: &[&str]) -> PurchaseRequest {
        PurchaseRequest {
            request_id: "R-7".into(),
            department: "ops".into(),
            requester: "ada".into(),
            items: descriptions
                .iter()
                .map(|d| LineItem {
                    description: (*d).into(),
                    quantity: 2,
                    unit_price: 1250.5,
                })
                .collect(),
        }
    }

    #[tokio::test]
    async fn policy_words_decide_without_asking_the_model() {
        let model = ScriptedModel::answering(json!({ "category": "procurement" }));
        let classified = request_classifier(
            request(&["Flight to Oslo"]),
            with_model("classify", model.clone()),
        )
        .await
        .expect("classifies");
        assert_eq!(classified.category, Category::Travel);
        assert!(model.requests().is_empty());
    }

    #[tokio::test]
    async fn offline_unknown_items_go_to_procurement_with_the_request_and_total_intact() {
        let sent = request(&["Build servers", "Rack rails"]);
        let classified = request_classifier(sent.clone(), offline("classify"))
            .await
            .expect("classifies");
        assert_eq!(classified.category, Category::Procurement);
        assert_eq!(classified.request, sent);
        assert_eq!(classified.total, 5002.0);
    }

    #[tokio::test]
    async fn the_model_classifies_what_the_policy_does_not_and_its_answer_is_cached() {
        let model = ScriptedModel::answering(json!({ "category": "software" }));
        let classified = request_classifier(
            request(&["Design tool seats"]),
            with_model("classify", model.clone()),
        )
        .await
        .expect("classifies");
        assert_eq!(classified.category, Category::Software);
        let asked = &model.requests()[0];
        assert_eq!(asked.cache_ttl_s, Some(86_400));
        assert!(asked.prompt.user.contains("- Design tool seats"));
        assert!(!asked.prompt.user.contains("1250.5") && !asked.prompt.user.contains("R-7"));
    }

    #[tokio::test]
    async fn among_several_policy_categories_the_model_may_only_pick_one_of_them() {
        let items = ["Flight simulator software license"];
        let travel = ScriptedModel::answering(json!({ "category": "travel" }));
        let classified =
            request_classifier(request(&items), with_model("classify", travel.clone()))
                .await
                .expect("classifies");
        assert_eq!(classified.category, Category::Travel);
        assert!(travel.user_prompts()[0].ends_with("Candidate categories: software, travel"));
        let outside = ScriptedModel::answering(json!({ "category": "procurement" }));
        let classified = request_classifier(request(&items), with_model("classify", outside))
            .await
            .expect("classifies");
        assert_eq!(classified.category, Category::Software);
    }
}
