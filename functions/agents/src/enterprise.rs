//! Enterprise coordinator: a request is classified, routed to the reviewer for its category,
//! sent for finance approval only when its total exceeds 5000, then fulfilled.

use serde::{Deserialize, Serialize};
use switchyard_sdk::{agent, workflow, AgentError, JsonShape};

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

/// Classifies the request by its line items and totals it.
#[agent(capabilities = ["classification"])]
pub async fn request_classifier(request: PurchaseRequest) -> Result<ClassifiedRequest, AgentError> {
    if request.items.is_empty() {
        return Err(AgentError::InvalidInput(
            "a purchase request needs at least one item".into(),
        ));
    }
    let text = request
        .items
        .iter()
        .map(|i| i.description.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    let category = if ["license", "saas", "subscription"]
        .iter()
        .any(|k| text.contains(k))
    {
        Category::Software
    } else if ["flight", "hotel", "travel"]
        .iter()
        .any(|k| text.contains(k))
    {
        Category::Travel
    } else {
        Category::Procurement
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
