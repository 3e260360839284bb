package workflows

import (
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
)

// beforeSuperseded is a worker that starts journeys as they were before changeSuperseded.
func beforeSuperseded(in worker.PreferredVersionProviderInput) *worker.VersionPreference {
	if in.ChangeID == changeSuperseded {
		return &worker.VersionPreference{Version: workflow.DefaultVersion}
	}
	return PreferVersions()(in)
}

// Every journey started late with several advance notices of one series missed (docs/rules.md,
// Time): only the latest is published late, the earlier ones are skipped as superseded. A
// journey recorded before the change keeps publishing them all.
func TestMissedNoticesOfOneSeriesOnlyTheLatest(t *testing.T) {
	claimOct := map[string]any{
		"claimId": "CLM-1001", "memberId": "M-1001", "submittedDate": "2026-10-05", "amountCents": 4250, "category": "mileage",
	}
	cases := []struct {
		name         string
		now          string
		startType    string
		start        map[string]any
		closeType    string
		close        map[string]any
		want, before []string
		superseded   []string
	}{{
		// Referral 2026-11-10: the application reminder (2026-11-25) is a series of one: late,
		// never superseded.
		name: "ccs-referral", now: "2026-12-01T10:00:00-08:00",
		startType: events.CCSReferralSubmitted, start: referralOn("2026-11-10"),
		closeType: events.CCSReferralWithdrawn, close: map[string]any{"referralId": "R-5001", "withdrawnDate": "2026-12-01"},
		want: []string{
			"2026-12-01T10:00 ccs.referral.opened 2026-11-10 county=Yolo countyModel=independent financialEligibility=met referralDate=2026-11-10",
			"2026-12-01T10:00 ccs.referral.application_reminder 2026-11-25 late referralDate=2026-11-10",
			"2026-12-01T11:00 ccs.referral.closed 2026-12-01 outcome=withdrawn",
		},
	}, {
		// Transition 2025-12-20: last day 2026-12-19; notices of 2026-10-20 and 2026-11-19.
		name: "coc", now: "2026-12-01T10:00:00-08:00",
		startType: events.WCMTransitioned, start: transition("2025-12-20", provider("P-1", false)),
		closeType: events.ProviderContracted, close: map[string]any{"providerId": "P-1", "effectiveDate": "2026-12-01"},
		want: []string{
			"2026-12-01T10:00 coc.ending 2026-11-19 late daysBefore=30 lastDay=2026-12-19 providerId=P-1",
			"2026-12-01T11:00 coc.ended 2026-12-01 lastDay=2026-12-19 providerId=P-1 reason=provider_contracted",
		},
		superseded: []string{"coc.ending@2026-10-20"},
		before: []string{
			"2026-12-01T10:00 coc.ending 2026-10-20 late daysBefore=60 lastDay=2026-12-19 providerId=P-1",
			"2026-12-01T10:00 coc.ending 2026-11-19 late daysBefore=30 lastDay=2026-12-19 providerId=P-1",
			"2026-12-01T11:00 coc.ended 2026-12-01 lastDay=2026-12-19 providerId=P-1 reason=provider_contracted",
		},
	}, {
		// Born 2006-01-10: 21 on 2027-01-10; the 12-, 6- and 3-month notices are missed.
		name: "ageout", now: "2026-12-01T10:00:00-08:00",
		startType: events.MemberEnrolled, start: enrolled("2006-01-10", true),
		closeType: events.MemberDisenrolled, close: map[string]any{"memberId": "M-4001", "effectiveDate": "2026-12-01"},
		want: []string{
			"2026-12-01T10:00 ageout.notice 2026-10-10 late monthsBefore=3",
			"2026-12-01T11:00 ageout.cancelled 2026-12-01",
		},
		superseded: []string{"ageout.notice@2026-01-10", "ageout.notice@2026-07-10"},
		before: []string{
			"2026-12-01T10:00 ageout.notice 2026-01-10 late monthsBefore=12",
			"2026-12-01T10:00 ageout.notice 2026-07-10 late monthsBefore=6",
			"2026-12-01T10:00 ageout.notice 2026-10-10 late monthsBefore=3",
			"2026-12-01T11:00 ageout.cancelled 2026-12-01",
		},
	}, {
		// Pregnancy ended 2025-12-10: last covered day 2026-12-31; notices of 2026-11-01 and
		// 2026-12-01, both missed on 2 December.
		name: "postpartum", now: "2026-12-02T10:00:00-08:00",
		startType: events.PregnancyEnded, start: map[string]any{"memberId": "M-7", "pregnancyEndDate": "2025-12-10"},
		closeType: events.MemberDisenrolled, close: map[string]any{"memberId": "M-7", "effectiveDate": "2026-12-02"},
		want: []string{
			"2026-12-02T10:00 postpartum.coverage_ending 2026-12-01 late daysBefore=30 lastCoveredDay=2026-12-31",
			"2026-12-02T11:00 postpartum.cancelled 2026-12-02",
		},
		superseded: []string{"postpartum.coverage_ending@2026-11-01"},
		before: []string{
			"2026-12-02T10:00 postpartum.coverage_ending 2026-11-01 late daysBefore=60 lastCoveredDay=2026-12-31",
			"2026-12-02T10:00 postpartum.coverage_ending 2026-12-01 late daysBefore=30 lastCoveredDay=2026-12-31",
			"2026-12-02T11:00 postpartum.cancelled 2026-12-02",
		},
	}, {
		// Submitted 2026-10-05: due 2026-12-04; reminders of 2026-11-19 and 2026-11-29.
		name: "reimbursement", now: "2026-12-01T10:00:00-08:00",
		startType: events.ReimbursementSubmitted, start: claimOct,
		closeType: events.ReimbursementPaid, close: map[string]any{"claimId": "CLM-1001", "paidDate": "2026-12-01"},
		want: []string{
			"2026-12-01T10:00 reimbursement.due_soon 2026-11-29 late daysBefore=5 dueDate=2026-12-04",
			"2026-12-01T11:00 reimbursement.closed 2026-12-01 daysLate=0 dueDate=2026-12-04 onTime=true outcome=paid",
		},
		superseded: []string{"reimbursement.due_soon@2026-11-19"},
		before: []string{
			"2026-12-01T10:00 reimbursement.due_soon 2026-11-19 late daysBefore=15 dueDate=2026-12-04",
			"2026-12-01T10:00 reimbursement.due_soon 2026-11-29 late daysBefore=5 dueDate=2026-12-04",
			"2026-12-01T11:00 reimbursement.closed 2026-12-01 daysLate=0 dueDate=2026-12-04 onTime=true outcome=paid",
		},
	}, {
		// Expedited, received 2026-11-28T12:00-08:00 and started 70 hours later: due
		// 2026-12-01T12:00-08:00; the 24-hour and 4-hour warnings are both missed.
		name: "authorization", now: "2026-12-01T10:00:00-08:00",
		startType: events.AuthorizationRequested, start: authRequest("2026-11-28T12:00:00-08:00", "expedited", true),
		closeType: events.AuthorizationDecided, close: decided("approved", "2026-12-01T11:00:00-08:00"),
		want: []string{
			"2026-12-01T10:00 authorization.decision_due_soon 2026-12-01 late deadlineAt=2026-12-01T12:00:00-08:00 eventAt=2026-12-01T08:00:00-08:00 hoursBefore=4 urgency=expedited",
			"2026-12-01T11:00 authorization.closed 2026-12-01 deadlineAt=2026-12-01T12:00:00-08:00 decidedAt=2026-12-01T11:00:00-08:00 decisionDeadlineAt=2026-12-01T12:00:00-08:00 eventAt=2026-12-01T11:00:00-08:00 extended=false hoursLate=0 onTime=true outcome=approved receivedAt=2026-11-28T12:00:00-08:00 urgency=expedited",
		},
		superseded: []string{"authorization.decision_due_soon@2026-11-30T20:00:00Z"},
		before: []string{
			"2026-12-01T10:00 authorization.decision_due_soon 2026-11-30 late deadlineAt=2026-12-01T12:00:00-08:00 eventAt=2026-11-30T12:00:00-08:00 hoursBefore=24 urgency=expedited",
			"2026-12-01T10:00 authorization.decision_due_soon 2026-12-01 late deadlineAt=2026-12-01T12:00:00-08:00 eventAt=2026-12-01T08:00:00-08:00 hoursBefore=4 urgency=expedited",
			"2026-12-01T11:00 authorization.closed 2026-12-01 deadlineAt=2026-12-01T12:00:00-08:00 decidedAt=2026-12-01T11:00:00-08:00 decisionDeadlineAt=2026-12-01T12:00:00-08:00 eventAt=2026-12-01T11:00:00-08:00 extended=false hoursLate=0 onTime=true outcome=approved receivedAt=2026-11-28T12:00:00-08:00 urgency=expedited",
		},
	}}
	for _, c := range cases {
		for _, old := range []bool{false, true} {
			name := c.name
			if old {
				name += " before the change"
			}
			t.Run(name, func(t *testing.T) {
				jt := newJourneyTest(t, c.now)
				if old {
					jt.preferVersions = beforeSuperseded
				}
				closeAt := mustTime(c.now).Add(3600e9).Format("2006-01-02T15:04:05Z07:00")
				jt.signalAt(closeAt, c.closeType, "e-close", c.close)
				q := jt.queryAt(mustTime(c.now).Add(1800e9).Format("2006-01-02T15:04:05Z07:00"))
				jt.run(c.startType, c.start)
				want, superseded := c.want, c.superseded
				if old && c.before != nil {
					want, superseded = c.before, nil
				}
				jt.expect(want...)
				var got []string
				for _, s := range q.view.Skipped {
					if s.Superseded {
						got = append(got, s.Key)
					}
				}
				if !equalStrings(got, superseded) {
					t.Errorf("skipped as superseded %v, want %v", got, superseded)
				}
			})
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// beforeEventTime is a worker that starts journeys as they were before changeEventTime.
func beforeEventTime(in worker.PreferredVersionProviderInput) *worker.VersionPreference {
	if in.ChangeID == changeEventTime {
		return &worker.VersionPreference{Version: workflow.DefaultVersion}
	}
	return PreferVersions()(in)
}

// A journey event's CloudEvents time is the instant it was published, and scheduledAt the instant
// it was due: a claim submitted 2026-10-05 and started on 2026-12-01 publishes its 5-day reminder
// of 2026-11-29 late, at 10:00:05 (after settling), then pays. A journey started before the change
// stamps the late reminder with the instant it was due, and carries no scheduledAt.
func TestEventTimeIsWhenItWasPublished(t *testing.T) {
	claimOct := map[string]any{
		"claimId": "CLM-1001", "memberId": "M-1001", "submittedDate": "2026-10-05", "amountCents": 4250, "category": "mileage",
	}
	for _, old := range []bool{false, true} {
		jt := newJourneyTest(t, "2026-12-01T10:00:00-08:00")
		if old {
			jt.preferVersions = beforeEventTime
		}
		jt.signalAt("2026-12-01T11:00:00-08:00", events.ReimbursementPaid, "e-paid", map[string]any{"claimId": "CLM-1001", "paidDate": "2026-12-01"})
		jt.run(events.ReimbursementSubmitted, claimOct)
		if len(jt.events) != 2 {
			t.Fatalf("old=%v: %v", old, jt.published)
		}
		late, closed := jt.events[0], jt.events[1]
		wantTime, wantScheduled := "2026-12-01T10:00:05-08:00", "2026-11-29T09:00:00-08:00"
		if old {
			wantTime, wantScheduled = "2026-11-29T09:00:00-08:00", "<nil>"
		}
		if got := late.Time.Format(time.RFC3339); got != wantTime {
			t.Errorf("old=%v: the late reminder's time %s, want %s", old, got, wantTime)
		}
		if got := fmt.Sprint(late.Data["scheduledAt"]); got != wantScheduled {
			t.Errorf("old=%v: its scheduledAt %s, want %s", old, got, wantScheduled)
		}
		// An immediate event was always stamped when published; now its scheduledAt says so too.
		wantClosed := map[bool]string{false: "2026-12-01T11:00:00-08:00", true: "2026-12-01T19:00:00Z"}[old] // in the zone now
		if got := closed.Time.Format(time.RFC3339); got != wantClosed {
			t.Errorf("old=%v: closed at %s, want %s", old, got, wantClosed)
		}
		if !old && closed.Data["scheduledAt"] != "2026-12-01T11:00:00-08:00" {
			t.Errorf("closed's scheduledAt %v", closed.Data["scheduledAt"])
		}
	}
}
