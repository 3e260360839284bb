package listener

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/careclock/careclock/events"
)

// msg is a jetstream.Msg that only knows its subject.
type msg struct {
	jetstream.Msg
	subject string
}

func (m msg) Subject() string { return m.subject }

// A metric label is a known inbound type or "unknown": never what a producer wrote.
func TestTypeLabel(t *testing.T) {
	for _, tc := range []struct {
		subject, eventType, want string
	}{
		{"enrollment.reimbursement.submitted", events.ReimbursementSubmitted, events.ReimbursementSubmitted},
		{"enrollment.reimbursement.submitted", "", events.ReimbursementSubmitted}, // not decoded: from its subject
		{"enrollment.M-100234", "", "unknown"},
		{"enrollment.member.enrolled", "member.M-100234", events.MemberEnrolled},
		{"enrollment.ssn.123-45-6789", "ssn.123-45-6789", "unknown"},
		{events.DeadLetterSubject, "", "deadletter"},
	} {
		j := job{msg: msg{subject: tc.subject}, ev: events.Event{Type: tc.eventType}}
		if got := j.typeLabel(); got != tc.want {
			t.Errorf("%s %q: %q, want %q", tc.subject, tc.eventType, got, tc.want)
		}
	}
}
