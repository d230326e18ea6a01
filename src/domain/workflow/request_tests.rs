use super::*;
use crate::domain::{needs_approval, ApprovalPolicy};
use Stage::*;

// --- request state ------------------------------------------------------

#[test]
fn request_kinds_round_trip() {
    for kind in RequestKind::ALL {
        assert_eq!(kind.as_str().parse::<RequestKind>(), Ok(kind));
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(json, format!("\"{}\"", kind.as_str()));
        assert_eq!(kind.is_alias(), kind != RequestKind::Stage);
    }
    assert!("alias".parse::<RequestKind>().is_err());
}

#[test]
fn request_states_round_trip_and_only_pending_is_open() {
    for state in RequestState::ALL {
        assert_eq!(state.as_str().parse::<RequestState>(), Ok(state));
        assert_eq!(state.to_string(), state.as_str());
        assert_eq!(
            serde_json::to_string(&state).unwrap(),
            format!("\"{}\"", state.as_str())
        );
        assert_eq!(state.is_open(), state == RequestState::Pending, "{state}");
    }
    for bad in ["", "open", "Pending", "approve", "done"] {
        assert_eq!(bad.parse::<RequestState>().unwrap_err().field, "state");
    }
}

#[test]
fn decisions_round_trip() {
    for d in [Decision::Approve, Decision::Reject] {
        assert_eq!(d.as_str().parse::<Decision>(), Ok(d));
        assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{d}\""));
    }
    for bad in ["", "yes", "Approve", "approved"] {
        assert_eq!(bad.parse::<Decision>().unwrap_err().field, "decision");
    }
}

// --- decide ---------------------------------------------------------------

const REQUESTER: i64 = 1;
const ALICE: i64 = 2;
const BOB: i64 = 3;
const CAROL: i64 = 4;
const ADMIN: i64 = 99;
const CREATED: i64 = 1_000;
const EXPIRES: i64 = 10_000;
const NOW: i64 = 5_000;

/// A pending Staging → Production request needing two sign-offs, none yet.
fn pending() -> RequestSnapshot {
    RequestSnapshot {
        state: RequestState::Pending,
        requested_by: REQUESTER,
        from: Staging,
        to: Production,
        created_at: CREATED,
        expires_at: EXPIRES,
        approvals: vec![],
        required: 2,
        version_stage_now: Staging,
        digest_at_open: Some(digest('a')),
        digest_now: Some(digest('a')),
        version_live: true,
    }
}

fn digest(c: char) -> ContentDigest {
    ContentDigest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap()
}

#[test]
fn changed_content_makes_the_request_moot() {
    let req = RequestSnapshot {
        digest_now: Some(digest('b')),
        ..pending()
    };
    let err = decide(&req, ALICE, Decision::Approve, NOW).unwrap_err();
    assert_eq!(
        err,
        WorkflowError::ContentChanged {
            then: digest('a'),
            now: digest('b')
        }
    );
    assert_eq!(err.closes_request(), Some(RequestState::Superseded));
    assert!(err.to_string().contains("content changed"), "{err}");
    assert_eq!(req.lapsed(NOW), Some(RequestState::Superseded));
    let note = req.lapse(NOW).unwrap().note();
    assert!(note.contains(&digest('a').to_string()), "{note}");
    // A request opened before digests were kept is not judged by them.
    let old = RequestSnapshot {
        digest_at_open: None,
        ..req
    };
    assert_eq!(old.lapse(NOW), None);
}

#[test]
fn a_deleted_version_never_applies() {
    let req = RequestSnapshot {
        version_live: false,
        // Deletion is reported before any other reason but the deadline.
        digest_now: Some(digest('b')),
        version_stage_now: Archived,
        ..pending()
    };
    let err = decide(&req, ALICE, Decision::Approve, NOW).unwrap_err();
    assert_eq!(err, WorkflowError::VersionDeleted);
    assert_eq!(err.closes_request(), Some(RequestState::Cancelled));
    assert_eq!(req.lapse(NOW), Some(Lapse::VersionDeleted));
    assert_eq!(req.lapse(EXPIRES), Some(Lapse::Expired));
}

#[test]
fn first_of_two_approvals_is_recorded() {
    assert_eq!(
        decide(&pending(), ALICE, Decision::Approve, NOW),
        Ok(Outcome::Recorded {
            approvals: 1,
            required: 2
        })
    );
}

#[test]
fn the_last_approval_applies() {
    let req = RequestSnapshot {
        approvals: vec![ALICE],
        ..pending()
    };
    assert_eq!(
        decide(&req, BOB, Decision::Approve, NOW),
        Ok(Outcome::Apply)
    );

    let three = RequestSnapshot { required: 3, ..req };
    assert_eq!(
        decide(&three, BOB, Decision::Approve, NOW),
        Ok(Outcome::Recorded {
            approvals: 2,
            required: 3
        })
    );
    let three = RequestSnapshot {
        approvals: vec![ALICE, BOB],
        ..three
    };
    assert_eq!(
        decide(&three, CAROL, Decision::Approve, NOW),
        Ok(Outcome::Apply)
    );
}

#[test]
fn a_single_required_approval_applies_at_once() {
    let req = RequestSnapshot {
        required: 1,
        ..pending()
    };
    assert_eq!(
        decide(&req, ALICE, Decision::Approve, NOW),
        Ok(Outcome::Apply)
    );
}

#[test]
fn zero_required_applies_on_any_approval() {
    let req = RequestSnapshot {
        required: 0,
        ..pending()
    };
    assert_eq!(
        decide(&req, ALICE, Decision::Approve, NOW),
        Ok(Outcome::Apply)
    );
    assert!(!needs_approval(&ApprovalPolicy::default(), Archived));
}

#[test]
fn duplicate_and_self_entries_in_approvals_are_not_counted() {
    let req = RequestSnapshot {
        approvals: vec![ALICE, ALICE, REQUESTER],
        required: 3,
        ..pending()
    };
    assert_eq!(
        decide(&req, BOB, Decision::Approve, NOW),
        Ok(Outcome::Recorded {
            approvals: 2,
            required: 3
        })
    );
}

#[test]
fn a_rejection_closes_the_request_even_after_approvals() {
    assert_eq!(
        decide(&pending(), ALICE, Decision::Reject, NOW),
        Ok(Outcome::Rejected)
    );
    let req = RequestSnapshot {
        approvals: vec![ALICE],
        ..pending()
    };
    assert_eq!(
        decide(&req, BOB, Decision::Reject, NOW),
        Ok(Outcome::Rejected)
    );
}

#[test]
fn closed_requests_refuse_every_decision() {
    for state in RequestState::ALL.into_iter().filter(|s| !s.is_open()) {
        let req = RequestSnapshot { state, ..pending() };
        for d in [Decision::Approve, Decision::Reject] {
            // Even past the deadline, "closed" is the truer answer.
            for now in [NOW, EXPIRES + 1] {
                assert_eq!(
                    decide(&req, ALICE, d, now),
                    Err(WorkflowError::NotOpen(state)),
                    "{state} {d}"
                );
            }
        }
        let msg = WorkflowError::NotOpen(state).to_string();
        assert!(msg.contains(state.as_str()), "{msg}");
    }
}

#[test]
fn expiry_starts_exactly_at_expires_at() {
    let req = pending();
    assert!(decide(&req, ALICE, Decision::Approve, EXPIRES - 1).is_ok());
    for now in [EXPIRES, EXPIRES + 1, i64::MAX] {
        for d in [Decision::Approve, Decision::Reject] {
            assert_eq!(decide(&req, ALICE, d, now), Err(WorkflowError::Expired));
        }
    }
    assert_eq!(req.lapsed(EXPIRES - 1), None);
    assert_eq!(req.lapsed(EXPIRES), Some(RequestState::Expired));
    assert_eq!(
        WorkflowError::Expired.closes_request(),
        Some(RequestState::Expired)
    );
}

#[test]
fn a_moved_version_makes_the_request_moot() {
    for moved in [Experimental, Production, Archived] {
        let req = RequestSnapshot {
            version_stage_now: moved,
            ..pending()
        };
        let err = decide(&req, ALICE, Decision::Approve, NOW).unwrap_err();
        assert_eq!(
            err,
            WorkflowError::Moot {
                from: Staging,
                now: moved
            }
        );
        assert_eq!(err.closes_request(), Some(RequestState::Superseded));
        assert!(err
            .to_string()
            .contains(&format!("from staging to {moved}")));
        assert_eq!(decide(&req, ALICE, Decision::Reject, NOW), Err(err.clone()));
        assert_eq!(req.lapsed(NOW), Some(RequestState::Superseded));
        // Past the deadline as well: expiry is reported first.
        assert_eq!(
            decide(&req, ALICE, Decision::Approve, EXPIRES),
            Err(WorkflowError::Expired)
        );
        assert_eq!(req.lapsed(EXPIRES), Some(RequestState::Expired));
    }
}

#[test]
fn the_requester_may_neither_approve_nor_reject() {
    for d in [Decision::Approve, Decision::Reject] {
        assert_eq!(
            decide(&pending(), REQUESTER, d, NOW),
            Err(WorkflowError::SelfApproval)
        );
    }
    assert_eq!(WorkflowError::SelfApproval.closes_request(), None);
}

#[test]
fn lapse_is_reported_before_who_is_asking() {
    let expired_self = decide(&pending(), REQUESTER, Decision::Approve, EXPIRES);
    assert_eq!(expired_self, Err(WorkflowError::Expired));
    let req = RequestSnapshot {
        version_stage_now: Production,
        approvals: vec![ALICE],
        ..pending()
    };
    assert!(matches!(
        decide(&req, ALICE, Decision::Approve, NOW),
        Err(WorkflowError::Moot { .. })
    ));
}

#[test]
fn an_approver_signs_off_only_once() {
    let req = RequestSnapshot {
        approvals: vec![ALICE],
        ..pending()
    };
    for d in [Decision::Approve, Decision::Reject] {
        assert_eq!(
            decide(&req, ALICE, d, NOW),
            Err(WorkflowError::AlreadySignedOff)
        );
    }
}

#[test]
fn lapsed_is_none_for_live_or_closed_requests() {
    assert_eq!(pending().lapsed(NOW), None);
    let closed = RequestSnapshot {
        state: RequestState::Approved,
        version_stage_now: Production,
        ..pending()
    };
    assert_eq!(closed.lapsed(EXPIRES + 1), None);
}

// --- cancel ---------------------------------------------------------------

#[test]
fn cancel_rules() {
    let req = pending();
    let table = [
        (REQUESTER, false, Ok(())),
        (REQUESTER, true, Ok(())),
        (ADMIN, true, Ok(())),
        (ALICE, false, Err(WorkflowError::NotAllowedToCancel)),
    ];
    for (user, is_admin, expected) in table {
        assert_eq!(
            can_cancel(&req, user, is_admin),
            expected,
            "{user} {is_admin}"
        );
    }
    // Lapsed but still pending: cancelling is still allowed.
    let moved = RequestSnapshot {
        version_stage_now: Archived,
        ..pending()
    };
    assert_eq!(can_cancel(&moved, REQUESTER, false), Ok(()));

    for state in RequestState::ALL.into_iter().filter(|s| !s.is_open()) {
        let req = RequestSnapshot { state, ..pending() };
        for (user, is_admin) in [(REQUESTER, false), (ADMIN, true), (ALICE, false)] {
            assert_eq!(
                can_cancel(&req, user, is_admin),
                Err(WorkflowError::NotOpen(state)),
                "{state} {user}"
            );
        }
    }
}

#[test]
fn error_messages_are_sentences_for_users() {
    for (err, needle) in [
        (WorkflowError::Expired, "expired"),
        (WorkflowError::SelfApproval, "cancel it instead"),
        (WorkflowError::AlreadySignedOff, "already signed off"),
        (WorkflowError::NotAllowedToCancel, "requester or an admin"),
    ] {
        assert!(err.to_string().contains(needle), "{err}");
    }
}

#[test]
fn can_open_reports_the_refused_transition() {
    assert_eq!(
        can_open(Production, Experimental),
        Err(WorkflowError::Transition(TransitionError {
            from: Production,
            to: Experimental
        }))
    );
    assert_eq!(can_open(Archived, Staging), Ok(()));
}
