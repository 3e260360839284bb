package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"

	"github.com/careclock/careclock/events"
)

// Systems are the deployment's upstream and downstream systems (docs/security.md, NATS roles per
// system), from the file CARECLOCK_SYSTEMS_FILE names: each producer gets a NATS user of its own
// that may publish only its event types, and the listener takes an event only from the CloudEvent
// source of a producer allowed its type; each reader gets a user that may read journey events and
// use only the consumer of its own name.
type Systems struct {
	Producers []Producer `json:"producers"`
	Readers   []Reader   `json:"readers"`
}

// Producer is an upstream system: its name, the CloudEvent source its events carry, and the
// inbound event types it may send.
type Producer struct {
	Name   string   `json:"name"`
	Source string   `json:"source"`
	Types  []string `json:"types"`
}

// Reader is a downstream system (member letters, a work queue, reporting): its durable consumer on
// JOURNEYS is named after it.
type Reader struct {
	Name string `json:"name"`
}

var systemName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

// LoadSystems reads and checks a systems file; every error names the entry.
func LoadSystems(path string) (Systems, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Systems{}, fmt.Errorf("systems file: %w", err)
	}
	var s Systems
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Systems{}, fmt.Errorf("systems file %s: %w", path, err)
	}
	if err := s.validate(); err != nil {
		return Systems{}, fmt.Errorf("systems file %s: %w", path, err)
	}
	return s, nil
}

func (s Systems) validate() error {
	var errs []error
	names := map[string]bool{}
	name := func(kind string, i int, n string) {
		if !systemName.MatchString(n) {
			errs = append(errs, fmt.Errorf("%s[%d].name %q: want lower-case letters, digits and dashes, starting with a letter", kind, i, n))
		}
		if names[kind+n] {
			errs = append(errs, fmt.Errorf("%s[%d].name %q: named twice", kind, i, n))
		}
		names[kind+n] = true
	}
	for i, p := range s.Producers {
		name("producers", i, p.Name)
		if p.Source == "" {
			errs = append(errs, fmt.Errorf("producers[%d].source: required (the CloudEvent source its events carry)", i))
		}
		if len(p.Types) == 0 {
			errs = append(errs, fmt.Errorf("producers[%d].types: name the event types it may send", i))
		}
		for _, t := range p.Types {
			if !events.Known(t) {
				errs = append(errs, fmt.Errorf("producers[%d].types: %q is not an inbound event type", i, t))
			}
		}
	}
	for i, r := range s.Readers {
		name("readers", i, r.Name)
	}
	return errors.Join(errs...)
}

// ProducerRole and ReaderRole are the NATS roles of a system's user.
func ProducerRole(name string) string { return RoleProducer + "-" + name }
func ReaderRole(name string) string   { return RoleReader + "-" + name }

// Roles are the NATS roles of the systems' users, producers first.
func (s Systems) Roles() []string {
	var out []string
	for _, p := range s.Producers {
		out = append(out, ProducerRole(p.Name))
	}
	for _, r := range s.Readers {
		out = append(out, ReaderRole(r.Name))
	}
	return out
}

// Permissions returns a system role's NATS permissions: a producer may publish its event types'
// subjects only; a reader may read journey events and create, use and delete only the consumer of
// JOURNEYS named after it.
func (s Systems) Permissions(role string) (Permissions, error) {
	inbox := []string{InboxPrefix(role) + ".>"}
	for _, p := range s.Producers {
		if ProducerRole(p.Name) == role {
			var subjects []string
			for _, t := range p.Types {
				subjects = append(subjects, events.Subject(t))
			}
			return Permissions{Publish: subjects, Subscribe: inbox}, nil
		}
	}
	for _, r := range s.Readers {
		if ReaderRole(r.Name) == role {
			j, c := events.JourneyStream, r.Name
			return Permissions{Publish: []string{
				"$JS.API.INFO", "$JS.API.STREAM.INFO." + j,
				"$JS.API.CONSUMER.CREATE." + j + "." + c, "$JS.API.CONSUMER.CREATE." + j + "." + c + ".>",
				"$JS.API.CONSUMER.DURABLE.CREATE." + j + "." + c, "$JS.API.CONSUMER.INFO." + j + "." + c,
				"$JS.API.CONSUMER.DELETE." + j + "." + c, "$JS.API.CONSUMER.MSG.NEXT." + j + "." + c,
				"$JS.ACK." + j + "." + c + ".>",
			}, Subscribe: append([]string{events.JourneySubjects}, inbox...)}, nil
		}
	}
	return Permissions{}, fmt.Errorf("no system has the NATS role %q", role)
}

// Allows reports whether an event of type t from source may be taken: with no producers listed,
// any; else only from the source of a producer allowed t.
func (s Systems) Allows(t, source string) bool {
	if len(s.Producers) == 0 {
		return true
	}
	return slices.ContainsFunc(s.Producers, func(p Producer) bool { return p.Source == source && slices.Contains(p.Types, t) })
}
