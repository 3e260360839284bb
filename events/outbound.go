package events

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	"github.com/careclock/careclock/rules"
)

// Streams and subjects.
const (
	// EnrollmentStream holds inbound events on enrollment.> (and the dead letters).
	EnrollmentStream = "ENROLLMENT"
	// EnrollmentSubjects is what the enrollment stream captures.
	EnrollmentSubjects = "enrollment.>"
	// DeadLetterSubject receives every inbound event that cannot be used, with the reason.
	DeadLetterSubject = "enrollment.deadletter"
	// JourneyStream holds the journey events careclock publishes on journeys.>.
	JourneyStream = "JOURNEYS"
	// JourneySubjects is what the journey stream captures.
	JourneySubjects = "journeys.>"
	// AuditStream holds the record of every access to PHI through the front (who decoded which
	// journey's payloads, when, from where): append only, no message deleted or purged.
	AuditStream = "AUDIT"
	// AuditSubjects is what the audit stream captures; AuditDecodeSubject, a decode's record.
	AuditSubjects      = "audit.>"
	AuditDecodeSubject = "audit.decode"

	// Dead-letter headers. The reason names fields, never values.
	HeaderReason          = "Careclock-Reason"
	HeaderOriginalSubject = "Careclock-Original-Subject"
	HeaderOriginalSeq     = "Careclock-Original-Sequence"
)

// JourneyEvent is an outbound CloudEvent (events.md, "Outbound"). Its id is deterministic, so
// a retried publication is the same message and JetStream drops the copy.
type JourneyEvent struct {
	SpecVersion     string         `json:"specversion"`
	ID              string         `json:"id"`
	Source          string         `json:"source"`
	Type            string         `json:"type"`
	Subject         string         `json:"subject"`
	Time            time.Time      `json:"time"`
	DataContentType string         `json:"datacontenttype"`
	Data            map[string]any `json:"data"`
}

// Occurrence is what a journey says happened: the inputs of a JourneyEvent.
type Occurrence struct {
	Journey    string
	WorkflowID string
	MemberID   string
	Type       string
	// Key distinguishes this occurrence within the journey (its type and scheduled date).
	Key string
	// ID is the journey event's id and Nats-Msg-Id (JourneyEventID); empty: WorkflowID:Key, the
	// form of journeys started before changeEventIDs.
	ID       string
	On       rules.Date
	Deadline rules.Date
	Late     bool
	At       time.Time
	// DeadlineAt is set for a journey whose clock is an instant (an expedited authorization):
	// the event then carries deadlineAt and eventAt (its instant), in DeadlineAt's zone.
	DeadlineAt time.Time
	// PublishedAt, when set, is the instant the journey published the event, in the plan's zone:
	// the CloudEvent's time, while At, the instant it was due, goes in data as scheduledAt, in
	// the same zone. Unset (the journeys that predate it), time is At.
	PublishedAt time.Time
	Fields      map[string]any
}

// JourneyEventID is a journey event's id, and its Nats-Msg-Id: the journey's workflow id, the
// event's type and date, and n, which counts the journey's events of that type and date from 1.
// A scheduled notice is #1; a second event of one type on one day (two county transfers) is #2.
func JourneyEventID(workflowID, eventType string, on rules.Date, n int) string {
	return fmt.Sprintf("%s:%s@%s#%d", workflowID, eventType, on, n)
}

// JourneyEventIDOfRun is JourneyEventID for a journey opened again (a re-enrolled member's
// age-out journey), whose runs share its workflow id: run counts them from 1, and an event of
// run 2 or later is #<n>.r<run>, so that JetStream does not drop it as a copy of an event of an
// earlier run with the same type and date.
func JourneyEventIDOfRun(workflowID, eventType string, on rules.Date, n, run int) string {
	id := JourneyEventID(workflowID, eventType, on, n)
	if run >= 2 {
		id += fmt.Sprintf(".r%d", run)
	}
	return id
}

// JourneyEventIDPattern matches JourneyEventID's form (docs/architecture.md, Journey event ids).
var JourneyEventIDPattern = regexp.MustCompile(`^[a-z-]+-[0-9a-f]{32}:[a-z_.]+@[0-9]{4}-[0-9]{2}-[0-9]{2}#[1-9][0-9]*(\.r([2-9]|[1-9][0-9]+))?$`)

// NewJourneyEvent builds the CloudEvent for an occurrence. Fields never override the common
// data every journey event carries.
func NewJourneyEvent(o Occurrence) JourneyEvent {
	data := make(map[string]any, len(o.Fields)+6)
	// Copying one map into another gives the same map whatever the order of iteration.
	maps.Copy(data, o.Fields) //workflowcheck:ignore
	data["journey"] = o.Journey
	data["workflowId"] = o.WorkflowID
	data["memberId"] = o.MemberID
	data["eventDate"] = o.On.String()
	data["deadline"] = o.Deadline.String()
	data["late"] = o.Late
	if !o.DeadlineAt.IsZero() {
		data["deadlineAt"] = o.DeadlineAt.Format(time.RFC3339)
		data["eventAt"] = o.At.In(o.DeadlineAt.Location()).Format(time.RFC3339)
	}
	at := o.At
	if !o.PublishedAt.IsZero() {
		data["scheduledAt"] = o.At.In(o.PublishedAt.Location()).Format(time.RFC3339)
		at = o.PublishedAt
	}
	return JourneyEvent{
		SpecVersion:     "1.0",
		ID:              cmp.Or(o.ID, o.WorkflowID+":"+o.Key),
		Source:          "/careclock/journeys/" + o.Journey,
		Type:            o.Type,
		Subject:         o.WorkflowID,
		Time:            at,
		DataContentType: "application/json",
		Data:            data,
	}
}

// NATSSubject is journeys.<journey>.<event>, e.g. journeys.reimbursement.overdue.
func (e JourneyEvent) NATSSubject() (string, error) {
	journey, _ := e.Data["journey"].(string)
	if journey == "" || e.Type == "" {
		return "", fmt.Errorf("journey event %q has no journey or type", e.ID)
	}
	return JourneySubject(journey, e.Type), nil
}

// JourneySubject returns the subject of an event type published by a journey: the type without
// the journey's own prefix (reimbursement.overdue → journeys.reimbursement.overdue;
// ccs.referral.opened → journeys.ccs-referral.opened).
func JourneySubject(journey, eventType string) string {
	event := eventType
	for _, prefix := range []string{strings.ReplaceAll(journey, "-", ".") + ".", journey + ".", "ccs."} {
		if rest, ok := strings.CutPrefix(eventType, prefix); ok {
			event = rest
			break
		}
	}
	return "journeys." + journey + "." + event
}
