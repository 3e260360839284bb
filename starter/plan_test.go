package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/careclock/careclock/privacy"
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
	err := runPlan([]string{"--now", "2026-11-30T10:00:00-08:00", "../samples/reimbursement-submitted.json"}, nil, &out)
	if err != nil {
		t.Fatal(err)
	}
	id := workflows.WorkflowID(k, "reimbursement", "CLM-2026-000417")
	want := `{
  "journeys": [
    {
      "journey": "reimbursement",
      "workflowId": "` + id + `",
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
	// On 2027-01-25 the first reminder's date has passed but its deadline has not: late. By
	// 2027-02-01 the deadline has passed: the reminders are skipped, the overdue is late.
	if err := runPlan([]string{"--now", "2027-01-25T08:00:00-08:00", "-"}, strings.NewReader(sample(t)), &out); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), `"late": true`); n != 2 || strings.Contains(out.String(), "skipped") {
		t.Fatalf("on 2027-01-25, %d late:\n%s", n, out.String())
	}
	out.Reset()
	if err := runPlan([]string{"--now", "2027-02-01T08:00:00-08:00", "-"}, strings.NewReader(sample(t)), &out); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), `"skipped": true`) != 2 || strings.Count(out.String(), `"late": true`) != 1 {
		t.Fatalf("on 2027-02-01:\n%s", out.String())
	}
}

func TestPlanRejectsAnInvalidEvent(t *testing.T) {
	testKey(t)
	var out bytes.Buffer
	err := runPlan([]string{"../samples/malformed-date.json"}, nil, &out)
	if err == nil || err.Error() != "invalid event: data.submittedDate: not a calendar date" {
		t.Fatalf("error %v", err)
	}
	if out.Len() != 0 {
		t.Fatalf("printed %q", out.String())
	}
	if err := runPlan([]string{"--now", "tomorrow", "../samples/reimbursement-submitted.json"}, nil, &out); err == nil {
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
