// Package openwork makes a plan's open work at go-live as a plan exports it for `starter import`:
// a CSV per starting event type, in the proportions of a large county plan's open journeys, and
// CloudEvents of what happened since (grievances acknowledged), with bad rows among them if asked.
// The test of import and bench's scale run read it; its ids and dates are made up.
package openwork

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// Options say what to make.
type Options struct {
	// N is the number of open items (rows and events, bad ones included).
	N int
	// GoLive is the go-live date; Today the date the export is imported on (GoLive or later).
	GoLive, Today rules.Date
	// Bad is how many of the N are bad: rows the contract refuses, and acknowledgements of
	// grievances the import does not hold.
	Bad  int
	Seed uint64
}

// share is each starting type's part of the open items, in thousandths: age-outs of every CCS
// child and a year of postpartum extensions make most of a county plan's open journeys.
var share = []struct {
	eventType string
	permille  int
}{
	{events.MemberEnrolled, 300}, {events.PregnancyEnded, 200}, {events.ReimbursementSubmitted, 150},
	{events.AuthorizationRequested, 120}, {events.CCSReferralSubmitted, 60}, {events.CoCRequested, 50},
	{events.WCMTransitioned, 20}, {events.GrievanceReceived, 50}, {events.AppealReceived, 30},
}

// acknowledgements is the part of the items, in thousandths, that are grievances acknowledged
// since (CloudEvents); the rest of 1000 beyond share and this goes to age-outs.
const acknowledgements = 20

// Counts is how many items of each starting type, and acknowledgements, o.N makes.
func Counts(n int) map[string]int {
	c := map[string]int{}
	left := n
	for _, s := range share {
		c[s.eventType] = n * s.permille / 1000
		left -= c[s.eventType]
	}
	c[events.GrievanceAcknowledged] = min(n*acknowledgements/1000, c[events.GrievanceReceived])
	left -= c[events.GrievanceAcknowledged]
	c[events.MemberEnrolled] += left
	return c
}

// Write writes the items into dir and returns the files, CSV first, in the order to import them.
func Write(dir string, o Options) ([]string, error) {
	if o.Today.IsZero() {
		o.Today = o.GoLive
	}
	g := gen{o: o, r: rand.New(rand.NewPCG(o.Seed, 7))}
	counts := Counts(o.N)
	// The bad ones, spread over the kinds: every third one an acknowledgement of an unknown
	// grievance, the rest rows the contract refuses.
	badAck := o.Bad / 3
	badRows := o.Bad - badAck
	var files []string
	for k, s := range share {
		rows := [][]string{header(s.eventType)}
		bad := badRows / len(share)
		if k < badRows%len(share) {
			bad++
		}
		for i := range counts[s.eventType] {
			row := g.row(s.eventType, i)
			if i < bad {
				row = g.spoil(s.eventType, row, i)
			}
			rows = append(rows, row)
		}
		path := filepath.Join(dir, s.eventType+".csv")
		if err := writeCSV(path, rows); err != nil {
			return nil, err
		}
		files = append(files, path)
	}
	path := filepath.Join(dir, "since.jsonl")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	enc := json.NewEncoder(f)
	for i := range counts[events.GrievanceAcknowledged] {
		id := "G-" + strconv.Itoa(i)
		if i < badAck {
			id = "G-UNKNOWN-" + strconv.Itoa(i)
		}
		ev := map[string]any{
			"specversion": "1.0", "id": "ack-" + strconv.Itoa(i), "source": "urn:plan:grievances",
			"type": events.GrievanceAcknowledged, "time": g.o.Today.String() + "T08:00:00Z",
			"data": map[string]any{"grievanceId": id, "acknowledgedDate": g.received(i).AddDays(2).String()},
		}
		if err := enc.Encode(ev); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return append(files, path), nil
}

func header(eventType string) []string {
	switch eventType {
	case events.MemberEnrolled:
		return []string{"memberId", "dateOfBirth", "enrollmentDate", "county", "countyModel", "fullScopeMediCal", "ccsEligible"}
	case events.PregnancyEnded:
		return []string{"memberId", "pregnancyEndDate"}
	case events.ReimbursementSubmitted:
		return []string{"claimId", "memberId", "submittedDate", "amountCents", "category"}
	case events.AuthorizationRequested:
		return []string{"requestId", "memberId", "receivedAt", "urgency", "infoComplete", "serviceCode"}
	case events.CCSReferralSubmitted:
		return []string{"referralId", "memberId", "dateOfBirth", "conditionCode", "referralDate", "county", "countyModel", "fullScopeMediCal"}
	case events.CoCRequested:
		return []string{"memberId", "providerId", "transitionDate", "requestDate", "urgency"}
	case events.WCMTransitioned:
		return []string{"memberId", "transitionDate", "providers"}
	case events.GrievanceReceived:
		return []string{"grievanceId", "memberId", "receivedAt", "expedited"}
	case events.AppealReceived:
		return []string{"appealId", "memberId", "receivedAt", "expedited", "noticeDate"}
	}
	panic("no header for " + eventType)
}

type gen struct {
	o Options
	r *rand.Rand
}

// before is a date up to days before go-live.
func (g gen) before(days int) rules.Date { return g.o.GoLive.AddDays(-g.r.IntN(days + 1)) }

// received is the date grievance i was received: the same for its row and its acknowledgement.
func (g gen) received(i int) rules.Date { return g.o.GoLive.AddDays(-(i*7)%30 - 3) }

func at(d rules.Date, hour int) string {
	return time.Date(d.Year, d.Month, d.Day, hour, 0, 0, 0, time.UTC).Format(time.RFC3339)
}

var counties = []struct{ name, model string }{{"Yolo", "independent"}, {"Alameda", "independent"}, {"Alpine", "dependent"}, {"Napa", "dependent"}}

func (g gen) row(eventType string, i int) []string {
	n := strconv.Itoa(i)
	county := counties[g.r.IntN(len(counties))]
	yes := func(p float64) string { return strconv.FormatBool(g.r.Float64() < p) }
	switch eventType {
	case events.MemberEnrolled:
		// A third within a year of 21, the rest younger.
		age := g.r.IntN(20*365) + 365
		if i%3 == 0 {
			age = 20*365 + g.r.IntN(360)
		}
		return []string{"M-A" + n, g.o.Today.AddDays(-age).String(), g.before(3 * 365).String(), county.name, county.model, "yes", yes(0.95)}
	case events.PregnancyEnded:
		return []string{"M-P" + n, g.before(360).String()}
	case events.ReimbursementSubmitted:
		cats := []string{"transportation", "mileage", "meals", "lodging", "parking", "tolls"}
		return []string{"C-" + n, "M-R" + n, g.before(75).String(), strconv.Itoa(500 + g.r.IntN(40000)), cats[g.r.IntN(len(cats))]}
	case events.AuthorizationRequested:
		urgency := "standard"
		if g.r.Float64() < 0.1 {
			urgency = "expedited"
		}
		return []string{"A-" + n, "M-U" + n, at(g.before(10), 17), urgency, yes(0.8), "97110"}
	case events.CCSReferralSubmitted:
		return []string{"R-" + n, "M-C" + n, g.o.Today.AddDays(-(365 + g.r.IntN(15*365))).String(), "D66", g.before(60).String(), county.name, county.model, yes(0.9)}
	case events.CoCRequested:
		transition := g.before(300)
		return []string{"M-K" + n, "P-" + n, transition.String(), transition.AddDays(g.r.IntN(20)).String(), "standard"}
	case events.WCMTransitioned:
		providers := fmt.Sprintf(`[{"providerId":"P-W%s","contracted":false},{"providerId":"P-V%s","contracted":true}]`, n, n)
		return []string{"M-W" + n, g.before(300).String(), providers}
	case events.GrievanceReceived:
		return []string{"G-" + n, "M-G" + n, at(g.received(i), 18), "no"}
	case events.AppealReceived:
		received := g.before(25)
		return []string{"AP-" + n, "M-AP" + n, at(received, 18), "no", received.AddDays(-10).String()}
	}
	panic("no row for " + eventType)
}

// spoil makes a row the contract refuses: a required cell left empty, a date that is not one, or
// a value not among those allowed.
func (g gen) spoil(eventType string, row []string, i int) []string {
	switch i % 3 {
	case 0:
		row[0] = "" // its id
	case 1:
		c := len(row) - 1
		if eventType == events.AuthorizationRequested {
			c = 3 // its urgency: the service code is any text
		}
		row[c] = "not-a-value"
	default:
		for c, h := range header(eventType) {
			if c > 0 && (h[len(h)-4:] == "Date" || h[len(h)-2:] == "At") {
				row[c] = "2026-02-30"
				return row
			}
		}
		row[0] = ""
	}
	return row
}

func writeCSV(path string, rows [][]string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
