//! Turning a request's credential into a [`Caller`] of one pair, then
//! asking [`access::check`] whether it may do the operation.
//!
//! Accepted, in this order: an admin credential (API key or console
//! cookie), a personal link's token as `Bearer` (its link row must still be
//! live: revocation takes effect at once), or the join token of one of the
//! pair's calls as `Bearer`. A credential of another pair gets `404`, as an
//! unknown pair does, so ids cannot be probed with a credential one holds.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use duet_signaling::Role;

use super::auth::{admin_from_parts, bearer};
use super::error::ApiError;
use crate::clock::now_s;
use crate::links::PairTokenKind;
use crate::pairs::PairId;
use crate::pairs::access::{self, Caller, Denied, Operation};
use crate::state::AppState;
use crate::store::PairRecord;

/// The credential a request carries, before it is tied to a pair.
pub enum PairCredential {
    Admin(String),
    Bearer(String),
}

impl FromRequestParts<AppState> for PairCredential {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(admin) = admin_from_parts(parts, state).await? {
            return Ok(PairCredential::Admin(admin.actor));
        }
        bearer(parts)
            .map(|b| PairCredential::Bearer(b.to_string()))
            .ok_or(ApiError::Unauthorized)
    }
}

/// Parses a pair id from the path.
pub fn parse_pair_id(id: &str) -> Result<PairId, ApiError> {
    uuid::Uuid::parse_str(id).map(PairId).map_err(|_| {
        ApiError::BadPath(format!(
            "{:?} is not a pair id (a UUID)",
            id.chars().take(60).collect::<String>()
        ))
    })
}

/// The pair a personal token opens, if the token is valid and its link
/// live: `(pair, role)`.
pub async fn personal(state: &AppState, token: &str) -> Result<Option<(PairId, Role)>, ApiError> {
    let Ok(claims) = state
        .links()
        .verify_pair(token, PairTokenKind::Personal, now_s())
    else {
        return Ok(None);
    };
    let live = state
        .store()
        .pair_link(&claims.lid)
        .await?
        .is_some_and(|l| {
            l.revoked_at_ms.is_none() && l.pair_id == claims.pid && l.role == claims.role
        });
    Ok(live.then_some((claims.pid, claims.role)))
}

/// Who `cred` is for pair `id`, and the pair; `Unauthorized` when the
/// credential is no good at all, `NotFound` when it is good for something
/// else.
pub async fn caller(
    state: &AppState,
    cred: &PairCredential,
    id: PairId,
) -> Result<(Caller, PairRecord), ApiError> {
    let caller = match cred {
        PairCredential::Admin(actor) => Caller::Admin {
            actor: actor.clone(),
        },
        PairCredential::Bearer(token) => {
            if let Some((pair, role)) = personal(state, token).await? {
                if pair != id {
                    return Err(ApiError::NotFound("pair"));
                }
                Caller::Person { role }
            } else if let Ok(claims) = state.links().verify(token, now_s()) {
                if state.store().pair_of_session(claims.sid).await? != Some(id) {
                    return Err(ApiError::NotFound("pair"));
                }
                Caller::Call {
                    role: claims.role,
                    session: claims.sid,
                }
            } else {
                return Err(bad_link());
            }
        }
    };
    let pair = state
        .store()
        .pair(id)
        .await?
        .ok_or(ApiError::NotFound("pair"))?;
    Ok((caller, pair))
}

/// A bearer that is no valid credential: said for people, who hold
/// links, not API keys.
pub fn bad_link() -> ApiError {
    ApiError::refused(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this link does not work: it was revoked, has expired or was altered; \
         ask whoever runs Duet for a new one",
    )
}

/// [`caller`] plus the check that it may do `op`.
pub async fn authorize(
    state: &AppState,
    cred: &PairCredential,
    id: &str,
    op: Operation,
) -> Result<(Caller, PairRecord), ApiError> {
    let id = parse_pair_id(id)?;
    let (caller, pair) = caller(state, cred, id).await?;
    access::check(&caller, op, pair.ended_at_ms.is_some()).map_err(denied)?;
    Ok((caller, pair))
}

/// A refused operation in the API's error shape.
pub fn denied(d: Denied) -> ApiError {
    let (status, code) = match d {
        Denied::Ended => (StatusCode::CONFLICT, "pair_ended"),
        Denied::AdminOnly | Denied::PeopleOnly | Denied::PersonalLinkOnly => {
            (StatusCode::FORBIDDEN, "forbidden")
        }
    };
    ApiError::refused(status, code, d.to_string())
}

/// The role of a caller that `check` has let through to a person-only
/// operation.
pub fn person_role(caller: &Caller) -> Result<Role, ApiError> {
    caller.role().ok_or_else(|| denied(Denied::PeopleOnly))
}
