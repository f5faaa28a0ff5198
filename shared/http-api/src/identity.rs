//! Who is calling. Tokens are verified by API Gateway's JWT authorizer, which hands the
//! function the token's claims (never the token) in the event's request context; the
//! functions read those claims and check them again, so that a template that lost its
//! authorizer fails closed instead of opening writes to anyone.
//!
//! `STORE_AUTH` picks the policy: `gateway` (the default, and the only one the deployed
//! template runs) or `off`, which only `make run` sets, for a local run without an identity
//! provider.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::ApiError;

pub const AUTH_VAR: &str = "STORE_AUTH";
pub const WRITE_SCOPE_VAR: &str = "STORE_WRITE_SCOPE";
/// The scope a write needs unless `STORE_WRITE_SCOPE` says otherwise (the stack's Cognito
/// resource server `products` with its scope `write`).
pub const DEFAULT_WRITE_SCOPE: &str = "products/write";
/// The creator recorded when `STORE_AUTH=off` and the event carries no claims.
pub const ANONYMOUS: &str = "anonymous";

/// Who may write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WritePolicy {
    /// A write needs the authorizer's claims, a subject, and `write_scope` among the scopes.
    Gateway { write_scope: String },
    /// Local runs only: every write is allowed; claims, when an event carries them, still
    /// name the creator.
    Off,
}

/// The caller of a write that was allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's `sub`, or `ANONYMOUS` when auth is off and there is none.
    pub subject: String,
}

impl WritePolicy {
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// A bad value stops start-up naming the variable: a typo must not open writes.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mode = lookup(AUTH_VAR).unwrap_or_default();
        match mode.trim() {
            "" | "gateway" => {
                let scope = lookup(WRITE_SCOPE_VAR).unwrap_or_default();
                let scope = scope.trim();
                if scope.chars().any(char::is_whitespace) {
                    return Err(format!("invalid {WRITE_SCOPE_VAR}: {scope:?} is not one scope"));
                }
                let write_scope = if scope.is_empty() { DEFAULT_WRITE_SCOPE } else { scope };
                Ok(WritePolicy::Gateway { write_scope: write_scope.to_owned() })
            }
            "off" => Ok(WritePolicy::Off),
            other => Err(format!("invalid {AUTH_VAR}: {other:?} is not gateway or off")),
        }
    }

    /// The caller, if this request may write: 401 without a verified identity, 403 without
    /// the write scope (or without a subject to record).
    pub fn writer(&self, req: &Request) -> Result<Caller, ApiError> {
        let claims = Claims::of(req);
        match self {
            WritePolicy::Off => Ok(Caller {
                subject: claims.and_then(|c| c.subject()).unwrap_or(ANONYMOUS).to_owned(),
            }),
            WritePolicy::Gateway { write_scope } => {
                let claims = claims.ok_or(ApiError::Unauthenticated)?;
                if !claims.has_scope(write_scope) {
                    return Err(ApiError::Forbidden { reason: format!("the token lacks the scope {write_scope}") });
                }
                let subject = claims
                    .subject()
                    .ok_or_else(|| ApiError::Forbidden { reason: "the token names no subject (sub)".into() })?;
                Ok(Caller { subject: subject.to_owned() })
            }
        }
    }
}

/// The subject of the request's verified token, if any: for the log line of every request.
pub fn subject(req: &Request) -> Option<&str> {
    Claims::of(req).and_then(|c| c.subject())
}

/// The request context API Gateway's JWT authorizer gives a request (HTTP API, payload 2.0)
/// whose token carried these claims; `scopes` as API Gateway lists them. For tests and local
/// tools that build requests as Lambda hands them over.
pub fn authorized_context(method: &str, claims: &[(&str, &str)], scopes: Option<&[&str]>) -> RequestContext {
    let claims: serde_json::Map<String, serde_json::Value> =
        claims.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(*v))).collect();
    let context = serde_json::json!({
        "http": { "method": method },
        "authorizer": { "jwt": { "claims": claims, "scopes": scopes } },
    });
    RequestContext::ApiGatewayV2(serde_json::from_value(context).expect("an HTTP API request context"))
}

/// The JWT authorizer's part of an HTTP API (payload 2.0) request context.
struct Claims<'a> {
    jwt: &'a lambda_http::aws_lambda_events::apigw::ApiGatewayRequestAuthorizerJwtDescription,
}

impl<'a> Claims<'a> {
    fn of(req: &'a Request) -> Option<Self> {
        match req.request_context_ref()? {
            RequestContext::ApiGatewayV2(context) => {
                let jwt = context.authorizer.as_ref()?.jwt.as_ref()?;
                // An authorizer section with no claims is no verified identity.
                (!jwt.claims.is_empty()).then_some(Claims { jwt })
            }
            _ => None,
        }
    }

    fn subject(&self) -> Option<&'a str> {
        self.jwt.claims.get("sub").map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    /// API Gateway lists the token's scopes in `scopes` when the route requires one; the
    /// `scope` claim (space-separated, RFC 8693; `scp` for some issuers) holds them either way.
    fn has_scope(&self, wanted: &str) -> bool {
        let listed = self.jwt.scopes.iter().flatten().any(|s| s == wanted);
        let claimed = ["scope", "scp"]
            .iter()
            .filter_map(|name| self.jwt.claims.get(*name))
            .any(|value| value.split_whitespace().any(|s| s == wanted));
        listed || claimed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(vars: &[(&str, &str)]) -> Result<WritePolicy, String> {
        WritePolicy::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    fn request(claims: &[(&str, &str)], scopes: Option<&[&str]>) -> Request {
        lambda_http::http::Request::builder()
            .method("POST")
            .body(lambda_http::Body::Empty)
            .unwrap()
            .with_request_context(authorized_context("POST", claims, scopes))
    }

    fn gateway() -> WritePolicy {
        WritePolicy::Gateway { write_scope: DEFAULT_WRITE_SCOPE.into() }
    }

    #[test]
    fn the_write_scope_counts_from_the_scope_claim_or_the_listed_scopes() {
        let by_claim = request(&[("sub", "emp-1"), ("scope", "openid products/write")], None);
        assert_eq!(gateway().writer(&by_claim).unwrap().subject, "emp-1");
        let listed = request(&[("sub", "emp-2")], Some(&["products/write"]));
        assert_eq!(gateway().writer(&listed).unwrap().subject, "emp-2");
        // A scope that merely contains the wanted one is not it.
        let near = request(&[("sub", "emp-3"), ("scope", "products/write-all")], None);
        assert_eq!(gateway().writer(&near).unwrap_err().status(), 403);
    }

    #[test]
    fn no_claims_is_401_no_scope_or_subject_is_403_and_off_records_anonymous() {
        let bare = lambda_http::http::Request::builder().body(lambda_http::Body::Empty).unwrap();
        assert_eq!(gateway().writer(&bare).unwrap_err(), ApiError::Unauthenticated);
        let reader = request(&[("sub", "emp-1"), ("scope", "openid")], None);
        assert_eq!(gateway().writer(&reader).unwrap_err().status(), 403);
        let nobody = request(&[("scope", "products/write")], None);
        assert_eq!(gateway().writer(&nobody).unwrap_err().status(), 403);
        assert_eq!(WritePolicy::Off.writer(&bare).unwrap().subject, ANONYMOUS);
        assert_eq!(WritePolicy::Off.writer(&reader).unwrap().subject, "emp-1");
    }

    #[test]
    fn gateway_is_the_default_and_typos_stop_start_up() {
        assert_eq!(policy(&[]).unwrap(), WritePolicy::Gateway { write_scope: DEFAULT_WRITE_SCOPE.into() });
        assert_eq!(policy(&[(AUTH_VAR, "off")]).unwrap(), WritePolicy::Off);
        assert_eq!(
            policy(&[(WRITE_SCOPE_VAR, "store/admin")]).unwrap(),
            WritePolicy::Gateway { write_scope: "store/admin".into() }
        );
        assert!(policy(&[(AUTH_VAR, "of")]).unwrap_err().contains(AUTH_VAR));
        assert!(policy(&[(WRITE_SCOPE_VAR, "a b")]).unwrap_err().contains(WRITE_SCOPE_VAR));
    }
}
