package workflows

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
)

// beforeFactsFirst is a worker that starts journeys as they were before changeFactsFirst (and
// changeSuperseded, which came after it).
func beforeFactsFirst(in worker.PreferredVersionProviderInput) *worker.VersionPreference {
	if in.ChangeID == changeFactsFirst || in.ChangeID == changeSuperseded {
		return &worker.VersionPreference{Version: workflow.DefaultVersion}
	}
	return PreferVersions()(in)
}

// closedWithItsStart is one journey started late whose back-dated closing fact arrives in the
// same workflow task as its start (sent together, or while no worker ran): docs/rules.md, Time, "a
// fact takes effect on its own date".
type closedWithItsStart struct {
	name      string
	now       string // the start, and the instant the closing fact arrives
	startType string
	start     map[string]any
	closeType string
	close     map[string]any
	// want is what the journey publishes: the close and nothing dated after it. before is what
	// a journey recorded before changeFactsFirst published: a late event dated after the
	// closing fact, then the close.
	want, before []string
}

var closedWithItsStartCases = []closedWithItsStart{{
	// docs/rules.md, Time: "A claim paid on 2026-11-22 never gets an overdue notice dated
	// 2026-11-28". Submitted 2026-09-01: due 2026-10-31, overdue from 2026-11-01 every 7 days,
	// the latest before 2026-12-01 is 2026-11-29. The journey as it stood when the payment took
	// effect was overdue since 2026-11-15; the payment ends that notice's purpose, so only the
	// close goes out (TestAMissedNoticeWhosePurposeIsOverIsNotSent shows the journey before
	// changeClosedNotices publishing it late).
	name: "reimbursement paid", now: "2026-12-01T10:00:00-08:00",
	startType: events.ReimbursementSubmitted, start: map[string]any{
		"claimId": "CLM-9", "memberId": "M-9", "submittedDate": "2026-09-01", "amountCents": 100, "category": "tolls",
	},
	closeType: events.ReimbursementPaid, close: map[string]any{"claimId": "CLM-9", "paidDate": "2026-11-22"},
	want: []string{
		"2026-12-01T10:00 reimbursement.closed 2026-11-22 daysLate=22 dueDate=2026-10-31 onTime=false outcome=paid",
	},
	before: []string{
		"2026-12-01T10:00 reimbursement.overdue 2026-11-29 late daysOverdue=29 dueDate=2026-10-31",
		"2026-12-01T10:00 reimbursement.closed 2026-11-22 daysLate=22 dueDate=2026-10-31 onTime=false outcome=paid",
	},
}, {
	// Referred 2026-10-01 (independent): application reminder 2026-10-16, follow-up 2026-10-31
	// then every 14 days; withdrawn 2026-10-10, before any of them. (Before the change the
	// reminder was skipped, its deadline passed, and the latest follow-up went out late.)
	name: "ccs referral withdrawn", now: "2026-12-01T10:00:00-08:00",
	startType: events.CCSReferralSubmitted, start: referralOn("2026-10-01"),
	closeType: events.CCSReferralWithdrawn, close: map[string]any{"referralId": "R-1", "withdrawnDate": "2026-10-10"},
	want: []string{
		"2026-12-01T10:00 ccs.referral.opened 2026-10-01 county=Yolo countyModel=independent financialEligibility=met referralDate=2026-10-01",
		"2026-12-01T10:00 ccs.referral.closed 2026-10-10 outcome=withdrawn",
	},
	before: []string{
		"2026-12-01T10:00 ccs.referral.opened 2026-10-01 county=Yolo countyModel=independent financialEligibility=met referralDate=2026-10-01",
		"2026-12-01T10:00 ccs.referral.followup_due 2026-11-28 late county=Yolo countyModel=independent daysSinceReferral=58",
		"2026-12-01T10:00 ccs.referral.closed 2026-10-10 outcome=withdrawn",
	},
}, {
	// Transition 2025-11-15: last day 2026-11-14, ended 2026-11-15; the provider contracted
	// 2026-09-01, before the 60-day notice of 2026-09-15: nothing was due before it.
	name: "coc provider contracted", now: "2026-12-01T10:00:00-08:00",
	startType: events.WCMTransitioned, start: transition("2025-11-15", provider("P-1", false)),
	closeType: events.ProviderContracted, close: map[string]any{"providerId": "P-1", "effectiveDate": "2026-09-01"},
	want: []string{
		"2026-12-01T10:00 coc.ended 2026-09-01 lastDay=2026-11-14 providerId=P-1 reason=provider_contracted",
	},
	before: []string{
		"2026-12-01T10:00 coc.ended 2026-11-15 late lastDay=2026-11-14 providerId=P-1 reason=period_expired",
	},
}, {
	// Born 2006-01-10: 21 on 2027-01-10, the 12-month notice was due 2026-01-10 (its deadline
	// has not passed, so it is late, not skipped); disenrolled effective 2025-12-31.
	name: "ageout disenrolled", now: "2026-12-01T10:00:00-08:00",
	startType: events.MemberEnrolled, start: enrolled("2006-01-10", true),
	closeType: events.MemberDisenrolled, close: map[string]any{"memberId": "M-4001", "effectiveDate": "2025-12-31"},
	want: []string{
		"2026-12-01T10:00 ageout.cancelled 2025-12-31",
	},
	before: []string{
		"2026-12-01T10:00 ageout.notice 2026-01-10 late monthsBefore=12",
		"2026-12-01T10:00 ageout.notice 2026-07-10 late monthsBefore=6",
		"2026-12-01T10:00 ageout.notice 2026-10-10 late monthsBefore=3",
		"2026-12-01T10:00 ageout.cancelled 2025-12-31",
	},
}, {
	// Pregnancy ended 2025-12-10: last covered day 2026-12-31, the 60-day notice 2026-11-01;
	// disenrolled effective 2026-10-31.
	name: "postpartum disenrolled", now: "2026-12-01T10:00:00-08:00",
	startType: events.PregnancyEnded, start: map[string]any{"memberId": "M-7", "pregnancyEndDate": "2025-12-10"},
	closeType: events.MemberDisenrolled, close: map[string]any{"memberId": "M-7", "effectiveDate": "2026-10-31"},
	want: []string{
		"2026-12-01T10:00 postpartum.cancelled 2026-10-31",
	},
	before: []string{
		"2026-12-01T10:00 postpartum.coverage_ending 2026-11-01 late daysBefore=60 lastCoveredDay=2026-12-31",
		"2026-12-01T10:00 postpartum.coverage_ending 2026-12-01 daysBefore=30 lastCoveredDay=2026-12-31",
		"2026-12-01T10:00 postpartum.cancelled 2026-10-31",
	},
}}

func referralOn(date string) map[string]any {
	r := referral("2015-05-05", "Yolo", "independent", true, "E84.0")
	r["referralDate"] = date
	return r
}

// Every journey: a back-dated close delivered in the same workflow task as the start is applied
// before anything late is decided, so nothing dated after it is published. A journey recorded
// before the change keeps its old behaviour (and shows what the change fixes).
func TestACloseSentWithTheStartIsAppliedFirst(t *testing.T) {
	for _, tc := range closedWithItsStartCases {
		for _, old := range []bool{false, true} {
			name := tc.name
			if old {
				name += " before the change"
			}
			t.Run(name, func(t *testing.T) {
				jt := newJourneyTest(t, tc.now)
				if old {
					jt.preferVersions = beforeFactsFirst
				}
				jt.signalAt(tc.now, tc.closeType, "e-close", tc.close)
				jt.run(tc.startType, tc.start)
				if old {
					jt.expect(tc.before...)
				} else {
					jt.expect(tc.want...)
				}
			})
		}
	}
}

// A close that arrives a moment after its start (the listener applies the start, then the
// close) is still applied before the late events: a journey started late waits settleLate.
func TestACloseThatFollowsTheStartIsAppliedBeforeTheLateEvents(t *testing.T) {
	tc := closedWithItsStartCases[0]
	jt := newJourneyTest(t, tc.now)
	jt.signalAt("2026-12-01T10:00:03-08:00", tc.closeType, "e-close", tc.close)
	jt.run(tc.startType, tc.start)
	jt.expect(tc.want...)
}

// Nothing arrives: the late events go out settleLate after the start.
func TestALateStartPublishesAfterSettling(t *testing.T) {
	jt := newJourneyTest(t, "2026-12-01T10:00:00-08:00")
	jt.signalAt("2026-12-02T10:00:00-08:00", events.ReimbursementPaid, "e-paid",
		map[string]any{"claimId": "CLM-9", "paidDate": "2026-12-02"})
	jt.run(events.ReimbursementSubmitted, closedWithItsStartCases[0].start)
	jt.expect(
		"2026-12-01T10:00 reimbursement.overdue 2026-11-29 late daysOverdue=29 dueDate=2026-10-31",
		"2026-12-02T10:00 reimbursement.closed 2026-12-02 daysLate=32 dueDate=2026-10-31 onTime=false outcome=paid",
	)
	if got, want := jt.publishedAt[0].Sub(jt.start), settleLate; got != want {
		t.Errorf("late overdue published %s after the start, want %s", got, want)
	}
}

// A worker outage: the journey had published up to the overdue of 2027-01-30 when its worker
// went away; when a worker comes back on 2027-02-08 its timer for the overdue of 2027-02-06 has
// fired and the payment (dated 2027-02-03) has arrived. Both are in the one workflow task the
// new worker runs (here: the run takes over the journey's state, as after continue-as-new, with
// the payment delivered with it): the payment is applied first and the overdue dated after it
// is not published.
func TestACloseThatArrivedDuringAnOutageIsAppliedBeforeTheTimer(t *testing.T) {
	for _, old := range []bool{false, true} {
		jt := newJourneyTest(t, "2027-02-08T10:00:00-08:00")
		if old {
			jt.preferVersions = beforeFactsFirst
		}
		starts := jt.route(events.ReimbursementSubmitted, claim)
		st := starts[0].Input.(State[ReimbursementFacts])
		st.Started = true
		for _, k := range []string{"reimbursement.due_soon@2027-01-14", "reimbursement.due_soon@2027-01-24", "reimbursement.overdue@2027-01-30"} {
			st.Published = append(st.Published, Record{Key: k})
		}
		starts[0].Input = st
		jt.signalAt("2027-02-08T10:00:00-08:00", events.ReimbursementPaid, "e-paid",
			map[string]any{"claimId": "CLM-1001", "paidDate": "2027-02-03"})
		jt.runStart(starts[0])
		var want []string
		if old {
			want = append(want, "2027-02-08T10:00 reimbursement.overdue 2027-02-06 late daysOverdue=8 dueDate=2027-01-29")
		}
		want = append(want, "2027-02-08T10:00 reimbursement.closed 2027-02-03 daysLate=5 dueDate=2027-01-29 onTime=false outcome=paid")
		jt.expect(want...)
	}
}
