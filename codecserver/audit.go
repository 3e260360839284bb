package codecserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/careclock/careclock/events"
)

// Access is the audit record of one decode of PHI for a person: who, which journey (its
// workflow id, a keyed hash), when, from where, and how many payloads. It holds no PHI.
type Access struct {
	Time       time.Time `json:"time"`
	Person     string    `json:"person"`
	Subject    string    `json:"subject"`
	Namespace  string    `json:"namespace,omitempty"`
	WorkflowID string    `json:"workflowId,omitempty"`
	From       string    `json:"from"`
	Payloads   int       `json:"payloads"`
}

// Recorder keeps an access durably.
type Recorder interface {
	Record(ctx context.Context, a Access) error
}

// Audited serves the codec to signed-in persons (SignIn.Protect) and answers a decode only once
// its access is recorded: a decode that cannot be recorded shows nothing (503). The journey is
// the UI page that asked (its Referer: /namespaces/NS/workflows/ID/…).
func Audited(codec http.Handler, rec Recorder, now func() time.Time, log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/decode") {
			codec.ServeHTTP(w, r)
			return
		}
		person, ok := PersonFrom(r.Context())
		if !ok {
			http.Error(w, "unauthorized: sign in", http.StatusUnauthorized)
			return
		}
		buf := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		codec.ServeHTTP(buf, r)
		if buf.status == http.StatusOK {
			var answer struct{ Payloads []json.RawMessage }
			if err := json.Unmarshal(buf.body.Bytes(), &answer); err != nil {
				http.Error(w, "decode answer unreadable", http.StatusInternalServerError)
				return
			}
			a := Access{Time: now().UTC(), Person: person.Name, Subject: person.Subject, Namespace: r.Header.Get("X-Namespace"),
				From: from(r), Payloads: len(answer.Payloads)}
			a.Namespace, a.WorkflowID = journeyOf(r.Referer(), a.Namespace)
			if err := rec.Record(r.Context(), a); err != nil {
				log.Error().Err(err).Str("person", person.Name).Msg("an access could not be recorded: nothing decoded shown")
				http.Error(w, "the access could not be recorded: try again", http.StatusServiceUnavailable)
				return
			}
		}
		for k, v := range buf.header {
			w.Header()[k] = v
		}
		w.WriteHeader(buf.status)
		if _, err := w.Write(buf.body.Bytes()); err != nil {
			log.Debug().Err(err).Msg("decode answer not delivered")
		}
	})
}

// journeyOf reads the namespace and workflow id from a UI page's URL
// (/namespaces/NS/workflows/ID/RUN/…); ns when the page names none.
func journeyOf(page, ns string) (string, string) {
	u, err := url.Parse(page)
	if err != nil {
		return ns, ""
	}
	parts := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	for i := 0; i+3 < len(parts); i++ {
		if parts[i] == "namespaces" && parts[i+2] == "workflows" {
			name, err1 := url.PathUnescape(parts[i+1])
			id, err2 := url.PathUnescape(parts[i+3])
			if err1 == nil && err2 == nil {
				return name, id
			}
		}
	}
	return ns, ""
}

// from is where a request came from: the proxies' X-Forwarded-For, then the peer.
func from(r *http.Request) string {
	if f := r.Header.Get("X-Forwarded-For"); f != "" {
		return f + ", " + r.RemoteAddr
	}
	return r.RemoteAddr
}

type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) WriteHeader(status int)      { b.status = status }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }

// StreamRecorder records accesses on the AUDIT stream, each acknowledged by JetStream (stored
// on a quorum) before the decode is answered.
type StreamRecorder struct{ JS jetstream.JetStream }

// Record publishes a on events.AuditDecodeSubject and waits for its acknowledgement.
func (s StreamRecorder) Record(ctx context.Context, a Access) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.JS.Publish(ctx, events.AuditDecodeSubject, b); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}
