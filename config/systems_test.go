package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeSystems(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "systems.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A producer may publish only its types' subjects and is taken only from its source; a reader may
// use only the consumer of its own name.
func TestSystemsPermissions(t *testing.T) {
	s, err := LoadSystems(writeSystems(t, `{"producers": [{"name": "claims", "source": "urn:plan:claims", "types": ["reimbursement.submitted", "reimbursement.paid"]}],
		"readers": [{"name": "letters"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Roles(); !slices.Equal(got, []string{"producer-claims", "reader-letters"}) {
		t.Errorf("roles %v", got)
	}
	p, err := s.Permissions("producer-claims")
	if err != nil || !slices.Equal(p.Publish, []string{"enrollment.reimbursement.submitted", "enrollment.reimbursement.paid"}) ||
		!slices.Equal(p.Subscribe, []string{"_INBOX_producer-claims.>"}) {
		t.Errorf("producer: %+v %v", p, err)
	}
	r, err := s.Permissions("reader-letters")
	if err != nil {
		t.Fatal(err)
	}
	for _, subject := range r.Publish {
		if strings.Contains(subject, "CONSUMER") && !strings.Contains(subject, ".JOURNEYS.letters") {
			t.Errorf("reader may use %s, not only its own consumer", subject)
		}
	}
	if !slices.Contains(r.Subscribe, "journeys.>") {
		t.Errorf("reader cannot read journey events: %v", r.Subscribe)
	}
	for _, c := range []struct {
		typ, source string
		want        bool
	}{
		{"reimbursement.paid", "urn:plan:claims", true},
		{"reimbursement.paid", "urn:plan:enrollment", false},
		{"member.disenrolled", "urn:plan:claims", false},
	} {
		if got := s.Allows(c.typ, c.source); got != c.want {
			t.Errorf("%s from %s: %v", c.typ, c.source, got)
		}
	}
	if !(Systems{}).Allows("member.disenrolled", "anyone") {
		t.Error("without producers listed, any source is taken")
	}
	conf, err := NATSAuthConfWith(map[string]string{
		RoleListener: "UA", RoleWorker: "UB", RoleReader: "UC", RoleProducer: "UD", RoleAdmin: "UE", RoleAuditor: "UH", "producer-claims": "UF", "reader-letters": "UG",
	}, s)
	if err != nil || !strings.Contains(string(conf), `{nkey: "UF", permissions: {publish: {allow: ["enrollment.reimbursement.submitted", "enrollment.reimbursement.paid"]}`) {
		t.Errorf("authorization: %v\n%s", err, conf)
	}
}

func TestSystemsFileRefusedWithTheEntryNamed(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"producers": [{"name": "Claims", "source": "s", "types": ["reimbursement.paid"]}]}`, `producers[0].name "Claims"`},
		{`{"producers": [{"name": "claims", "types": ["reimbursement.paid"]}]}`, "producers[0].source: required"},
		{`{"producers": [{"name": "claims", "source": "s", "types": ["reimbursement.lost"]}]}`, `"reimbursement.lost" is not an inbound event type`},
		{`{"producers": [{"name": "claims", "source": "s", "types": []}]}`, "producers[0].types"},
		{`{"readers": [{"name": "letters"}, {"name": "letters"}]}`, `readers[1].name "letters": named twice`},
		{`{"readers": [], "writers": []}`, "unknown field"},
	} {
		_, err := LoadSystems(writeSystems(t, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.body, err, c.want)
		}
	}
}
