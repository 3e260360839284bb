package rules

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultPolicyIsValidAndMatchesJourneysMD(t *testing.T) {
	p := DefaultPolicy()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Timezone != "America/Los_Angeles" || p.NoticeHour != 9 ||
		p.Reimbursement.DueDays != 60 || !reflect.DeepEqual(p.Reimbursement.ReminderDaysBefore, []int{15, 5}) ||
		p.Reimbursement.OverdueRepeatDays != 7 ||
		p.CCSReferral.ExpectedDeterminationDays != (CountyDays{Independent: 30, Dependent: 60}) ||
		p.CCSReferral.FollowupRepeatDays != 14 || p.CCSReferral.ApplicationReminderDays != 15 ||
		!reflect.DeepEqual(p.CoC.NoticeDaysBefore, []int{60, 30}) ||
		!reflect.DeepEqual(p.AgeOut.NoticeMonthsBefore, []int{12, 6, 3, 1}) ||
		!reflect.DeepEqual(p.Postpartum.NoticeDaysBefore, []int{60, 30}) {
		t.Fatalf("defaults differ from journeys.md: %+v", p)
	}
}

func TestLoadPolicyOverridesOnlyWhatTheFileNames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(path, []byte(`{"noticeHour": 8, "reimbursement": {"dueDays": 45}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPolicy(path)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultPolicy()
	want.NoticeHour = 8
	want.Reimbursement.DueDays = 45
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got %+v\nwant %+v", p, want)
	}
	if p, err := LoadPolicy(""); err != nil || !reflect.DeepEqual(p, DefaultPolicy()) {
		t.Fatalf("no file: %+v, %v", p, err)
	}
}

func TestParsePolicyRejectsWithTheKeyNamed(t *testing.T) {
	cases := map[string]string{
		`{"noticeHour": 24}`:                                               "noticeHour",
		`{"noticeMinute": 60}`:                                             "noticeMinute",
		`{"timezone": "Pacific/Nowhere"}`:                                  "timezone",
		`{"reimbursement": {"dueDays": 0}}`:                                "reimbursement.dueDays",
		`{"reimbursement": {"reminderDaysBefore": [15, 15]}}`:              "reimbursement.reminderDaysBefore",
		`{"reimbursement": {"reminderDaysBefore": [90]}}`:                  "reimbursement.reminderDaysBefore",
		`{"ageout": {"noticeMonthsBefore": [0]}}`:                          "ageout.noticeMonthsBefore",
		`{"ccsReferral": {"expectedDeterminationDays": {"dependent": 0}}}`: "expectedDeterminationDays.dependent",
		`{"reimbursment": {}}`:                                             "unknown field",
		`{"ccsReferral": {"expectedDeterminationDays": {"rural": 10}}}`:    "unknown field",
		`{"noticeHour": "9"}`:                                              "noticeHour",
		`not json`:                                                         "invalid character",
	}
	for in, want := range cases {
		_, err := ParsePolicy([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePolicy(%s) error = %v, want it to mention %q", in, err, want)
		}
	}
}
