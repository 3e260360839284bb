package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"sync"
	"time"

	// The zone database is compiled in so that every worker computes the same instants,
	// whatever tzdata its host has: a different answer on replay would break determinism.
	_ "time/tzdata"
)

// Policy holds every number docs/rules.md calls "policy". A running journey keeps the Policy it
// started with; it is part of the journey's state.
type Policy struct {
	Timezone   string `json:"timezone"`
	NoticeHour int    `json:"noticeHour"`
	// NoticeMinute is the minute past NoticeHour (default 0).
	NoticeMinute int `json:"noticeMinute,omitempty"`
	// NoticeSpreadMinutes, when above 0, spreads notices over a window of that many minutes
	// from the notice time, so that thousands of journeys with an event on one date do not all
	// fall due in the same second. Each journey keeps one fixed place in the window, derived from
	// its workflow id (ForJourney), so its notices are as predictable as without a spread. The
	// window must end by midnight: a notice never moves to another day. Default 0: off.
	NoticeSpreadMinutes int `json:"noticeSpreadMinutes,omitempty"`
	// NoticeOffsetSeconds is one journey's place in the spread window, set by ForJourney when the
	// journey starts or is re-planned, and kept in its state. A policy file leaves it out.
	NoticeOffsetSeconds int                 `json:"noticeOffsetSeconds,omitempty"`
	CCSReferral         CCSReferralPolicy   `json:"ccsReferral"`
	CoC                 CoCPolicy           `json:"coc"`
	AgeOut              AgeOutPolicy        `json:"ageout"`
	Postpartum          NoticeDaysPolicy    `json:"postpartum"`
	Reimbursement       ReimbursementPolicy `json:"reimbursement"`
	Authorization       AuthorizationPolicy `json:"authorization"`
	Grievance           GrievancePolicy     `json:"grievance"`
	Appeal              AppealPolicy        `json:"appeal"`
	// Holidays are the policy file's changes to the default holiday calendar, which counts
	// business days (calendar.go).
	Holidays Holidays `json:"holidays"`
}

// CCSReferralPolicy is docs/rules.md §1.
type CCSReferralPolicy struct {
	ApplicationReminderDays   int        `json:"applicationReminderDays"`
	ExpectedDeterminationDays CountyDays `json:"expectedDeterminationDays"`
	FollowupRepeatDays        int        `json:"followupRepeatDays"`
}

// CountyDays is a number of days for each CCS county model.
type CountyDays struct {
	Independent int `json:"independent"`
	Dependent   int `json:"dependent"`
}

// For returns the days for a county model ("independent" or "dependent").
func (c CountyDays) For(model string) int {
	if model == Dependent {
		return c.Dependent
	}
	return c.Independent
}

// NoticeDaysPolicy is the notice offsets of §2 (continuity of care) and §4 (postpartum).
type NoticeDaysPolicy struct {
	NoticeDaysBefore []int `json:"noticeDaysBefore"`
}

// CoCPolicy is docs/rules.md §2: the period's notices, and the clock of a request.
type CoCPolicy struct {
	NoticeDaysBefore []int `json:"noticeDaysBefore"`
	// DecisionDays is a request's decision clock by urgency.
	DecisionDays UrgencyDays `json:"decisionDays"`
	// DecisionReminderDaysBefore warns before the decision is due; DecisionOverdueRepeatDays
	// repeats the overdue event.
	DecisionReminderDaysBefore []int `json:"decisionReminderDaysBefore"`
	DecisionOverdueRepeatDays  int   `json:"decisionOverdueRepeatDays"`
}

// UrgencyDays is a number of calendar days for each urgency of a continuity-of-care request.
type UrgencyDays struct {
	Standard      int `json:"standard"`
	Urgent        int `json:"urgent"`
	ImmediateRisk int `json:"immediate_risk"`
}

// For returns the days for an urgency (standard, urgent or immediate_risk).
func (u UrgencyDays) For(urgency string) int {
	switch urgency {
	case "urgent":
		return u.Urgent
	case "immediate_risk":
		return u.ImmediateRisk
	}
	return u.Standard
}

// AgeOutPolicy is docs/rules.md §3.
type AgeOutPolicy struct {
	NoticeMonthsBefore []int `json:"noticeMonthsBefore"`
	// LeapDayBirthday is the day a member born on 29 February turns 21 in a common year:
	// "03-01" (the default) or "02-28". No source settles it; it is the plan's choice.
	LeapDayBirthday string `json:"leapDayBirthday,omitempty"`
}

// ResolutionPolicy is the resolution clock grievances (§7) and appeals (§8) share: calendar days
// for a standard case, hours for an expedited one, warnings before and overdue events after.
type ResolutionPolicy struct {
	ResolveDays         int   `json:"resolveDays"`
	ExpeditedHours      int   `json:"expeditedHours"`
	ReminderDaysBefore  []int `json:"reminderDaysBefore"`
	ReminderHoursBefore []int `json:"reminderHoursBefore"`
	OverdueRepeatDays   int   `json:"overdueRepeatDays"`
	OverdueRepeatHours  int   `json:"overdueRepeatHours"`
}

// GrievancePolicy is docs/rules.md §7.
type GrievancePolicy struct {
	ResolutionPolicy
	AcknowledgeDays int `json:"acknowledgeDays"`
}

// AppealPolicy is docs/rules.md §8.
type AppealPolicy struct {
	ResolutionPolicy
	// FilingDays is how long after the notice an appeal is on time; StateHearingDays how long
	// after an upheld appeal's resolution the member may ask for a State Hearing.
	FilingDays       int `json:"filingDays"`
	ExtensionDays    int `json:"extensionDays"`
	StateHearingDays int `json:"stateHearingDays"`
	// AcknowledgeDays is the written acknowledgment's turnaround for a standard appeal (42 CFR
	// §438.406(b)(1)). 0 in a policy recorded before appeals had the clock.
	AcknowledgeDays int `json:"acknowledgeDays,omitempty"`
}

// ReimbursementPolicy is docs/rules.md §5.
type ReimbursementPolicy struct {
	DueDays            int   `json:"dueDays"`
	ReminderDaysBefore []int `json:"reminderDaysBefore"`
	OverdueRepeatDays  int   `json:"overdueRepeatDays"`
}

// AuthorizationPolicy is docs/rules.md §6.
type AuthorizationPolicy struct {
	// StandardBusinessDays is the standard decision's turnaround once the information is
	// complete; StandardMaxDays caps it in calendar days from receipt.
	StandardBusinessDays int `json:"standardBusinessDays"`
	StandardMaxDays      int `json:"standardMaxDays"`
	// ExpeditedHours is the expedited decision's turnaround from the instant of receipt.
	ExpeditedHours int `json:"expeditedHours"`
	// ExtensionDays moves the deadline once (an instant deadline by as many 24 hours).
	ExtensionDays int `json:"extensionDays"`
	// Warnings before the deadline: business days before a standard one, hours before an
	// expedited one.
	WarnBusinessDaysBefore []int `json:"warnBusinessDaysBefore"`
	WarnHoursBefore        []int `json:"warnHoursBefore"`
	// NoticeBusinessDays is the written notice of a denial or modification's turnaround from the
	// decision.
	NoticeBusinessDays int `json:"noticeBusinessDays"`
	// DeemedDenialTime is the local time ("HH:MM") on a standard request's due date at which a
	// decision not reached is published as denied (42 CFR §438.404(c)(5): on the date the
	// timeframe expires). "" in a policy recorded before the rule: 17:00.
	DeemedDenialTime string `json:"deemedDenialTime,omitempty"`
}

// DeemedDenial returns the hour and minute of DeemedDenialTime (17:00 when unset).
func (a AuthorizationPolicy) DeemedDenial() (hour, minute int) {
	if _, err := fmt.Sscanf(a.DeemedDenialTime, "%d:%d", &hour, &minute); err != nil {
		return 17, 0
	}
	return hour, minute
}

// DefaultPolicy returns the defaults of docs/rules.md.
func DefaultPolicy() Policy {
	return Policy{
		Timezone:   "America/Los_Angeles",
		NoticeHour: 9,
		Holidays:   Holidays{Calendar: CurrentCalendar},
		CCSReferral: CCSReferralPolicy{
			ApplicationReminderDays:   15,
			ExpectedDeterminationDays: CountyDays{Independent: 30, Dependent: 60},
			FollowupRepeatDays:        14,
		},
		CoC: CoCPolicy{
			NoticeDaysBefore: []int{60, 30}, DecisionDays: UrgencyDays{Standard: 30, Urgent: 15, ImmediateRisk: 3},
			DecisionReminderDaysBefore: []int{5, 1}, DecisionOverdueRepeatDays: 7,
		},
		AgeOut:        AgeOutPolicy{NoticeMonthsBefore: []int{12, 6, 3, 1}, LeapDayBirthday: "03-01"},
		Postpartum:    NoticeDaysPolicy{NoticeDaysBefore: []int{60, 30}},
		Reimbursement: ReimbursementPolicy{DueDays: 60, ReminderDaysBefore: []int{15, 5}, OverdueRepeatDays: 7},
		Authorization: AuthorizationPolicy{
			StandardBusinessDays: 5, StandardMaxDays: 14, ExpeditedHours: 72, ExtensionDays: 14,
			WarnBusinessDaysBefore: []int{1}, WarnHoursBefore: []int{24, 4}, NoticeBusinessDays: 2,
			DeemedDenialTime: "17:00",
		},
		Grievance: GrievancePolicy{ResolutionPolicy: defaultResolution(), AcknowledgeDays: 5},
		Appeal:    AppealPolicy{ResolutionPolicy: defaultResolution(), FilingDays: 60, ExtensionDays: 14, StateHearingDays: 120, AcknowledgeDays: 5},
	}
}

func defaultResolution() ResolutionPolicy {
	return ResolutionPolicy{
		ResolveDays: 30, ExpeditedHours: 72, ReminderDaysBefore: []int{7, 2}, ReminderHoursBefore: []int{24, 4},
		OverdueRepeatDays: 7, OverdueRepeatHours: 24,
	}
}

// LoadPolicy returns the defaults overridden by the JSON file at path (no file: the defaults).
// Unknown keys and out-of-range numbers are errors that name the key.
func LoadPolicy(path string) (Policy, error) {
	p := DefaultPolicy()
	if path == "" {
		return p, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Policy{}, fmt.Errorf("policy file: %w", err)
	}
	if p, err = ParsePolicy(b); err != nil {
		return Policy{}, fmt.Errorf("policy file %s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy reads a JSON policy over the defaults and validates it.
func ParsePolicy(b []byte) (Policy, error) { return ParsePolicyOver(DefaultPolicy(), b) }

// ParsePolicyOver reads a JSON policy over base and validates it: a key the JSON leaves out keeps
// base's value. A journey reads a re-plan over its own policy, so that what it decides depends on
// its history alone, not on the defaults of the code that replays it.
func ParsePolicyOver(base Policy, b []byte) (Policy, error) {
	// A deep copy: decoding a list into a copy of base would write into base's own.
	var p Policy
	whole, err := json.Marshal(base)
	if err != nil {
		return Policy{}, err
	}
	if err := json.Unmarshal(whole, &p); err != nil {
		return Policy{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Policy{}, err
	}
	return p, p.Validate()
}

// Validate checks every number and the zone, naming the first key that is wrong.
func (p Policy) Validate() error {
	var errs []error
	check := func(ok bool, key, want string) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: must be %s", key, want))
		}
	}
	_, err := p.Location()
	check(err == nil, "timezone", "an IANA zone such as America/Los_Angeles")
	check(p.NoticeHour >= 0 && p.NoticeHour <= 23, "noticeHour", "an hour from 0 to 23")
	check(p.NoticeMinute >= 0 && p.NoticeMinute <= 59, "noticeMinute", "a minute from 0 to 59")
	check(p.NoticeSpreadMinutes >= 0 && p.NoticeHour*60+p.NoticeMinute+p.NoticeSpreadMinutes <= 24*60,
		"noticeSpreadMinutes", "0 or more minutes that end by midnight after the notice time")
	check(p.NoticeOffsetSeconds >= 0 && p.NoticeOffsetSeconds < max(1, p.NoticeSpreadMinutes*60),
		"noticeOffsetSeconds", "within the spread window (set by careclock, not in a policy file)")
	days := func(key string, v int) { check(v >= 1 && v <= 3650, key, "a whole number of days from 1 to 3650") }
	offsets := func(key string, vs []int, max int, unit string) {
		seen := map[int]bool{}
		for _, v := range vs {
			check(v >= 1 && v <= max && !seen[v], key, fmt.Sprintf("distinct %s from 1 to %d", unit, max))
			seen[v] = true
		}
	}
	days("ccsReferral.applicationReminderDays", p.CCSReferral.ApplicationReminderDays)
	days("ccsReferral.expectedDeterminationDays.independent", p.CCSReferral.ExpectedDeterminationDays.Independent)
	days("ccsReferral.expectedDeterminationDays.dependent", p.CCSReferral.ExpectedDeterminationDays.Dependent)
	days("ccsReferral.followupRepeatDays", p.CCSReferral.FollowupRepeatDays)
	offsets("coc.noticeDaysBefore", p.CoC.NoticeDaysBefore, 364, "days")
	days("coc.decisionDays.standard", p.CoC.DecisionDays.Standard)
	days("coc.decisionDays.urgent", p.CoC.DecisionDays.Urgent)
	days("coc.decisionDays.immediate_risk", p.CoC.DecisionDays.ImmediateRisk)
	offsets("coc.decisionReminderDaysBefore", p.CoC.DecisionReminderDaysBefore, 364, "days")
	days("coc.decisionOverdueRepeatDays", p.CoC.DecisionOverdueRepeatDays)
	offsets("ageout.noticeMonthsBefore", p.AgeOut.NoticeMonthsBefore, 240, "months")
	check(p.AgeOut.LeapDayBirthday == "" || p.AgeOut.LeapDayBirthday == "03-01" || p.AgeOut.LeapDayBirthday == "02-28",
		"ageout.leapDayBirthday", `"03-01" or "02-28"`)
	offsets("postpartum.noticeDaysBefore", p.Postpartum.NoticeDaysBefore, 364, "days")
	days("reimbursement.dueDays", p.Reimbursement.DueDays)
	offsets("reimbursement.reminderDaysBefore", p.Reimbursement.ReminderDaysBefore, p.Reimbursement.DueDays, "days")
	days("reimbursement.overdueRepeatDays", p.Reimbursement.OverdueRepeatDays)
	a := p.Authorization
	check(a.StandardBusinessDays >= 1 && a.StandardBusinessDays <= 60, "authorization.standardBusinessDays", "a whole number of business days from 1 to 60")
	days("authorization.standardMaxDays", a.StandardMaxDays)
	check(a.ExpeditedHours >= 1 && a.ExpeditedHours <= 720, "authorization.expeditedHours", "a whole number of hours from 1 to 720")
	days("authorization.extensionDays", a.ExtensionDays)
	offsets("authorization.warnBusinessDaysBefore", a.WarnBusinessDaysBefore, a.StandardBusinessDays, "business days")
	offsets("authorization.warnHoursBefore", a.WarnHoursBefore, a.ExpeditedHours-1, "hours")
	check(a.NoticeBusinessDays >= 1 && a.NoticeBusinessDays <= 60, "authorization.noticeBusinessDays", "a whole number of business days from 1 to 60")
	check(a.DeemedDenialTime == "" || validClock(a.DeemedDenialTime), "authorization.deemedDenialTime", `a local time "HH:MM" from "00:00" to "23:59"`)
	resolution := func(key string, r ResolutionPolicy) {
		days(key+".resolveDays", r.ResolveDays)
		check(r.ExpeditedHours >= 1 && r.ExpeditedHours <= 720, key+".expeditedHours", "a whole number of hours from 1 to 720")
		offsets(key+".reminderDaysBefore", r.ReminderDaysBefore, r.ResolveDays-1, "days")
		offsets(key+".reminderHoursBefore", r.ReminderHoursBefore, r.ExpeditedHours-1, "hours")
		days(key+".overdueRepeatDays", r.OverdueRepeatDays)
		check(r.OverdueRepeatHours >= 1 && r.OverdueRepeatHours <= 720, key+".overdueRepeatHours", "a whole number of hours from 1 to 720")
	}
	resolution("grievance", p.Grievance.ResolutionPolicy)
	days("grievance.acknowledgeDays", p.Grievance.AcknowledgeDays)
	resolution("appeal", p.Appeal.ResolutionPolicy)
	days("appeal.filingDays", p.Appeal.FilingDays)
	days("appeal.extensionDays", p.Appeal.ExtensionDays)
	days("appeal.stateHearingDays", p.Appeal.StateHearingDays)
	check(p.Appeal.AcknowledgeDays >= 0 && p.Appeal.AcknowledgeDays <= 3650, "appeal.acknowledgeDays", "a whole number of days from 1 to 3650")
	errs = append(errs, p.Holidays.validate()...)
	return errors.Join(errs...)
}

// validClock reports whether s is a local time of day written "HH:MM".
func validClock(s string) bool {
	t, err := time.Parse("15:04", s)
	return err == nil && t.Format("15:04") == s
}

// The CCS county models: independent counties decide medical eligibility themselves, dependent
// ones rely on the State.
const (
	Independent = "independent"
	Dependent   = "dependent"
)

var zones sync.Map // zone name → *time.Location; read-mostly cache, never reset

// Location returns the policy's zone.
func (p Policy) Location() (*time.Location, error) {
	if loc, ok := zones.Load(p.Timezone); ok {
		return loc.(*time.Location), nil
	}
	if p.Timezone == "" {
		return nil, errors.New("no timezone")
	}
	loc, err := time.LoadLocation(p.Timezone)
	if err != nil {
		return nil, err
	}
	zones.Store(p.Timezone, loc)
	return loc, nil
}

// Zone is the policy's location; the policy must be valid.
func (p Policy) Zone() *time.Location { return p.location() }

func (p Policy) location() *time.Location {
	loc, err := p.Location()
	if err != nil {
		// Unreachable for a validated policy; a journey never runs with an unvalidated one.
		panic(fmt.Sprintf("policy timezone %q: %v", p.Timezone, err))
	}
	return loc
}

// At returns the instant an event dated d fires: the notice hour and minute on d in the policy's
// zone, plus the journey's place in the spread window, if any.
// The offset is the one in force on d, so a date after the spring change carries -07:00.
//
// Where the notice hour does not exist on d (it falls in the spring gap), the event fires at the
// first hour after the gap, still on d. Where a clock change would push a spread notice past
// midnight, it fires at the notice time instead: it never leaves d.
func (p Policy) At(d Date) time.Time {
	t := p.noticeTime(d)
	if p.NoticeOffsetSeconds == 0 {
		return t
	}
	if spread := t.Add(time.Duration(p.NoticeOffsetSeconds) * time.Second); DateOf(spread.In(p.location())) == d {
		return spread
	}
	return t
}

func (p Policy) noticeTime(d Date) time.Time {
	loc := p.location()
	for h := p.NoticeHour; h < 24; h++ {
		if t := time.Date(d.Year, d.Month, d.Day, h, p.NoticeMinute, 0, 0, loc); t.Hour() == h {
			return t
		}
	}
	return time.Date(d.Year, d.Month, d.Day, p.NoticeHour, p.NoticeMinute, 0, 0, loc)
}

// ForJourney returns the policy of the journey whose workflow id is id: with a spread window,
// the journey's fixed place in it, from a hash of the id (which is itself a keyed hash, never a
// member's id). The same id always gets the same place; ids spread evenly over the window.
func (p Policy) ForJourney(id string) Policy {
	p.NoticeOffsetSeconds = 0
	if window := p.NoticeSpreadMinutes * 60; window > 0 {
		h := fnv.New64a()
		h.Write([]byte(id)) // never fails
		p.NoticeOffsetSeconds = int(h.Sum64() % uint64(window))
	}
	return p
}

// Today returns the calendar date of now in the policy's zone.
func (p Policy) Today(now time.Time) Date { return DateOf(now.In(p.location())) }
