package stack_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/careclock/careclock/codecserver"
	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/workflows"
)

// The dev stack's UI asks for its password, and its codec (on the UI's origin, where the UI is
// told to find it) turns a journey's stored ciphertext back into its input for whoever has it.
func TestUIPasswordAndCodec(t *testing.T) {
	s := startStack(t, func(o *stack.Options) { o.UIPort = 0 })
	today := testPolicy().Today(time.Now())
	send(t, s, "ui-1", events.ReimbursementSubmitted, map[string]any{"claimId": "CLM-UI-1", "memberId": "M-UI-1",
		"submittedDate": today.String(), "amountCents": 700, "category": "parking"})
	waitAcked(t, s.JS, 1)
	h := runHistory(t, s, workflows.WorkflowID(s.Keyer, workflows.JourneyReimbursement, "CLM-UI-1"), "")
	input := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetInput()
	body, err := protojson.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte("M-UI-1")) {
		t.Fatal("the stored input is not encrypted")
	}
	password, err := os.ReadFile(s.UIPasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path string, body []byte, withPassword bool) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, s.UIURL()+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if withPassword {
			req.SetBasicAuth("operator", strings.TrimSpace(string(password)))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}
	req, err := http.NewRequest(http.MethodGet, s.UIURL()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The browser's prompt names the real file, not a placeholder.
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), s.UIPasswordFile) {
		t.Errorf("UI without the password: %d, %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if code, b := do(http.MethodGet, "/api/v1/settings", nil, true); code != http.StatusOK || !strings.Contains(string(b), `"Endpoint":"`+codecserver.CodecPath+`"`) {
		t.Errorf("UI settings with the password: %d %s; want the codec endpoint %s", code, b, codecserver.CodecPath)
	}
	if code, b := do(http.MethodPost, codecserver.CodecPath+"/decode", body, false); code != http.StatusUnauthorized || bytes.Contains(b, []byte("M-UI-1")) {
		t.Errorf("codec without the password: %d %s", code, b)
	}
	code, b := do(http.MethodPost, codecserver.CodecPath+"/decode", body, true)
	var decoded commonpb.Payloads
	if err := protojson.Unmarshal(b, &decoded); code != http.StatusOK || err != nil {
		t.Fatalf("codec with the password: %d %s %v", code, b, err)
	}
	if !bytes.Contains(decoded.GetPayloads()[0].GetData(), []byte(`"memberId":"M-UI-1"`)) {
		t.Errorf("decoded input %s", decoded.GetPayloads()[0].GetData())
	}

	// As the temporal CLI calls it (docs/clients.md): --codec-endpoint UI/codec and
	// --codec-auth "Bearer TOKEN", which it sends as the Authorization header, with X-Namespace.
	req, err = http.NewRequest(http.MethodPost, s.UIURL()+codecserver.CodecPath+"/decode", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(password)))
	req.Header.Set("X-Namespace", s.Temporal.Namespace())
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, err := io.ReadAll(resp.Body); err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"payloads"`)) {
		t.Errorf("codec with a bearer token: %d %s %v", resp.StatusCode, b, err)
	}
}
