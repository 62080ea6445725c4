// Mistakes in a gate's `summary` the declaration alone shows, each at its token: two fields
// with one label (`conditions` and `request.conditions` are both "Conditions" by default), a
// label too long for a line, a summary set twice, an empty one, something that is not a
// field path, and more fields than a summary shows.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Request {
    pub conditions: Vec<String>,
    pub a: u32,
    pub b: u32,
    pub c: u32,
    pub d: u32,
    pub e: u32,
    pub f: u32,
    pub g: u32,
    pub h: u32,
    pub i: u32,
    pub j: u32,
    pub k: u32,
    pub l: u32,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Review {
    pub conditions: Vec<String>,
    pub request: Request,
    pub total: f64,
}

#[agent]
async fn reviewer(review: Review) -> Result<Review, AgentError> {
    Ok(review)
}

workflow! {
    Purchase(Review) {
        review = reviewer -> finance;
        finance = approval(
            subject = "Finance approval",
            summary = [
                conditions,
                request.conditions,
                total as "The total of every line item, in US dollars, after discounts and tax",
                total.abs(),
            ],
            summary = [total],
            timeout = 3600,
        ) -> legal;
        legal = approval(subject = "Legal approval", summary = [], timeout = 3600) -> board;
        board = approval(
            subject = "Board approval",
            summary = [
                request.a, request.b, request.c, request.d, request.e, request.f, request.g,
                request.h, request.i, request.j, request.k, request.l, total,
            ],
            timeout = 3600,
        ) -> end;
    }
}

fn main() {}
