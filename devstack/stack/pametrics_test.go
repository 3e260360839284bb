package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/careclock/careclock/events"
	pametrics "github.com/careclock/careclock/report"
	"github.com/careclock/careclock/workflows"
)

// The public prior-authorization metrics of a stack run with known decisions: 4 standard
// requests decided (2 approved, one of them after an extension; one denied and then overturned on
// appeal; one modified), 1 withdrawn, 2 expedited (1 approved, 1 denied). Exact shares, averages
// and medians, from what the stack published.
func TestPriorAuthorizationMetrics(t *testing.T) {
	s := startStack(t)
	p := testPolicy()
	now := time.Now()
	decidedAt := now.Add(-time.Hour)
	year := decidedAt.In(p.Zone()).Year()
	today := p.Today(now).String()
	type request struct {
		id, urgency, decision string
		hours                 int // from receipt to decision
		extended              bool
	}
	requests := []request{
		{"PA-M-S1", "standard", "approved", 24, false},
		{"PA-M-S2", "standard", "approved", 48, true},
		{"PA-M-S3", "standard", "denied", 10, false},
		{"PA-M-S4", "standard", "modified", 30, false},
		{"PA-M-S5", "standard", "", 12, false}, // withdrawn
		{"PA-M-E1", "expedited", "approved", 6, false},
		{"PA-M-E2", "expedited", "denied", 20, false},
	}
	for _, r := range requests {
		send(t, s, r.id, events.AuthorizationRequested, map[string]any{"requestId": r.id, "memberId": "M-PAM-1",
			"receivedAt": decidedAt.Add(-time.Duration(r.hours) * time.Hour).Format(time.RFC3339), "urgency": r.urgency,
			"infoComplete": true, "serviceCode": "97110"})
	}
	send(t, s, "pam-appeal", events.AppealReceived, map[string]any{"appealId": "A-PAM-1", "memberId": "M-PAM-1",
		"receivedAt": decidedAt.Format(time.RFC3339), "expedited": false, "noticeDate": today, "requestId": "PA-M-S3"})
	waitAcked(t, s.JS, uint64(len(requests)+1))
	running(t, s, "CareclockJourney IN ('authorization', 'appeal')", len(requests)+1)
	n := uint64(len(requests) + 1)
	for _, r := range requests {
		if r.extended {
			send(t, s, r.id+"-ext", events.AuthorizationExtended, map[string]any{"requestId": r.id, "extendedOn": today})
			n++
		}
		if r.decision == "" {
			send(t, s, r.id+"-wd", events.AuthorizationWithdrawn, map[string]any{"requestId": r.id, "withdrawnDate": today})
			n++
			continue
		}
		send(t, s, r.id+"-dec", events.AuthorizationDecided, map[string]any{"requestId": r.id, "decision": r.decision, "decidedAt": decidedAt.Format(time.RFC3339)})
		n++
		if r.decision != "approved" {
			send(t, s, r.id+"-noa", events.AuthorizationNoticeSent, map[string]any{"requestId": r.id, "sentDate": today})
			n++
		}
	}
	send(t, s, "pam-appeal-res", events.AppealResolved, map[string]any{"appealId": "A-PAM-1", "outcome": "overturned", "resolvedAt": now.Format(time.RFC3339)})
	waitAcked(t, s.JS, n+1)
	if closes := collect(t, s.JS, events.JourneyStream, "journeys.*.closed", len(requests)+1, time.Minute); len(closes) != len(requests)+1 {
		t.Fatalf("%d closes, want %d", len(closes), len(requests)+1)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src, err := pametrics.ReadPASource(ctx, s.JS)
	if err != nil {
		t.Fatal(err)
	}
	m := pametrics.BuildPAMetrics(src, year, p.Zone(), func(id string) string { return workflows.WorkflowID(s.Keyer, workflows.JourneyAuthorization, id) })
	share := func(name string, got pametrics.Share, count, of int, value float64) {
		t.Helper()
		if got.Count != count || got.Of != of || got.Share != value {
			t.Errorf("%s: %+v, want %d of %d = %v", name, got, count, of, value)
		}
	}
	if m.Standard.Decided != 4 || m.Expedited.Decided != 2 {
		t.Fatalf("decided: %d standard, %d expedited; want 4 and 2 (the withdrawal in neither)", m.Standard.Decided, m.Expedited.Decided)
	}
	share("standard approved", m.Standard.Approved, 2, 4, 0.5)
	share("standard denied", m.Standard.Denied, 2, 4, 0.5)
	share("standard approved after appeal", *m.Standard.ApprovedAfterAppeal, 1, 4, 0.25)
	share("standard extended, then approved", *m.Standard.ExtendedThenApproved, 1, 4, 0.25)
	share("expedited approved", m.Expedited.Approved, 1, 2, 0.5)
	share("expedited denied", m.Expedited.Denied, 1, 2, 0.5)
	if want := (pametrics.Elapsed{Count: 4, AverageHours: 28, MedianHours: 27}); m.Standard.Elapsed != want {
		t.Errorf("standard time to decision %+v, want %+v", m.Standard.Elapsed, want)
	}
	if want := (pametrics.Elapsed{Count: 2, AverageHours: 13, MedianHours: 13}); m.Expedited.Elapsed != want {
		t.Errorf("expedited time to decision %+v, want %+v", m.Expedited.Elapsed, want)
	}
	// The page and the JSON name no member and no request.
	var page, js bytes.Buffer
	if err := m.HTML(&page); err != nil {
		t.Fatal(err)
	}
	if err := m.JSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{page.String(), js.String()} {
		if strings.Contains(out, "M-PAM-1") || strings.Contains(out, "PA-M-") {
			t.Errorf("a member or request id in the output:\n%s", out)
		}
	}
	var back pametrics.PAMetrics
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Standard.ApprovedAfterAppeal.Count != 1 {
		t.Errorf("JSON reads back: %v %+v", err, back)
	}
}
