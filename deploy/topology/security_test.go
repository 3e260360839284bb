package topology_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/careclock/careclock/access"
	"github.com/careclock/careclock/codecserver"
	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/internal/reliability"
	"github.com/careclock/careclock/internal/topology"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/oauth2-proxy/mockoidc"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
)

// docs/security.md, cross-site requests: through the topology's front, a POST that terminates a
// journey from a page of another site gets 403 and never reaches the Temporal UI, though the
// browser adds the operator's session; the same request without a browser's cross-origin
// headers reaches the UI (which refuses a write: its write actions are off).
func TestFrontRefusesACrossOriginTerminate(t *testing.T) {
	top := startTopology(t)
	browser := signIn(t, top, "jane.ops@plan.example")
	post := func(headers map[string]string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, top.FrontURL()+"/api/v1/namespaces/careclock/workflows/x/terminate", strings.NewReader(`{"reason":"csrf"}`))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := browser.Do(withCSRF(t, browser, req))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	for _, h := range []map[string]string{{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}} {
		if code, body := post(h); code != http.StatusForbidden || !strings.Contains(body, "cross-origin") {
			t.Errorf("POST with %v: %d %q, want 403 from the front", h, code, body)
		}
	}
	if code, body := post(nil); code != http.StatusMethodNotAllowed {
		t.Errorf("POST without a browser's headers: %d %q, want it passed to the UI, which refuses writes (405)", code, body)
	}
}

// withCSRF adds the Temporal UI's own CSRF token to req, as its pages do: the _csrf cookie the
// UI gave the browser, echoed in X-CSRF-Token.
func withCSRF(t *testing.T, browser *http.Client, req *http.Request) *http.Request {
	t.Helper()
	for _, c := range browser.Jar.Cookies(req.URL) {
		if c.Name == "_csrf" {
			req.Header.Set("X-CSRF-Token", c.Value)
			return req
		}
	}
	t.Fatal("the UI gave the browser no _csrf cookie")
	return nil
}

// signIn signs a person in to the topology's front through its test OpenID Connect provider, as
// a browser does (cookies, redirects), and returns that browser.
func signIn(t *testing.T, top *topology.Topology, email string) *http.Client {
	t.Helper()
	top.OIDC.QueueUser(&mockoidc.MockUser{Subject: "00u-" + strings.Split(email, "@")[0], Email: email, EmailVerified: true})
	browser := httpClient(t, top)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser.Jar = jar
	resp, err := browser.Get(top.FrontURL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("sign-in: %s at %s", resp.Status, resp.Request.URL)
	}
	return browser
}

// docs/operations.md, restoring: `secrets` over a deployment whose secrets volume was lost (the
// HMAC key and payload keyring gone, the NATS nodes' streams still there) refuses to create new
// keys, as compose runs it on every `up`; told to, it does.
func TestSecretsRefusesNewKeysOverTheRunningDeployment(t *testing.T) {
	top := startTopology(t)
	path, args, err := top.SecretsCommand()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"hmac.key", "codec.keys"} {
		if err := os.Remove(filepath.Join(top.Secrets(), f)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "a deployment exists") || !strings.Contains(string(out), "JOURNEYS") {
		t.Fatalf("secrets over the deployment: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(top.Secrets(), "hmac.key")); !os.IsNotExist(err) {
		t.Fatalf("a new HMAC key was written anyway: %v", err)
	}
	if out, err := exec.Command(path, append(args, "--new-keys-over-existing-data")...).CombinedOutput(); err != nil {
		t.Fatalf("secrets told to: %v\n%s", err, out)
	}
}

// docs/security.md, encrypted-only: a client allowed to start and signal (the listener's
// certificate) but without careclock's keys cannot start or steer a journey. Its plaintext start fails at once with the reason; its
// plaintext signal to a running journey is refused (listed by describe), and the journey goes on:
// the payment sent the right way closes it.
func TestPlaintextStartAndSignalAreRefused(t *testing.T) {
	top := startTopology(t)
	c := dialCluster(t, top)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The listener's certificate, which may start and signal, without the payload keys.
	opts, err := top.TemporalOptions(access.Listener)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()

	// A forged start: a reimbursement journey's input, in plaintext.
	raw, err := json.Marshal(map[string]any{"specversion": "1.0", "id": "forged-1", "source": "forger", "type": events.ReimbursementSubmitted,
		"data": map[string]any{"claimId": "CLM-FORGED", "memberId": "M-FORGED", "submittedDate": c.today.String(), "amountCents": 1, "category": "tolls"}})
	if err != nil {
		t.Fatal(err)
	}
	ev, payload, err := events.Decode(raw, c.today)
	if err != nil {
		t.Fatal(err)
	}
	route, err := workflows.RouteEvent(ev, payload, c.keyer, rules.DefaultBook())
	if err != nil {
		t.Fatal(err)
	}
	s := route.Starts[0]
	run, err := plain.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: s.WorkflowID, TaskQueue: c.cfg.TaskQueue}, s.Journey, s.Input)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err == nil {
		t.Fatal("a plaintext start ran")
	}
	// The reason is encrypted like any failure: the operator's client reads it, the forger's not.
	if err := c.c.GetWorkflow(ctx, s.WorkflowID, run.GetRunID()).Get(ctx, nil); err == nil || !strings.Contains(err.Error(), "not encrypted") {
		t.Fatalf("a plaintext start: %v, want it failed as not encrypted", err)
	}

	// A journey started the right way, then a forged payment in plaintext.
	body, _ := reliability.OverdueClaim(c.keyer, "clm-real", "CLM-REAL", c.today)
	c.send(t, events.Subject(events.ReimbursementSubmitted), "clm-real", body)
	id := workflows.WorkflowID(c.keyer, workflows.JourneyReimbursement, "CLM-REAL")
	reliability.WaitAcked(t, c.js, c.cfg.Consumer, 1, time.Minute)
	forged := events.Event{SpecVersion: "1.0", ID: "forged-paid", Source: "forger", Type: events.ReimbursementPaid,
		Data: json.RawMessage(`{"claimId":"CLM-REAL","paidDate":"` + c.today.String() + `"}`)}
	if err := plain.SignalWorkflow(ctx, id, "", workflows.SignalEvent, forged); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		var view workflows.View[json.RawMessage]
		v, err := c.c.QueryWorkflow(ctx, id, "", workflows.QueryState)
		if err == nil {
			err = v.Get(&view)
		}
		if err == nil && len(view.Refused) == 1 && view.Status != workflows.StatusClosed {
			if !strings.Contains(view.Refused[0].Reason, "not encrypted") {
				t.Errorf("refused for %q", view.Refused[0].Reason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the forged payment: %+v, %v; want it refused and the journey open", view, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	paid, err := json.Marshal(map[string]any{"specversion": "1.0", "id": "paid-real", "source": "urn:plan:claims", "type": events.ReimbursementPaid,
		"data": map[string]any{"claimId": "CLM-REAL", "paidDate": c.today.String()}})
	if err != nil {
		t.Fatal(err)
	}
	c.send(t, events.Subject(events.ReimbursementPaid), "paid-real", paid)
	if err := c.c.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
		t.Fatalf("the journey after the forged signal: %v", err)
	}
}

// docs/security.md, Temporal with identity: a client without a certificate (in plaintext, or
// over TLS with none), or with the UI's, cannot start, signal or terminate a journey; the
// listener's may start and signal but not terminate; the UI, reached through the front with the
// operator's password, cannot terminate either. The journey runs on and closes the right way.
func TestTemporalAllowsEachCertificateOnlyItsRole(t *testing.T) {
	top := startTopology(t)
	c := dialCluster(t, top)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	body, _ := reliability.OverdueClaim(c.keyer, "clm-guarded", "CLM-GUARDED", c.today)
	c.send(t, events.Subject(events.ReimbursementSubmitted), "clm-guarded", body)
	id := workflows.WorkflowID(c.keyer, workflows.JourneyReimbursement, "CLM-GUARDED")
	reliability.WaitAcked(t, c.js, c.cfg.Consumer, 1, time.Minute)

	ui, err := top.TemporalOptions(access.UI)
	if err != nil {
		t.Fatal(err)
	}
	noCert := ui
	noCert.ConnectionOptions.TLS = noCert.ConnectionOptions.TLS.Clone()
	noCert.ConnectionOptions.TLS.Certificates = nil
	plaintext := ui
	plaintext.ConnectionOptions = client.ConnectionOptions{}
	listener, err := top.TemporalOptions(access.Listener)
	if err != nil {
		t.Fatal(err)
	}
	forged := events.Event{SpecVersion: "1.0", ID: "forged", Source: "forger", Type: events.ReimbursementPaid,
		Data: json.RawMessage(`{"claimId":"CLM-GUARDED","paidDate":"` + c.today.String() + `"}`)}
	type attempt struct {
		name string
		do   func(context.Context, client.Client) error
	}
	start := attempt{"start", func(ctx context.Context, k client.Client) error {
		_, err := k.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "forged-start", TaskQueue: c.cfg.TaskQueue}, workflows.JourneyReimbursement, nil)
		return err
	}}
	signal := attempt{"signal", func(ctx context.Context, k client.Client) error {
		return k.SignalWorkflow(ctx, id, "", workflows.SignalEvent, forged)
	}}
	terminate := attempt{"terminate", func(ctx context.Context, k client.Client) error { return k.TerminateWorkflow(ctx, id, "", "forged") }}
	for _, tc := range []struct {
		who      string
		opts     client.Options
		attempts []attempt
		want     string
	}{
		{"plaintext", plaintext, []attempt{start, signal, terminate}, ""},
		{"TLS without a certificate", noCert, []attempt{start, signal, terminate}, ""},
		{"the UI's certificate", ui, []attempt{start, signal, terminate}, "role ui may not"},
		{"the listener's certificate", listener, []attempt{terminate}, "role listener may not TerminateWorkflowExecution"},
	} {
		k, err := client.NewLazyClient(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range tc.attempts {
			// A client that cannot connect retries until its deadline.
			actx, acancel := context.WithTimeout(ctx, 5*time.Second)
			err := a.do(actx, k)
			acancel()
			var denied *serviceerror.PermissionDenied
			switch {
			case err == nil:
				t.Errorf("%s: %s succeeded", tc.who, a.name)
			case tc.want == "":
			case !errors.As(err, &denied) || !strings.Contains(denied.Reason, tc.want):
				t.Errorf("%s: %s failed with %v (%T), want permission denied: %q", tc.who, a.name, err, err, tc.want)
			}
		}
		k.Close()
	}

	// The internal frontend (where the server's own calls are system admin) trusts the internode
	// CA only: neither the admin's certificate nor plaintext reaches it.
	internal := top.InternalFrontendAddress()
	if internal == "" {
		t.Fatal("no internal frontend port")
	}
	admin, err := top.TemporalOptions(access.Admin)
	if err != nil {
		t.Fatal(err)
	}
	admin.HostPort = internal
	admin.ConnectionOptions.TLS = admin.ConnectionOptions.TLS.Clone()
	admin.ConnectionOptions.TLS.InsecureSkipVerify = true // whatever the server is: it must refuse the client
	plainInternal := admin
	plainInternal.ConnectionOptions = client.ConnectionOptions{}
	for name, o := range map[string]client.Options{"the admin's certificate": admin, "plaintext": plainInternal} {
		dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
		k, err := client.DialContext(dctx, o)
		dcancel()
		if err == nil {
			k.Close()
			t.Errorf("the internal frontend took a client with %s", name)
		}
	}

	// Through the front, same origin, signed in: the UI's write actions are off, so it refuses
	// the terminate itself (and its certificate could not, above).
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, top.FrontURL()+"/api/v1/namespaces/careclock/workflows/"+id+"/terminate", strings.NewReader(`{"reason":"from the UI"}`))
	if err != nil {
		t.Fatal(err)
	}
	browser := signIn(t, top, "jane.ops@plan.example")
	resp, err := browser.Do(withCSRF(t, browser, req))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("terminate through the UI: %d %s, want 405: the UI's write actions are off", resp.StatusCode, b)
	}

	desc, err := c.c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("the journey after the attempts: %s", st)
	}
	var view workflows.View[json.RawMessage]
	v, err := c.c.QueryWorkflow(ctx, id, "", workflows.QueryState)
	if err == nil {
		err = v.Get(&view)
	}
	if err != nil || len(view.Refused) != 0 {
		t.Fatalf("the journey took a signal: %+v, %v", view.Refused, err)
	}
	paid, err := json.Marshal(map[string]any{"specversion": "1.0", "id": "paid-guarded", "source": reliability.Source(events.ReimbursementPaid), "type": events.ReimbursementPaid,
		"data": map[string]any{"claimId": "CLM-GUARDED", "paidDate": c.today.String()}})
	if err != nil {
		t.Fatal(err)
	}
	c.send(t, events.Subject(events.ReimbursementPaid), "paid-guarded", paid)
	if err := c.c.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
		t.Fatalf("the journey, paid: %v", err)
	}
}

// docs/security.md, NATS roles per system: each system of deploy/systems.json connects with its
// own seed. The claims system can publish its own types only, and cannot read journey events;
// one downstream reader cannot delete another's consumer; and the listener dead-letters an event
// whose source is not that of a producer allowed its type.
func TestNATSRolesPerSystem(t *testing.T) {
	top := startTopology(t)
	c := dialCluster(t, top)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	connectAs := func(role string) jetstream.JetStream {
		t.Helper()
		seed := filepath.Join(top.Secrets(), "nats", role+".nk")
		opt, err := nats.NkeyOptionFromSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		nc, err := nats.Connect(top.NATSURLs(), opt, nats.RootCAs(top.CA()), nats.CustomInboxPrefix(config.InboxPrefix(role)), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
		if err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	// A refused request has no answer: each waits a few seconds only.
	short := func() context.Context {
		sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		t.Cleanup(cancel)
		return sctx
	}
	publish := func(js jetstream.JetStream, eventType, id string, data map[string]any) error {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err := js.Publish(pctx, events.Subject(eventType), reliability.Inbound(id, eventType, data), jetstream.WithMsgID(id))
		return err
	}
	claims := connectAs(config.ProducerRole("claims"))
	if err := publish(claims, events.ReimbursementSubmitted, "sys-claim-1", map[string]any{"claimId": "CLM-SYS-1", "memberId": "M-SYS-1",
		"submittedDate": c.today.String(), "amountCents": 100, "category": "tolls"}); err != nil {
		t.Fatalf("claims publishing a claim: %v", err)
	}
	if err := publish(claims, events.MemberDisenrolled, "sys-forged-1", map[string]any{"memberId": "M-SYS-1", "effectiveDate": c.today.String()}); err == nil {
		t.Error("claims published member.disenrolled")
	}
	if _, err := claims.CreateOrUpdateConsumer(short(), events.JourneyStream, jetstream.ConsumerConfig{Durable: "claims"}); err == nil {
		t.Error("claims made a consumer on JOURNEYS")
	}

	letters, reporting := connectAs(config.ReaderRole("letters")), connectAs(config.ReaderRole("reporting"))
	if _, err := reporting.CreateOrUpdateConsumer(ctx, events.JourneyStream, jetstream.ConsumerConfig{Durable: "reporting"}); err != nil {
		t.Fatalf("reporting's own consumer: %v", err)
	}
	if _, err := letters.CreateOrUpdateConsumer(ctx, events.JourneyStream, jetstream.ConsumerConfig{Durable: "letters"}); err != nil {
		t.Fatalf("letters' own consumer: %v", err)
	}
	if err := letters.DeleteConsumer(short(), events.JourneyStream, "reporting"); err == nil {
		t.Error("letters deleted reporting's consumer")
	}
	if _, err := letters.CreateOrUpdateConsumer(short(), events.JourneyStream, jetstream.ConsumerConfig{Durable: "reporting", Description: "taken over"}); err == nil {
		t.Error("letters took over reporting's consumer")
	}
	if _, err := c.js.Consumer(ctx, events.JourneyStream, "reporting"); err != nil {
		t.Errorf("reporting's consumer after letters tried: %v", err)
	}

	// A claim sent with the enrollment system's source (by a seed that may publish anything):
	// dead-lettered, the claim sent by claims applied.
	forged, err := json.Marshal(map[string]any{"specversion": "1.0", "id": "sys-forged-2", "source": "urn:plan:enrollment", "type": events.ReimbursementSubmitted,
		"data": map[string]any{"claimId": "CLM-SYS-2", "memberId": "M-SYS-2", "submittedDate": c.today.String(), "amountCents": 100, "category": "tolls"}})
	if err != nil {
		t.Fatal(err)
	}
	c.send(t, events.Subject(events.ReimbursementSubmitted), "sys-forged-2", forged)
	reliability.WaitAcked(t, c.js, c.cfg.Consumer, 2, time.Minute)
	dead := reliability.DeadLetters(t, c.js)
	if len(dead) != 1 || !strings.Contains(slices.Collect(maps.Values(dead))[0], "source is not that of a producer allowed reimbursement.submitted") {
		t.Errorf("dead letters %v, want the claim with the enrollment system's source", dead)
	}
}

// docs/security.md, TLS on every hop: each NATS node refuses a plaintext client on its client
// port (its INFO asks for TLS, and it closes a connection that goes on in plaintext) and a
// plaintext route on its route port (closed without a TLS handshake), and answers its
// monitoring port only over HTTPS with the deployment's certificate; the codec front and the UI
// server behind it answer plain HTTP with nothing but an error, and HTTPS with the CA's
// certificate.
func TestNATSAndHTTPSHopsRefusePlaintext(t *testing.T) {
	top := startTopology(t)
	plaintext := func(port int) string {
		t.Helper()
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(conn)
		info, err := r.ReadString('\n')
		if err != nil {
			// A route port waits for a TLS handshake, and closes the connection without one.
			return fmt.Sprintf("closed before its INFO (%v)", err)
		}
		if !strings.Contains(info, `"tls_required":true`) {
			t.Errorf("port %d does not require TLS: %s", port, info)
		}
		if _, err := conn.Write([]byte("CONNECT {\"verbose\":false}\r\nPING\r\n")); err != nil {
			return "write refused: " + err.Error()
		}
		answer, err := io.ReadAll(r)
		if strings.Contains(string(answer), "PONG") || err != nil {
			t.Errorf("port %d answered a plaintext client %q, or kept it open (%v)", port, answer, err)
		}
		return fmt.Sprintf("INFO asks for TLS, the connection closed after %q", answer)
	}
	https := func(name string, port int) {
		t.Helper()
		addr := "127.0.0.1:" + strconv.Itoa(port) + "/healthz"
		if resp, err := http.Get("http://" + addr); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Errorf("%s answered plain HTTP", name)
			}
		}
		resp, err := httpClient(t, top).Get("https://" + addr)
		if err != nil {
			t.Fatalf("%s over HTTPS: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s over HTTPS: %s", name, resp.Status)
		}
	}
	for _, node := range []string{"nats-1", "nats-2", "nats-3"} {
		t.Logf("%s client port, plaintext: %s", node, plaintext(top.Port(node, 4222)))
		t.Logf("%s route port, plaintext: %s", node, plaintext(top.Port(node, 6222)))
		https(node+" monitoring", top.Port(node, 8222))
	}
	https("the codec front", top.Port("codec", 8080))
	https("the UI server", top.Port("temporal-ui", 8080))
}

// docs/security.md, TLS on every hop: PostgreSQL refuses a client without TLS (pg_hba.conf has
// no entry for it) and takes one that verifies its certificate against the deployment's CA for
// the name it dials (sslmode=verify-full), as the Temporal server and its schema tool do.
func TestPostgreSQLRefusesPlaintext(t *testing.T) {
	top := startTopology(t)
	psqls, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
	if len(psqls) == 0 {
		t.Fatal("psql is not installed (Debian's postgresql package has it)")
	}
	psql := func(sslmode string) (string, error) {
		conn := fmt.Sprintf("host=127.0.0.1 port=%d user=temporal dbname=temporal sslmode=%s sslrootcert=%s", top.Port("postgresql", 5432), sslmode, top.CA())
		cmd := exec.Command(psqls[0], conn, "-Atc", "select ssl from pg_stat_ssl where pid = pg_backend_pid()")
		cmd.Env = append(os.Environ(), "PGPASSWORD="+top.PostgresPassword())
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := psql("disable"); err == nil || !strings.Contains(out, "no encryption") {
		t.Errorf("a plaintext client: %v %q, want refused (no pg_hba.conf entry, no encryption)", err, out)
	}
	if out, err := psql("verify-full"); err != nil || out != "t" {
		t.Errorf("a verify-full client: %v %q, want a TLS session", err, out)
	}
}

// httpClient is a client of the topology's HTTPS endpoints, trusting its CA.
func httpClient(t *testing.T, top *topology.Topology) *http.Client {
	t.Helper()
	c, err := top.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// docs/security.md, a person behind every access: an operator signed in through the plan's
// provider decodes a journey's start in the UI; `starter audit` lists that access with her name,
// by the journey and by her; once her session has been idle past CARECLOCK_SESSION_IDLE, a decode
// is refused and not recorded.
func TestEveryDecodeIsRecordedWithThePerson(t *testing.T) {
	top := startTopologyWith(t, map[string]string{"CARECLOCK_SESSION_IDLE": "10s"})
	c := dialCluster(t, top)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	body, _ := reliability.OverdueClaim(c.keyer, "clm-audit", "CLM-AUDIT", c.today)
	c.send(t, events.Subject(events.ReimbursementSubmitted), "clm-audit", body)
	id := workflows.WorkflowID(c.keyer, workflows.JourneyReimbursement, "CLM-AUDIT")
	reliability.WaitAcked(t, c.js, c.cfg.Consumer, 1, time.Minute)
	// The journey's start as Temporal stores it, and the UI asks the codec to decode it.
	history := c.c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	first, err := history.Next()
	if err != nil {
		t.Fatal(err)
	}
	stored, err := protojson.Marshal(first.GetWorkflowExecutionStartedEventAttributes().GetInput())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), "CLM-AUDIT") {
		t.Fatal("the stored input is not encrypted")
	}
	browser := signIn(t, top, "jane.ops@plan.example")
	page := top.FrontURL() + "/namespaces/careclock/workflows/" + url.PathEscape(id) + "/history"
	decode := func() (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, top.FrontURL()+codecserver.CodecPath+"/decode", bytes.NewReader(stored))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", "careclock")
		req.Header.Set("Referer", page)
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	code, out := decode()
	var decoded commonpb.Payloads
	if code != http.StatusOK || protojson.Unmarshal([]byte(out), &decoded) != nil || len(decoded.Payloads) != 1 ||
		!strings.Contains(string(decoded.Payloads[0].GetData()), "CLM-AUDIT") {
		t.Fatalf("decode signed in: %d %s", code, out)
	}
	audit := func(args ...string) string {
		t.Helper()
		out, err := c.starter(append([]string{"audit"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("starter audit %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := audit("--workflow-id", id); !strings.Contains(out, "jane.ops@plan.example") || !strings.Contains(out, id) || strings.Count(out, "\n") != 2 {
		t.Errorf("who saw the journey:\n%s", out)
	}
	rows, err := csv.NewReader(strings.NewReader(audit("--person", "jane.ops@plan.example", "--csv"))).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][1] != "jane.ops@plan.example" || rows[1][2] != "careclock" || rows[1][3] != id || rows[1][5] != "1" {
		t.Errorf("what she saw: %v %v", rows, err)
	}
	if out := audit("--person", "someone.else@plan.example"); !strings.Contains(out, "no access recorded") {
		t.Errorf("another person:\n%s", out)
	}
	time.Sleep(11 * time.Second)
	if code, out := decode(); code != http.StatusUnauthorized {
		t.Errorf("decode after the session was idle: %d %q, want 401", code, out)
	}
	if out := audit("--workflow-id", id); strings.Count(out, "\n") != 2 {
		t.Errorf("a refused decode was recorded:\n%s", out)
	}
}
