package main

import (
	"context"
	"crypto/x509/pkix"
	"strings"
	"testing"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
)

const prefix = "/temporal.api.workflowservice.v1.WorkflowService/"

// The server's own API metadata meets careclock's roles: a certificate's role decides, a
// client without one may only ask for health, and a refusal says why.
func TestTheAuthorizerAsksTheRoleOfTheCertificate(t *testing.T) {
	a := authorizer{namespace: "careclock"}
	claims := func(ou ...string) *authorization.Claims {
		c, err := claimMapper{}.GetClaims(&authorization.AuthInfo{TLSSubject: &pkix.Name{CommonName: "careclock-x", OrganizationalUnit: ou}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	noCert, err := claimMapper{}.GetClaims(&authorization.AuthInfo{AuthToken: "Basic b3BlcmF0b3I6c2VjcmV0"})
	if err != nil {
		t.Fatal(err)
	}
	// What the internal frontend gives the server's own calls (its scanners, its schedules).
	internalClaims, err := authorization.NewInternalClaimMapper().GetClaims(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		who    string
		claims *authorization.Claims
		api    string
		ns     string
		allow  bool
		reason string
	}{
		{"ui", claims("ui"), "StartWorkflowExecution", "careclock", false, "role ui may not StartWorkflowExecution"},
		{"ui", claims("ui"), "SignalWorkflowExecution", "careclock", false, "role ui may not SignalWorkflowExecution"},
		{"ui", claims("ui"), "TerminateWorkflowExecution", "careclock", false, "role ui may not TerminateWorkflowExecution"},
		{"ui", claims("ui"), "DescribeWorkflowExecution", "careclock", true, ""},
		{"ui", claims("ui"), "GetSystemInfo", "", true, ""},
		{"listener", claims("listener"), "SignalWithStartWorkflowExecution", "careclock", true, ""},
		{"listener", claims("listener"), "TerminateWorkflowExecution", "careclock", false, "role listener may not TerminateWorkflowExecution"},
		{"listener", claims("listener"), "StartWorkflowExecution", "default", false, "role listener is for namespace careclock"},
		{"operator", claims("operator"), "UpdateWorkflowExecution", "careclock", true, ""},
		{"operator", claims("operator"), "PollWorkflowExecutionUpdate", "careclock", true, ""},
		{"operator", claims("operator"), "ResetWorkflowExecution", "careclock", false, "role operator may not ResetWorkflowExecution"},
		{"worker", claims("worker"), "PollActivityTaskQueue", "careclock", true, ""},
		{"worker", claims("worker"), "RegisterNamespace", "careclock", false, "only admin administers"},
		{"admin", claims("admin"), "RegisterNamespace", "careclock", true, ""},
		{"no role", claims(), "StartWorkflowExecution", "careclock", false, "needs a client certificate naming a role"},
		{"a token, no certificate", noCert, "QueryWorkflow", "careclock", false, "needs a client certificate naming a role"},
		{"nothing", nil, "StartWorkflowExecution", "careclock", false, "needs a client certificate naming a role"},
		{"nothing", nil, "/grpc.health.v1.Health/Check", "", true, ""},
		{"the server itself", internalClaims, "StartWorkflowExecution", "temporal-system", true, ""},
	} {
		api := tc.api
		if !strings.HasPrefix(api, "/") {
			api = prefix + api
		}
		got, err := a.Authorize(context.Background(), tc.claims, &authorization.CallTarget{APIName: api, Namespace: tc.ns})
		if err != nil {
			t.Fatal(err)
		}
		if (got.Decision == authorization.DecisionAllow) != tc.allow || !strings.Contains(got.Reason, tc.reason) {
			t.Errorf("%s %s in %q: %+v, want allowed %v (%q)", tc.who, tc.api, tc.ns, got, tc.allow, tc.reason)
		}
		if tc.allow && tc.claims != nil && tc.claims != internalClaims && !authorization.IsHealthCheckAPI(api) && got.Principal.GetName() != "careclock-x" {
			t.Errorf("%s %s: principal %v", tc.who, tc.api, got.Principal)
		}
	}
}

// The server refuses to start where a client could reach it without a certificate.
func TestTheServerRefusesToRunWithoutClientCertificates(t *testing.T) {
	t.Setenv("DB", "postgres12")
	t.Setenv("POSTGRES_SEEDS", "127.0.0.1")
	cfg, err := config.Load(config.WithEmbedded())
	if err != nil {
		t.Fatal(err)
	}
	err = requireIdentity(cfg, []string{"frontend", "history", "matching", "worker"})
	for _, want := range []string{"TEMPORAL_TLS_REQUIRE_CLIENT_AUTH=true", "TEMPORAL_TLS_SERVER_CERT", "USE_INTERNAL_FRONTEND=true"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the image's defaults: %v, want it to name %s", err, want)
		}
	}
	for _, kv := range [][2]string{
		{"TEMPORAL_TLS_REQUIRE_CLIENT_AUTH", "true"}, {"USE_INTERNAL_FRONTEND", "true"},
		{"TEMPORAL_TLS_FRONTEND_CERT", "/s/f.pem"}, {"TEMPORAL_TLS_FRONTEND_KEY", "/s/f.key"},
		{"TEMPORAL_TLS_CLIENT1_CA_CERT", "/s/ca.pem"}, {"TEMPORAL_TLS_CLIENT2_CA_CERT", "/s/ca.pem"},
		{"TEMPORAL_TLS_SERVER_CERT", "/s/i.pem"}, {"TEMPORAL_TLS_SERVER_KEY", "/s/i.key"}, {"TEMPORAL_TLS_SERVER_CA_CERT", "/s/ca.pem"},
	} {
		t.Setenv(kv[0], kv[1])
	}
	if cfg, err = config.Load(config.WithEmbedded()); err != nil {
		t.Fatal(err)
	}
	if err := requireIdentity(cfg, []string{"frontend", "internal-frontend", "history", "matching", "worker"}); err != nil {
		t.Errorf("compose's settings: %v", err)
	}
	if err := requireIdentity(cfg, []string{"frontend", "history", "matching", "worker"}); err == nil || !strings.Contains(err.Error(), "internal-frontend") {
		t.Errorf("without the internal frontend's service: %v", err)
	}
}
