package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
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
		!reflect.DeepEqual(p.Postpartum.NoticeDaysBefore, []int{60, 30}) ||
		!reflect.DeepEqual(p.Authorization, AuthorizationPolicy{
			StandardBusinessDays: 5, StandardMaxDays: 14, ExpeditedHours: 72, ExtensionDays: 14,
			WarnBusinessDaysBefore: []int{1}, WarnHoursBefore: []int{24, 4}, NoticeBusinessDays: 2, DeemedDenialTime: "17:00",
		}) || p.Appeal.AcknowledgeDays != 5 || p.Grievance.AcknowledgeDays != 5 {
		t.Fatalf("defaults differ from docs/rules.md: %+v", p)
	}
}

// The policy docs/configuration.md shows is the built-in one, key for key.
func TestConfigurationDocShowsTheDefaultPolicy(t *testing.T) {
	b, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), "### The values")
	_, rest, _ = strings.Cut(rest, "```json\n")
	doc, _, _ := strings.Cut(rest, "```")
	p, err := ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatalf("the documented policy: %v", err)
	}
	p.Holidays.Add, p.Holidays.Remove = nil, nil // the document shows empty lists
	if !reflect.DeepEqual(p, DefaultPolicy()) {
		t.Errorf("documented %+v\nbuilt in %+v", p, DefaultPolicy())
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
		`{"noticeHour": 23, "noticeSpreadMinutes": 61}`:                    "noticeSpreadMinutes",
		`{"noticeSpreadMinutes": -1}`:                                      "noticeSpreadMinutes",
		`{"noticeOffsetSeconds": 5}`:                                       "noticeOffsetSeconds",
		`{"noticeSpreadMinutes": 1, "noticeOffsetSeconds": 60}`:            "noticeOffsetSeconds",
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

func TestSpreadGivesEachJourneyOneFixedPlaceAcrossTheWindow(t *testing.T) {
	p := DefaultPolicy()
	if got := p.ForJourney("wf-1"); got.NoticeOffsetSeconds != 0 {
		t.Fatalf("no spread: offset %d, want 0", got.NoticeOffsetSeconds)
	}
	p.NoticeSpreadMinutes = 30
	d := Date{2027, time.January, 14}
	nine := time.Date(2027, time.January, 14, 9, 0, 0, 0, p.Zone())
	perMinute := make([]int, 30)
	for i := range 3000 {
		id := fmt.Sprintf("wf-%d", i)
		j := p.ForJourney(id)
		if err := j.Validate(); err != nil {
			t.Fatal(err)
		}
		if again := p.ForJourney(id); again.NoticeOffsetSeconds != j.NoticeOffsetSeconds {
			t.Fatalf("%s: offset %d, then %d", id, j.NoticeOffsetSeconds, again.NoticeOffsetSeconds)
		}
		at := j.At(d)
		if off := at.Sub(nine); off != time.Duration(j.NoticeOffsetSeconds)*time.Second || off < 0 || off >= 30*time.Minute {
			t.Fatalf("%s: notice at %s, %s after 09:00 with offset %ds", id, at, off, j.NoticeOffsetSeconds)
		}
		perMinute[j.NoticeOffsetSeconds/60]++
	}
	// 100 a minute if even; a hash this uneven would defeat the spread.
	for m, n := range perMinute {
		if n < 70 || n > 130 {
			t.Errorf("minute %d of the window holds %d of 3000 journeys: %v", m, n, perMinute)
		}
	}
}

func TestSpreadNeverMovesANoticeToAnotherDay(t *testing.T) {
	// The latest window allowed ends at midnight: every notice stays on its date.
	p := DefaultPolicy()
	p.NoticeHour, p.NoticeSpreadMinutes = 23, 60
	d := Date{2027, time.January, 14}
	for i := range 1000 {
		if at := p.ForJourney(fmt.Sprintf("wf-%d", i)).At(d); DateOf(at.In(p.Zone())) != d || at.In(p.Zone()).Hour() != 23 {
			t.Fatalf("notice at %s, want 23:xx on %s", at, d)
		}
	}
	// On the spring change (2027-03-14 in Los Angeles) the day has 23 hours: a place late in a
	// window from 01:00 would land after midnight, so the notice keeps the notice time.
	p.NoticeHour, p.NoticeSpreadMinutes = 1, 23*60-1
	p.NoticeOffsetSeconds = p.NoticeSpreadMinutes*60 - 1
	spring := Date{2027, time.March, 14}
	if got, want := p.At(spring), time.Date(2027, time.March, 14, 1, 0, 0, 0, p.Zone()); !got.Equal(want) {
		t.Fatalf("spring change: %s, want %s", got, want)
	}
	// The day before, the same place is 23:58:59 on that day.
	if got, want := p.At(Date{2027, time.March, 13}), time.Date(2027, time.March, 13, 23, 58, 59, 0, p.Zone()); !got.Equal(want) {
		t.Fatalf("day before: %s, want %s", got, want)
	}
}
