//! API Gateway (HTTP API, payload 2.0) events for each function, from the employee's event in
//! `events/` (claims with `products/write`, as the JWT authorizer passes them on).

use serde_json::{Value, json};

const EMPLOYEE: &str = include_str!("../../../events/create-product.employee.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    CreateProduct,
    ListProducts,
}

impl Function {
    pub fn name(self) -> &'static str {
        match self {
            Function::CreateProduct => "create-product",
            Function::ListProducts => "list-products",
        }
    }

    /// The status every invocation must answer; anything else stops the bench.
    pub fn expected_status(self) -> u64 {
        match self {
            Function::CreateProduct => 201,
            Function::ListProducts => 200,
        }
    }

    /// The `n`-th event of a run: a create of a SKU no one used, or a first page of 20.
    pub fn event(self, run: &str, n: usize) -> Vec<u8> {
        let mut event: Value = serde_json::from_str(EMPLOYEE).expect("events/create-product.employee.json is JSON");
        event["requestContext"]["requestId"] = json!(format!("bench-{run}-{n}"));
        match self {
            Function::CreateProduct => {
                let body = json!({"name": format!("Bench product {n}"), "sku": format!("BENCH-{run}-{n}"), "price": "4.50"});
                event["body"] = json!(body.to_string());
            }
            Function::ListProducts => {
                event["routeKey"] = json!("GET /products");
                event["rawQueryString"] = json!("limit=20");
                event["queryStringParameters"] = json!({"limit": "20"});
                event["requestContext"]["http"]["method"] = json!("GET");
                event["requestContext"]["routeKey"] = json!("GET /products");
                event.as_object_mut().expect("an object").remove("body");
            }
        }
        serde_json::to_vec(&event).expect("serialisable")
    }
}
