package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/careclock/careclock/codecserver"
	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/events"
)

// audit answers from the AUDIT stream who saw a journey, or what a person saw: every decode of
// PHI the front recorded for a signed-in operator.
type auditCmd struct {
	WorkflowID string `name:"workflow-id" placeholder:"ID" help:"Who saw this journey (its workflow id, as list, find and describe show it)."`
	Person     string `name:"person" placeholder:"NAME" help:"What this person saw (the name the sign-in provider gave: an email)."`
	CSV        bool   `name:"csv" help:"CSV instead of a table."`
}

func (c auditCmd) Run(cfg *config.Config, st *streams) error {
	if c.WorkflowID == "" && c.Person == "" {
		return errors.New("give --workflow-id (who saw this journey), --person (what this person saw), or both")
	}
	nc, js, err := connect.NATS(*cfg, config.RoleAdmin, cfg.Logger("starter"))
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	accesses, err := readAccesses(ctx, js, func(a codecserver.Access) bool {
		return (c.WorkflowID == "" || a.WorkflowID == c.WorkflowID) && (c.Person == "" || a.Person == c.Person)
	})
	if err != nil {
		return err
	}
	return writeAccesses(st.out, accesses, c.CSV)
}

// readAccesses reads every access recorded on the AUDIT stream that keep takes, oldest first.
func readAccesses(ctx context.Context, js jetstream.JetStream, keep func(codecserver.Access) bool) ([]codecserver.Access, error) {
	var out []codecserver.Access
	err := events.ReadAll(ctx, js, events.AuditStream, []string{events.AuditDecodeSubject}, func(msg jetstream.Msg) error {
		var a codecserver.Access
		if err := json.Unmarshal(msg.Data(), &a); err != nil {
			return fmt.Errorf("an access on %s: %w", events.AuditStream, err)
		}
		if keep(a) {
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

func writeAccesses(w io.Writer, accesses []codecserver.Access, asCSV bool) error {
	header := []string{"time", "person", "namespace", "workflow id", "from", "payloads"}
	row := func(a codecserver.Access) []string {
		return []string{a.Time.UTC().Format(time.RFC3339), a.Person, a.Namespace, a.WorkflowID, a.From, strconv.Itoa(a.Payloads)}
	}
	if asCSV {
		cw := csv.NewWriter(w)
		if err := cw.Write(header); err != nil {
			return err
		}
		for _, a := range accesses {
			if err := cw.Write(row(a)); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	if len(accesses) == 0 {
		_, err := fmt.Fprintln(w, "no access recorded")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	rows := [][]string{header}
	for _, a := range accesses {
		rows = append(rows, row(a))
	}
	for _, cells := range rows {
		if _, err := fmt.Fprintln(tw, strings.Join(cells, "\t")); err != nil {
			return err
		}
	}
	return tw.Flush()
}
