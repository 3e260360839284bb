package workflows

import (
	"slices"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
)

// beforeClosedNotices is a worker that starts journeys as they were before changeClosedNotices.
func beforeClosedNotices(in worker.PreferredVersionProviderInput) *worker.VersionPreference {
	if in.ChangeID == changeClosedNotices {
		return &worker.VersionPreference{Version: workflow.DefaultVersion}
	}
	return PreferVersions()(in)
}

// docs/rules.md, Time: a missed notice whose purpose is over is not sent. Each journey starts
// late with its closing fact sent together; nothing missed is published, each missed notice is
// recorded as skipped, closed, and the close carries the timeliness. A journey recorded before
// the change publishes the missed notice late, then the close.
func TestAMissedNoticeWhosePurposeIsOverIsNotSent(t *testing.T) {
	cases := []struct {
		name         string
		now          string
		startType    string
		start        map[string]any
		closeType    string
		close        map[string]any
		want, before []string
		closed       []string
		// end is the fact that ends a journey the closing fact leaves open, a day later.
		endType string
		end     map[string]any
	}{{
		// The rule book's example: submitted 2026-09-01 (due 2026-10-31) and paid 2026-11-22, both
		// first heard of on 2026-11-28: closed, paid, 22 days late, and no overdue notice.
		name: "reimbursement paid", now: "2026-11-28T10:00:00-08:00",
		startType: events.ReimbursementSubmitted, start: map[string]any{
			"claimId": "CLM-9", "memberId": "M-9", "submittedDate": "2026-09-01", "amountCents": 100, "category": "tolls",
		},
		closeType: events.ReimbursementPaid, close: map[string]any{"claimId": "CLM-9", "paidDate": "2026-11-22"},
		want: []string{
			"2026-11-28T10:00 reimbursement.closed 2026-11-22 daysLate=22 dueDate=2026-10-31 onTime=false outcome=paid",
		},
		closed: []string{"reimbursement.overdue@2026-11-15"},
		before: []string{
			"2026-11-28T10:00 reimbursement.overdue 2026-11-15 late daysOverdue=15 dueDate=2026-10-31",
			"2026-11-28T10:00 reimbursement.closed 2026-11-22 daysLate=22 dueDate=2026-10-31 onTime=false outcome=paid",
		},
	}, {
		// Approved on 2026-11-10 but not paid: the clock runs on until paid, so the overdue notice
		// of 2026-11-08 still has a purpose and goes out late; then the approval, and the overdue
		// notice of the day.
		name: "reimbursement approved, not paid", now: "2026-11-15T10:00:00-08:00",
		startType: events.ReimbursementSubmitted, start: map[string]any{
			"claimId": "CLM-9", "memberId": "M-9", "submittedDate": "2026-09-01", "amountCents": 100, "category": "tolls",
		},
		closeType: events.ReimbursementDecided, close: map[string]any{"claimId": "CLM-9", "decision": "approved", "decisionDate": "2026-11-10"},
		endType: events.ReimbursementPaid, end: map[string]any{"claimId": "CLM-9", "paidDate": "2026-11-16"},
		want: []string{
			"2026-11-15T10:00 reimbursement.overdue 2026-11-08 late daysOverdue=8 dueDate=2026-10-31",
			"2026-11-15T10:00 reimbursement.approved 2026-11-10 dueDate=2026-10-31",
			"2026-11-15T10:00 reimbursement.overdue 2026-11-15 daysOverdue=15 dueDate=2026-10-31",
			"2026-11-16T10:00 reimbursement.closed 2026-11-16 daysLate=16 dueDate=2026-10-31 onTime=false outcome=paid",
		},
	}, {
		// A standard request received Friday 2026-11-20 (due 11-27) and decided, denied, on
		// 2026-11-30, both heard of on 2026-12-01: the deemed denial of 11-27 does not go out
		// (nor the warning of 11-25, whose deadline has passed); the denial's notice is due that day (never before the
		// decision, no later than the deadline otherwise) and overdue at once.
		name: "authorization decided late", now: "2026-12-01T10:00:00-08:00",
		startType: events.AuthorizationRequested, start: authRequest("2026-11-20T10:00:00-08:00", "standard", true),
		closeType: events.AuthorizationDecided, close: decided("denied", "2026-11-30T10:00:00-08:00"),
		endType: events.AuthorizationNoticeSent, end: map[string]any{"requestId": "PA-2001", "sentDate": "2026-12-02"},
		want: []string{
			"2026-12-01T10:00 authorization.notice_overdue 2026-12-01 decision=denied noticeDueDate=2026-11-30",
			"2026-12-02T10:00 authorization.closed 2026-12-02 appealBy=2027-01-31 daysLate=3 decidedAt=2026-11-30T10:00:00-08:00 dueDate=2026-11-27 extended=false noticeDueDate=2026-11-30 noticeOnTime=false onTime=false outcome=denied receivedAt=2026-11-20T10:00:00-08:00 urgency=standard",
		},
		// The warning's deadline had passed: it is skipped as any late reminder is.
		closed: []string{"authorization.deemed_denied@2026-11-28T01:00:00Z"},
		before: []string{
			"2026-12-01T10:00 authorization.deemed_denied 2026-11-27 late dueDate=2026-11-27 urgency=standard",
			"2026-12-01T10:00 authorization.notice_overdue 2026-12-01 decision=denied noticeDueDate=2026-11-30",
			"2026-12-02T10:00 authorization.closed 2026-12-02 appealBy=2027-01-31 daysLate=3 decidedAt=2026-11-30T10:00:00-08:00 dueDate=2026-11-27 extended=false noticeDueDate=2026-11-30 noticeOnTime=false onTime=false outcome=denied receivedAt=2026-11-20T10:00:00-08:00 urgency=standard",
		},
	}}
	for _, c := range cases {
		for _, old := range []bool{false, true} {
			if old && c.before == nil {
				continue
			}
			name := c.name
			if old {
				name += " before the change"
			}
			t.Run(name, func(t *testing.T) {
				jt := newJourneyTest(t, c.now)
				if old {
					jt.preferVersions = beforeClosedNotices
				}
				jt.signalAt(c.now, c.closeType, "e-close", c.close)
				if c.end != nil {
					jt.signalAt(mustTime(c.now).AddDate(0, 0, 1).Format("2006-01-02T15:04:05Z07:00"), c.endType, "e-end", c.end)
				}
				q := jt.queryAtEnd()
				jt.run(c.startType, c.start)
				if old {
					jt.expect(c.before...)
					return
				}
				jt.expect(c.want...)
				var closed []string
				for _, r := range q.view.Skipped {
					if r.Closed {
						closed = append(closed, r.Key)
					}
				}
				if !slices.Equal(closed, c.closed) {
					t.Errorf("skipped as closed %v, want %v", closed, c.closed)
				}
			})
		}
	}
}
