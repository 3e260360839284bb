package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// testKey writes an HMAC key and points CARECLOCK_HMAC_KEY_FILE at it.
func testKey(t *testing.T) privacy.Keyer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hmac.key")
	if err := os.WriteFile(path, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CARECLOCK_HMAC_KEY_FILE", path)
	t.Setenv("CARECLOCK_POLICY_FILE", "")
	k, err := privacy.LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestPlanReimbursementSubmitted20261130(t *testing.T) {
	k := testKey(t)
	var out bytes.Buffer
	err := runStarter([]string{"plan", "--now", "2026-11-30T10:00:00-08:00", "../samples/reimbursement-submitted.json"}, nil, &out)
	if err != nil {
		t.Fatal(err)
	}
	id := workflows.WorkflowID(k, "reimbursement", "CLM-2026-000417")
	want := `{
  "journeys": [
    {
      "journey": "reimbursement",
      "workflowId": "` + id + `",
      "policyFrom": "2026-01-01",
      "deadline": "2027-01-29",
      "events": [
        {
          "type": "reimbursement.due_soon",
          "date": "2027-01-14",
          "at": "2027-01-14T09:00:00-08:00"
        },
        {
          "type": "reimbursement.due_soon",
          "date": "2027-01-24",
          "at": "2027-01-24T09:00:00-08:00"
        },
        {
          "type": "reimbursement.overdue",
          "date": "2027-01-30",
          "at": "2027-01-30T09:00:00-08:00",
          "repeatEveryDays": 7
        }
      ]
    }
  ]
}
`
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestPlanMarksLateAndSkippedRelativeToNow(t *testing.T) {
	testKey(t)
	var out bytes.Buffer
	// On 2027-01-25 both reminders' dates have passed but their deadline has not. By
	// 2027-02-01 the deadline has passed: the reminders are skipped, the overdue is late.
	if err := runStarter([]string{"plan", "--now", "2027-01-25T08:00:00-08:00", "-"}, strings.NewReader(sample(t)), &out); err != nil {
		t.Fatal(err)
	}
	// Of the two reminders missed, only the later is published late; the earlier is superseded.
	if n := strings.Count(out.String(), `"late": true`); n != 1 || strings.Count(out.String(), `"superseded": true`) != 1 {
		t.Fatalf("on 2027-01-25, %d late:\n%s", n, out.String())
	}
	out.Reset()
	if err := runStarter([]string{"plan", "--now", "2027-02-01T08:00:00-08:00", "-"}, strings.NewReader(sample(t)), &out); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), `"skipped": true`) != 2 || strings.Count(out.String(), `"late": true`) != 1 {
		t.Fatalf("on 2027-02-01:\n%s", out.String())
	}
}

func TestPlanRejectsAnInvalidEvent(t *testing.T) {
	testKey(t)
	var out bytes.Buffer
	err := runStarter([]string{"plan", "../samples/malformed-date.json"}, nil, &out)
	if err == nil || err.Error() != "invalid event: data.submittedDate: not a calendar date" {
		t.Fatalf("error %v", err)
	}
	if out.Len() != 0 {
		t.Fatalf("printed %q", out.String())
	}
	if err := runStarter([]string{"plan", "--now", "tomorrow", "../samples/reimbursement-submitted.json"}, nil, &out); err == nil {
		t.Fatal("a bad --now was accepted")
	}
}

func sample(t *testing.T) string {
	b, err := os.ReadFile("../samples/reimbursement-submitted.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPlanEveryStartEvent checks `starter plan` for each start event in samples/: the journeys,
// and each event's type, date and marks.
func TestPlanEveryStartEvent(t *testing.T) {
	testKey(t)
	cases := []struct {
		sample, now string
		want        []string
	}{
		{"ccs-referral-submitted.json", "2026-11-02T10:00:00-08:00", []string{
			"ccs-referral deadline=2027-01-01",
			"ccs.referral.opened 2026-11-02",
			"ccs.referral.application_reminder 2026-11-17",
			"ccs.referral.followup_due 2027-01-01 every=14",
		}},
		{"wcm-transitioned.json", "2019-07-01T10:00:00-07:00", []string{
			"coc deadline=2020-06-30",
			"coc.ending 2020-05-01", "coc.ending 2020-05-31", "coc.ended 2020-07-01",
		}},
		{"member-enrolled.json", "2026-11-22T10:00:00-08:00", []string{
			"ageout deadline=2029-03-01",
			"ageout.notice 2028-03-01", "ageout.notice 2028-09-01", "ageout.notice 2028-12-01",
			"ageout.notice 2029-02-01", "ageout.aged_out 2029-03-01",
		}},
		{"pregnancy-ended.json", "2026-03-16T10:00:00-07:00", []string{
			"postpartum deadline=2027-03-31",
			"postpartum.coverage_ending 2027-01-30", "postpartum.coverage_ending 2027-03-01",
			"postpartum.coverage_ended 2027-04-01",
		}},
		{"reimbursement-overdue.json", "2026-11-22T10:00:00-08:00", []string{
			"reimbursement deadline=2026-10-02",
			"reimbursement.due_soon 2026-09-17 skipped", "reimbursement.due_soon 2026-09-27 skipped",
			"reimbursement.overdue 2026-10-03 every=7 late",
		}},
		// docs/rules.md §6: received Friday 2026-11-20, complete: 7 days (Friday 11-27) is earlier
		// than 5 business days (Tuesday 12-01); deemed denied at 17:00 on the due date.
		{"authorization-requested.json", "2026-11-20T11:00:00-08:00", []string{
			"authorization deadline=2026-11-27 policyFrom=2026-01-01",
			"authorization.decision_due_soon 2026-11-25 at=2026-11-25T09:00:00-08:00",
			"authorization.deemed_denied 2026-11-27 at=2026-11-27T17:00:00-08:00",
		}},
		// Incomplete, received 2025-12-30: the 14-day cap in force on that date; the same received
		// 2026-01-02: 7 days. Both first heard of on 2026-01-05.
		{"authorization-incomplete-2025.json", "2026-01-05T10:00:00-08:00", []string{
			"authorization deadline=2026-01-13 policyFrom=beginning",
			"authorization.decision_due_soon 2026-01-12 at=2026-01-12T09:00:00-08:00",
			"authorization.deemed_denied 2026-01-13 at=2026-01-13T17:00:00-08:00",
		}},
		{"authorization-incomplete-2026.json", "2026-01-05T10:00:00-08:00", []string{
			"authorization deadline=2026-01-09 policyFrom=2026-01-01",
			"authorization.decision_due_soon 2026-01-08 at=2026-01-08T09:00:00-08:00",
			"authorization.deemed_denied 2026-01-09 at=2026-01-09T17:00:00-08:00",
		}},
		{"authorization-expedited.json", "2027-03-13T10:05:00-08:00", []string{
			"authorization deadline=2027-03-16 deadlineAt=2027-03-16T11:00:00-07:00 policyFrom=2026-01-01",
			"authorization.decision_due_soon 2027-03-15 at=2027-03-15T11:00:00-07:00",
			"authorization.decision_due_soon 2027-03-16 at=2027-03-16T07:00:00-07:00",
			"authorization.deemed_denied 2027-03-16 at=2027-03-16T11:00:00-07:00",
		}},
		// Started 73 hours after receipt: the deemed denial is late, the warnings skipped.
		{"authorization-expedited.json", "2027-03-16T12:00:00-07:00", []string{
			"authorization deadline=2027-03-16 deadlineAt=2027-03-16T11:00:00-07:00 policyFrom=2026-01-01",
			"authorization.decision_due_soon 2027-03-15 at=2027-03-15T11:00:00-07:00 skipped",
			"authorization.decision_due_soon 2027-03-16 at=2027-03-16T07:00:00-07:00 skipped",
			"authorization.deemed_denied 2027-03-16 at=2027-03-16T11:00:00-07:00 late",
		}},
		{"grievance-received.json", "2027-03-13T10:05:00-08:00", []string{
			"grievance deadline=2027-03-16 deadlineAt=2027-03-16T11:00:00-07:00",
			"grievance.resolution_due_soon 2027-03-15 at=2027-03-15T11:00:00-07:00",
			"grievance.resolution_due_soon 2027-03-16 at=2027-03-16T07:00:00-07:00",
			"grievance.resolution_overdue 2027-03-16 every=24h at=2027-03-16T11:00:00-07:00",
		}},
		{"appeal-received.json", "2026-12-01T11:00:00-08:00", []string{
			"appeal deadline=2026-12-31",
			"appeal.received_late 2026-12-01",
			"appeal.acknowledgment_overdue 2026-12-07",
			"appeal.resolution_due_soon 2026-12-24", "appeal.resolution_due_soon 2026-12-29",
			"appeal.resolution_overdue 2027-01-01 every=7",
		}},
		{"coc-requested.json", "2026-12-01T11:00:00-08:00", []string{
			"coc deadline=2026-12-04",
			"coc.decision_due_soon 2026-12-03", "coc.decision_overdue 2026-12-05 every=7",
		}},
		{"reimbursement-unpaid.json", "2026-11-22T10:00:00-08:00", []string{
			"reimbursement deadline=2026-11-09",
			"reimbursement.due_soon 2026-10-25 skipped", "reimbursement.due_soon 2026-11-04 skipped",
			"reimbursement.overdue 2026-11-10 every=7 late",
		}},
	}
	for _, c := range cases {
		t.Run(c.sample+" at "+c.now, func(t *testing.T) {
			var out bytes.Buffer
			if err := runStarter([]string{"plan", "--now", c.now, "../samples/" + c.sample}, nil, &out); err != nil {
				t.Fatal(err)
			}
			var got planOutput
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, j := range got.Journeys {
				l := j.Journey + " deadline=" + j.Deadline.String()
				if !j.DeadlineAt.IsZero() {
					l += " deadlineAt=" + j.DeadlineAt.Format(time.RFC3339)
				}
				if j.Journey == "authorization" {
					l += " policyFrom=" + j.PolicyFrom // the rule in force on the received date
				}
				lines = append(lines, l)
				for _, e := range j.Events {
					l := e.Type + " " + e.Date.String()
					if e.RepeatEveryDays > 0 {
						l += " every=" + strconv.Itoa(e.RepeatEveryDays)
					}
					if e.RepeatEveryHours > 0 {
						l += " every=" + strconv.Itoa(e.RepeatEveryHours) + "h"
					}
					if j.Journey == "authorization" || !j.DeadlineAt.IsZero() {
						l += " at=" + e.At.Format(time.RFC3339) // its hours matter
					}
					if e.Late {
						l += " late"
					}
					if e.Skipped {
						l += " skipped"
					}
					lines = append(lines, l)
				}
			}
			if !slices.Equal(lines, c.want) {
				t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(lines, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}

func TestPlanShowsTheJourneysPlaceInASpread(t *testing.T) {
	k := testKey(t)
	policy := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policy, []byte(`{"noticeSpreadMinutes": 45}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runStarter([]string{"plan", "--now", "2026-11-30T10:00:00-08:00", "--policy", policy, "../samples/reimbursement-submitted.json"}, nil, &out); err != nil {
		t.Fatal(err)
	}
	var plan planOutput
	if err := json.Unmarshal(out.Bytes(), &plan); err != nil {
		t.Fatal(err)
	}
	p := rules.DefaultPolicy()
	p.NoticeSpreadMinutes = 45
	offset := time.Duration(p.ForJourney(workflows.WorkflowID(k, "reimbursement", "CLM-2026-000417")).NoticeOffsetSeconds) * time.Second
	if len(plan.Journeys) != 1 || len(plan.Journeys[0].Events) != 3 || offset == 0 {
		t.Fatalf("offset %s, plan %s", offset, out.String())
	}
	for _, e := range plan.Journeys[0].Events {
		if want := rules.DefaultPolicy().At(e.Date).Add(offset); !e.At.Equal(want) {
			t.Errorf("%s on %s at %s, want %s", e.Type, e.Date, e.At, want)
		}
	}
}

// --pa-metrics counts one calendar year: the timeliness report's flags are refused with it, and
// its own without it, before anything is dialled.
func TestReportFlags(t *testing.T) {
	testKey(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--year", "2026"}, "--year and --services go with --pa-metrics"},
		{[]string{"report", "--pa-metrics", "--from", "2026-01-01"}, "--pa-metrics counts one calendar year"},
		{[]string{"report", "--pa-metrics", "--detail"}, "--pa-metrics counts one calendar year"},
		{[]string{"report", "--pa-metrics", "--year", "26"}, "--year 26: want a calendar year"},
	} {
		var out bytes.Buffer
		err := runStarter(c.args, nil, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}

// Every sample has an id of its own: JetStream takes a second message with the same id
// (Nats-Msg-Id) as a copy of the first and drops it.
func TestSampleIDsAreDistinct(t *testing.T) {
	files, err := filepath.Glob("../samples/*.json")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if other, ok := seen[ev.ID]; ok {
			t.Errorf("%s and %s share the id %s", f, other, ev.ID)
		}
		seen[ev.ID] = f
	}
}

// secrets does not create a new HMAC key or payload keyring over a deployment that holds
// careclock's streams (a restore that forgot the secrets volume), unless told to; it does where
// there is none, and keeps keys that exist whatever the data.
func TestSecretsRefusesNewKeysOverAnExistingDeployment(t *testing.T) {
	secrets, data, empty := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(data, "jetstream", "$G", "streams", "JOURNEYS"), 0o700); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := runStarter([]string{"secrets", "--dir", secrets, "--deployment-data", empty, "--deployment-data", data}, nil, &out)
	if err == nil || !strings.Contains(err.Error(), "holds the streams JOURNEYS") || !strings.Contains(err.Error(), "--new-keys-over-existing-data") {
		t.Fatalf("over an existing deployment: %v", err)
	}
	if _, err := os.Stat(filepath.Join(secrets, "hmac.key")); !os.IsNotExist(err) {
		t.Fatalf("a key was created anyway: %v", err)
	}
	if err := runStarter([]string{"secrets", "--dir", secrets, "--deployment-data", empty}, nil, &out); err != nil {
		t.Fatalf("a new deployment: %v", err)
	}
	if err := runStarter([]string{"secrets", "--dir", secrets, "--deployment-data", data}, nil, &out); err != nil {
		t.Fatalf("keys that exist, over the deployment they made: %v", err)
	}
	other := t.TempDir()
	if err := runStarter([]string{"secrets", "--dir", other, "--deployment-data", data, "--new-keys-over-existing-data"}, nil, &out); err != nil {
		t.Fatalf("told to: %v", err)
	}
}
