package rules

import (
	"strings"
	"testing"
	"time"
)

// sample plan: reminders on 14 and 24 January for a deadline of 29 January, overdue from 30
// January every 7 days.
func samplePlan() []Due {
	due := MustDate("2027-01-29")
	return []Due{
		{Type: "due_soon", Date: MustDate("2027-01-14"), Deadline: due, Reminder: true},
		{Type: "due_soon", Date: MustDate("2027-01-24"), Deadline: due, Reminder: true},
		{Type: "overdue", Date: MustDate("2027-01-30"), Deadline: due, EveryDays: 7},
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func keys(os []Occurrence) []string {
	var out []string
	for _, o := range os {
		k := o.Key()
		if o.Late {
			k += " late"
		}
		out = append(out, k)
	}
	return out
}

func TestStep(t *testing.T) {
	p := DefaultPolicy()
	none := func(string) bool { return false }
	cases := []struct {
		name    string
		now     string
		done    func(string) bool
		publish []string
		skip    []string
		next    string
	}{
		{name: "before everything", now: "2026-11-30T12:00:00-08:00", done: none,
			next: "due_soon@2027-01-14"},
		{name: "a second before the notice hour", now: "2027-01-14T08:59:59-08:00", done: none,
			next: "due_soon@2027-01-14"},
		{name: "at the notice hour", now: "2027-01-14T09:00:00-08:00", done: none,
			publish: []string{"due_soon@2027-01-14"}, next: "due_soon@2027-01-24"},
		{name: "same day, later: not late", now: "2027-01-14T23:59:00-08:00", done: none,
			publish: []string{"due_soon@2027-01-14"}, next: "due_soon@2027-01-24"},
		{name: "next day: late", now: "2027-01-15T00:00:00-08:00", done: none,
			publish: []string{"due_soon@2027-01-14 late"}, next: "due_soon@2027-01-24"},
		{name: "done is not published again", now: "2027-01-15T10:00:00-08:00",
			done: func(k string) bool { return k == "due_soon@2027-01-14" }, next: "due_soon@2027-01-24"},
		{name: "on the deadline, reminders are late, not skipped", now: "2027-01-29T10:00:00-08:00", done: none,
			publish: []string{"due_soon@2027-01-14 late", "due_soon@2027-01-24 late"}, next: "overdue@2027-01-30"},
		{name: "after the deadline, reminders are skipped", now: "2027-01-30T09:00:00-08:00", done: none,
			publish: []string{"overdue@2027-01-30"}, skip: []string{"due_soon@2027-01-14 late", "due_soon@2027-01-24 late"},
			next: "overdue@2027-02-06"},
		{name: "missed repeats publish once, the latest", now: "2027-02-20T10:00:00-08:00",
			done:    func(k string) bool { return k[:8] == "due_soon" },
			publish: []string{"overdue@2027-02-20"}, next: "overdue@2027-02-27"},
		{name: "a repeat not yet at its hour waits", now: "2027-02-20T08:00:00-08:00",
			done: func(k string) bool { return k[:8] == "due_soon" || k == "overdue@2027-02-13" },
			next: "overdue@2027-02-20"},
		{name: "missed repeats, latest yesterday", now: "2027-02-21T08:00:00-08:00",
			done:    func(k string) bool { return k[:8] == "due_soon" },
			publish: []string{"overdue@2027-02-20 late"}, next: "overdue@2027-02-27"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := p.Step(samplePlan(), c.done, at(c.now))
			if got := keys(s.Publish); !equal(got, c.publish) {
				t.Errorf("publish %v, want %v", got, c.publish)
			}
			if got := keys(s.Skip); !equal(got, c.skip) {
				t.Errorf("skip %v, want %v", got, c.skip)
			}
			next := ""
			if s.Next != nil {
				next = s.Next.Key()
			}
			if next != c.next {
				t.Errorf("next %s, want %s", next, c.next)
			}
		})
	}
}

func TestPreview(t *testing.T) {
	p := DefaultPolicy()
	got := p.Preview(samplePlan(), at("2027-01-20T10:00:00-08:00"))
	want := []Planned{
		{Type: "due_soon", Date: MustDate("2027-01-14"), At: at("2027-01-14T09:00:00-08:00"), Late: true},
		{Type: "due_soon", Date: MustDate("2027-01-24"), At: at("2027-01-24T09:00:00-08:00")},
		{Type: "overdue", Date: MustDate("2027-01-30"), At: at("2027-01-30T09:00:00-08:00"), RepeatEveryDays: 7},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].Type != want[i].Type || got[i].Date != want[i].Date || !got[i].At.Equal(want[i].At) ||
			got[i].Late != want[i].Late || got[i].Skipped != want[i].Skipped || got[i].RepeatEveryDays != want[i].RepeatEveryDays {
			t.Errorf("[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	skipped := p.Preview(samplePlan(), at("2027-02-01T10:00:00-08:00"))
	if !skipped[0].Skipped || skipped[0].Late || !skipped[2].Late {
		t.Errorf("after the deadline: %+v", skipped)
	}
}

func equal(a, b []string) bool {
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

func TestAhead(t *testing.T) {
	p := DefaultPolicy()
	render := func(ps []Planned) []string {
		var out []string
		for _, x := range ps {
			out = append(out, x.Type+" "+x.At.Format(time.RFC3339))
		}
		return out
	}
	for _, tc := range []struct {
		now  string
		want []string
	}{
		{"2027-01-14T08:59:59-08:00", []string{"due_soon 2027-01-14T09:00:00-08:00", "due_soon 2027-01-24T09:00:00-08:00", "overdue 2027-01-30T09:00:00-08:00"}},
		{"2027-01-14T09:00:00-08:00", []string{"due_soon 2027-01-24T09:00:00-08:00", "overdue 2027-01-30T09:00:00-08:00"}},
		// Between repeats, and on a repeat's date before and at its hour.
		{"2027-02-01T10:00:00-08:00", []string{"overdue 2027-02-06T09:00:00-08:00"}},
		{"2027-02-06T08:00:00-08:00", []string{"overdue 2027-02-06T09:00:00-08:00"}},
		{"2027-02-06T09:00:00-08:00", []string{"overdue 2027-02-13T09:00:00-08:00"}},
	} {
		if got := render(p.Ahead(samplePlan(), at(tc.now))); !equal(got, tc.want) {
			t.Errorf("at %s: %q, want %q", tc.now, got, tc.want)
		}
	}
}

// Missed advance notices of one series (docs/rules.md, Time): only the latest is published late,
// the earlier ones are skipped as superseded; reminders of another series are not touched.
func TestSupersede(t *testing.T) {
	p := DefaultPolicy()
	s := p.Step(samplePlan(), func(string) bool { return false }, at("2027-01-29T10:00:00-08:00"))
	s.Supersede()
	if got, want := keys(s.Publish), []string{"due_soon@2027-01-24 late"}; !equal(got, want) {
		t.Errorf("publish %v, want %v", got, want)
	}
	if got, want := keys(s.Skip), []string{"due_soon@2027-01-14 late"}; !equal(got, want) || !s.Skip[0].Superseded {
		t.Errorf("skip %v (superseded %v), want %v superseded", got, len(s.Skip) > 0 && s.Skip[0].Superseded, want)
	}
	// On time, two notices of a series are never both due: nothing is superseded.
	s = p.Step(samplePlan(), func(string) bool { return false }, at("2027-01-14T09:00:00-08:00"))
	s.Supersede()
	if got := keys(s.Publish); !equal(got, []string{"due_soon@2027-01-14"}) || len(s.Skip) != 0 {
		t.Errorf("on time: publish %v, skip %v", got, keys(s.Skip))
	}
	// A late notice that is not a reminder (an overdue event) is never superseded.
	plan := append(samplePlan(), Due{Type: "other_soon", Date: MustDate("2027-01-20"), Deadline: MustDate("2027-01-29"), Reminder: true})
	s = p.Step(plan, func(string) bool { return false }, at("2027-01-29T10:00:00-08:00"))
	s.Supersede()
	if got, want := keys(s.Publish), []string{"other_soon@2027-01-20 late", "due_soon@2027-01-24 late"}; !equal(got, want) {
		t.Errorf("two series: publish %v, want %v", got, want)
	}
	pv := p.Preview(samplePlan(), at("2027-01-29T10:00:00-08:00"))
	if !pv[0].Skipped || !pv[0].Superseded || pv[1].Skipped || !pv[1].Late {
		t.Errorf("preview: %+v", pv)
	}
}

// An event due at an instant fires at it exactly, not at the notice hour; it is late once
// InstantGrace has passed; a reminder of an instant deadline is skipped once the instant has.
func TestStepAtInstants(t *testing.T) {
	p := DefaultPolicy()
	deadline := at("2027-03-16T11:00:00-07:00")
	plan := []Due{
		{Type: "due_soon", At: deadline.Add(-24 * time.Hour), Deadline: DateOf(deadline), DeadlineAt: deadline, Reminder: true},
		{Type: "due_soon", At: deadline.Add(-4 * time.Hour), Deadline: DateOf(deadline), DeadlineAt: deadline, Reminder: true},
		{Type: "missed", At: deadline, Deadline: DateOf(deadline), DeadlineAt: deadline},
	}
	none := func(string) bool { return false }
	s := p.Step(plan, none, at("2027-03-15T10:59:59-07:00"))
	if s.Next == nil || !s.Next.At.Equal(at("2027-03-15T11:00:00-07:00")) || s.Next.On != MustDate("2027-03-15") {
		t.Fatalf("next %+v, want due_soon at 2027-03-15T11:00:00-07:00", s.Next)
	}
	s = p.Step(plan, none, at("2027-03-15T11:00:30-07:00"))
	if got := keys(s.Publish); !equal(got, []string{"due_soon@2027-03-15T18:00:00Z"}) {
		t.Errorf("30 s after its instant: %v, want on time", got)
	}
	s = p.Step(plan, none, at("2027-03-15T11:01:01-07:00"))
	if got := keys(s.Publish); !equal(got, []string{"due_soon@2027-03-15T18:00:00Z late"}) {
		t.Errorf("61 s after its instant: %v, want late", got)
	}
	s = p.Step(plan, none, at("2027-03-16T11:00:00-07:00"))
	s.Supersede()
	if got := keys(s.Publish); !equal(got, []string{"missed@2027-03-16T18:00:00Z"}) {
		t.Errorf("at the deadline: publish %v, want the miss on time", got)
	}
	if got := keys(s.Skip); !equal(got, []string{"due_soon@2027-03-15T18:00:00Z late", "due_soon@2027-03-16T14:00:00Z late"}) {
		t.Errorf("at the deadline: skip %v, want both warnings", got)
	}
	s = p.Step(plan, none, at("2027-03-16T10:00:00-07:00"))
	s.Supersede()
	if got := keys(s.Publish); !equal(got, []string{"due_soon@2027-03-16T14:00:00Z late"}) || len(s.Skip) != 1 || !s.Skip[0].Superseded {
		t.Errorf("an hour before the deadline: publish %v, skip %v; want the 4-hour warning late, the 24-hour one superseded", got, keys(s.Skip))
	}
}

// What fell due before the go-live date is skipped, marked; what falls due on it is published.
func TestSkipBeforeGoLive(t *testing.T) {
	p := DefaultPolicy()
	step := func(goLive string) Step {
		s := p.Step(samplePlan(), func(string) bool { return false }, at("2027-01-29T10:00:00-08:00"))
		if goLive != "" {
			s.SkipBefore(MustDate(goLive))
		}
		return s
	}
	cases := []struct{ goLive, publish, skip string }{
		{"", "due_soon@2027-01-14 late,due_soon@2027-01-24 late", ""},
		{"2027-01-14", "due_soon@2027-01-14 late,due_soon@2027-01-24 late", ""},
		{"2027-01-15", "due_soon@2027-01-24 late", "due_soon@2027-01-14 late"},
		{"2027-01-24", "due_soon@2027-01-24 late", "due_soon@2027-01-14 late"},
		{"2027-01-25", "", "due_soon@2027-01-14 late,due_soon@2027-01-24 late"},
	}
	for _, c := range cases {
		s := step(c.goLive)
		if got := strings.Join(keys(s.Publish), ","); got != c.publish {
			t.Errorf("go-live %q: publish %s, want %s", c.goLive, got, c.publish)
		}
		if got := strings.Join(keys(s.Skip), ","); got != c.skip {
			t.Errorf("go-live %q: skip %s, want %s", c.goLive, got, c.skip)
		}
		for _, o := range s.Skip {
			if !o.BeforeGoLive {
				t.Errorf("go-live %q: %s skipped but not marked before go-live", c.goLive, o.Key())
			}
		}
	}
}
