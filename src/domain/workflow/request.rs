//! Requests and decisions: where a request stands, what a sign-off does to
//! it, and when it has lapsed.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

use super::{Transition, TransitionError};
use crate::domain::{ContentDigest, FieldError, Stage};

/// Where a promotion request stands. Only `Pending` is open; every other
/// state is final, so a closed request is an immutable audit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RequestState {
    /// Waiting for sign-offs.
    Pending,
    /// Enough sign-offs arrived and the stage change was applied.
    Approved,
    /// An approver refused it.
    Rejected,
    /// The requester or an admin withdrew it.
    Cancelled,
    /// Its deadline passed before enough sign-offs arrived.
    Expired,
    /// Made moot: the version changed stage by another route meanwhile, so
    /// the sign-offs no longer describe the move that would happen.
    Superseded,
}

impl RequestState {
    pub const ALL: [RequestState; 6] = [
        RequestState::Pending,
        RequestState::Approved,
        RequestState::Rejected,
        RequestState::Cancelled,
        RequestState::Expired,
        RequestState::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Rejected => "rejected",
            RequestState::Cancelled => "cancelled",
            RequestState::Expired => "expired",
            RequestState::Superseded => "superseded",
        }
    }

    /// Whether the request still accepts sign-offs and cancellation.
    pub fn is_open(self) -> bool {
        matches!(self, RequestState::Pending)
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestState {
    type Err = FieldError;

    /// Exact lowercase, as stored; this parses database values and query
    /// filters, which are machine-written.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RequestState::ALL
            .into_iter()
            .find(|state| state.as_str() == s.trim())
            .ok_or_else(|| {
                FieldError::new(
                    "state",
                    "must be one of pending, approved, rejected, cancelled, expired, superseded",
                )
            })
    }
}

/// What a request asks for. Every kind goes through the same sign-off,
/// expiry, cancellation and apply-once rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum RequestKind {
    /// Move the version from one stage to another.
    #[serde(rename = "stage")]
    Stage,
    /// Point a protected alias at the version.
    #[serde(rename = "alias.set")]
    AliasSet,
    /// Remove a protected alias, which points at the version.
    #[serde(rename = "alias.remove")]
    AliasRemove,
}

impl RequestKind {
    pub const ALL: [RequestKind; 3] = [
        RequestKind::Stage,
        RequestKind::AliasSet,
        RequestKind::AliasRemove,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Stage => "stage",
            RequestKind::AliasSet => "alias.set",
            RequestKind::AliasRemove => "alias.remove",
        }
    }

    pub fn is_alias(self) -> bool {
        !matches!(self, RequestKind::Stage)
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestKind {
    type Err = FieldError;
    /// Exact, as stored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RequestKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| FieldError::new("kind", "must be stage, alias.set or alias.remove"))
    }
}

/// Everything [`decide`] and [`can_cancel`] need about one request, loaded by
/// the caller in the same transaction that will act on the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSnapshot {
    pub state: RequestState,
    /// User id of whoever opened the request.
    pub requested_by: i64,
    /// The version's stage when the request was opened.
    pub from: Stage,
    pub to: Stage,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Milliseconds since the Unix epoch; the request is expired from this
    /// instant on (inclusive).
    pub expires_at: i64,
    /// User ids of the approvers who have signed off so far.
    pub approvals: Vec<i64>,
    /// Sign-offs needed, frozen from the policy when the request was opened,
    /// so an admin editing the policy cannot change the rules mid-review.
    pub required: u8,
    /// The version's stage right now.
    pub version_stage_now: Stage,
    /// The version's content digest when the request was opened (absent for
    /// requests opened before digests were recorded).
    pub digest_at_open: Option<ContentDigest>,
    /// The version's content digest right now.
    pub digest_now: Option<ContentDigest>,
    /// False once the version has been deleted.
    pub version_live: bool,
}

/// Why a pending request no longer describes a move that may happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lapse {
    /// Its deadline passed.
    Expired,
    /// The version was deleted.
    VersionDeleted,
    /// The version changed stage by another route.
    Moved { from: Stage, now: Stage },
    /// The version's content is no longer what the reviewers were shown.
    ContentChanged {
        then: ContentDigest,
        now: ContentDigest,
    },
}

impl Lapse {
    /// The final state to close the request with.
    pub fn state(&self) -> RequestState {
        match self {
            Lapse::Expired => RequestState::Expired,
            Lapse::VersionDeleted => RequestState::Cancelled,
            Lapse::Moved { .. } | Lapse::ContentChanged { .. } => RequestState::Superseded,
        }
    }

    /// Why, in a sentence, for the request's close note.
    pub fn note(&self) -> String {
        match self {
            Lapse::Expired => "its deadline passed before enough sign-offs arrived".to_owned(),
            Lapse::VersionDeleted => "the version was deleted".to_owned(),
            Lapse::Moved { from, now } => {
                format!("the version moved from {from} to {now} by another route")
            }
            Lapse::ContentChanged { then, now } => format!(
                "the version's content changed after the request was opened \
                 (content digest {then} then, {now} now)"
            ),
        }
    }

    fn error(&self) -> WorkflowError {
        match self {
            Lapse::Expired => WorkflowError::Expired,
            Lapse::VersionDeleted => WorkflowError::VersionDeleted,
            Lapse::Moved { from, now } => WorkflowError::Moot {
                from: *from,
                now: *now,
            },
            Lapse::ContentChanged { then, now } => WorkflowError::ContentChanged {
                then: then.clone(),
                now: now.clone(),
            },
        }
    }
}

impl RequestSnapshot {
    /// Why a still-pending request has lapsed, if it has, checked in this
    /// order: its deadline, the version's deletion, a stage change by another
    /// route, a content change. `None` while it is live, or already closed.
    /// Sweepers and page loads use this; [`decide`] applies the same rule.
    pub fn lapse(&self, now: i64) -> Option<Lapse> {
        if !self.state.is_open() {
            return None;
        }
        if now >= self.expires_at {
            return Some(Lapse::Expired);
        }
        if !self.version_live {
            return Some(Lapse::VersionDeleted);
        }
        if self.version_stage_now != self.from {
            return Some(Lapse::Moved {
                from: self.from,
                now: self.version_stage_now,
            });
        }
        match (&self.digest_at_open, &self.digest_now) {
            (Some(then), Some(now)) if then != now => Some(Lapse::ContentChanged {
                then: then.clone(),
                now: now.clone(),
            }),
            _ => None,
        }
    }

    /// The final state a lapsed request should be closed with (see [`Self::lapse`]).
    pub fn lapsed(&self, now: i64) -> Option<RequestState> {
        self.lapse(now).map(|l| l.state())
    }

    /// Distinct sign-offs, never counting the requester. Both are already
    /// guaranteed by [`decide`]; counting defensively means a duplicated or
    /// hand-edited row can never meet the policy early.
    fn distinct_approvals(&self) -> usize {
        self.approvals
            .iter()
            .enumerate()
            .filter(|&(i, id)| *id != self.requested_by && !self.approvals[..i].contains(id))
            .count()
    }
}

/// An approver's answer to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Decision {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "approve" => Ok(Decision::Approve),
            "reject" => Ok(Decision::Reject),
            _ => Err(FieldError::new("decision", "must be approve or reject")),
        }
    }
}

/// What the caller must do after a valid decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Record the sign-off; the request stays pending. `approvals` counts
    /// this one.
    Recorded { approvals: u8, required: u8 },
    /// Record the sign-off, set the request `Approved` and apply the stage
    /// change, all in one transaction (and archive the previous production
    /// version if the policy says so).
    Apply,
    /// Record the refusal and set the request `Rejected`.
    Rejected,
}

/// Why a workflow action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("this request is no longer pending: it is {0}")]
    NotOpen(RequestState),
    #[error("this request has expired; open a new one")]
    Expired,
    #[error(
        "the version has moved from {from} to {now} since this request was opened, \
         so it no longer applies; open a new one"
    )]
    Moot { from: Stage, now: Stage },
    #[error(
        "the version's content changed since this request was opened (content digest \
         {then} then, {now} now), so the sign-offs no longer describe it; open a new one"
    )]
    ContentChanged {
        then: ContentDigest,
        now: ContentDigest,
    },
    #[error("the version was deleted, so this request can never apply")]
    VersionDeleted,
    #[error(
        "you opened this request, so you cannot approve or reject it; another \
         approver must (you may cancel it instead)"
    )]
    SelfApproval,
    #[error("you have already signed off this request")]
    AlreadySignedOff,
    #[error("only the requester or an admin may cancel this request")]
    NotAllowedToCancel,
}

impl WorkflowError {
    /// For the errors that mean the request itself has lapsed, the state the
    /// caller should now close it with, so the next visitor sees the truth.
    pub fn closes_request(&self) -> Option<RequestState> {
        match self {
            WorkflowError::Expired => Some(RequestState::Expired),
            WorkflowError::Moot { .. } | WorkflowError::ContentChanged { .. } => {
                Some(RequestState::Superseded)
            }
            WorkflowError::VersionDeleted => Some(RequestState::Cancelled),
            _ => None,
        }
    }
}

/// Whether a version currently in `current` may be asked to move to `to`.
/// Only the state machine is consulted; the caller checks permissions and
/// whether another request is already open for the version.
pub fn can_open(current: Stage, to: Stage) -> Result<(), WorkflowError> {
    Transition::new(current, to)?;
    Ok(())
}

/// Applies one approver's decision to a request.
///
/// Checks run in this order: the request is open; it has not lapsed
/// (expired first, then moot, as in [`RequestSnapshot::lapsed`]); the
/// approver is not the requester; the approver has not already signed off.
/// Request-level failures come first so a lapsed request gets closed no
/// matter who stumbles on it.
///
/// The requester may neither approve nor *reject* their own request: a
/// rejection is a reviewer's verdict and lands in the audit trail as one.
/// A requester who changed their mind uses [`can_cancel`] instead.
/// Likewise an approver gives one verdict per request; one who approved and
/// now objects must ask for the request to be cancelled.
///
/// A `required` of 0 should never reach here (the caller applies such moves
/// at once), but if it does, any approval applies.
pub fn decide(
    req: &RequestSnapshot,
    approver: i64,
    decision: Decision,
    now: i64,
) -> Result<Outcome, WorkflowError> {
    if !req.state.is_open() {
        return Err(WorkflowError::NotOpen(req.state));
    }
    if let Some(lapse) = req.lapse(now) {
        return Err(lapse.error());
    }
    if approver == req.requested_by {
        return Err(WorkflowError::SelfApproval);
    }
    if req.approvals.contains(&approver) {
        return Err(WorkflowError::AlreadySignedOff);
    }
    match decision {
        Decision::Reject => Ok(Outcome::Rejected),
        Decision::Approve => {
            let approvals = req.distinct_approvals().saturating_add(1);
            if approvals >= usize::from(req.required) {
                Ok(Outcome::Apply)
            } else {
                // Below `required`, itself a u8, so this always fits.
                let approvals = u8::try_from(approvals).unwrap_or(u8::MAX);
                Ok(Outcome::Recorded {
                    approvals,
                    required: req.required,
                })
            }
        }
    }
}

/// Whether `by_user` may withdraw the request: the requester or an admin,
/// while it is open. An open request past its deadline may still be
/// cancelled; either way it ends up closed.
pub fn can_cancel(
    req: &RequestSnapshot,
    by_user: i64,
    by_is_admin: bool,
) -> Result<(), WorkflowError> {
    if !req.state.is_open() {
        return Err(WorkflowError::NotOpen(req.state));
    }
    if by_user == req.requested_by || by_is_admin {
        Ok(())
    } else {
        Err(WorkflowError::NotAllowedToCancel)
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
