package access

import (
	"crypto/x509/pkix"
	"strings"
	"testing"
)

// What each role may call in namespace careclock, the calls the issue names first: a role
// that is refused says which role and which call.
func TestEachRoleMayOnlyWhatItsProgramNeeds(t *testing.T) {
	ns := "careclock"
	start := Call{Method: "StartWorkflowExecution", Namespace: ns, Access: Write}
	signal := Call{Method: "SignalWorkflowExecution", Namespace: ns, Access: Write}
	signalStart := Call{Method: "SignalWithStartWorkflowExecution", Namespace: ns, Access: Write}
	terminate := Call{Method: "TerminateWorkflowExecution", Namespace: ns, Access: Write}
	reset := Call{Method: "ResetWorkflowExecution", Namespace: ns, Access: Write}
	update := Call{Method: "UpdateWorkflowExecution", Namespace: ns, Access: Write}
	poll := Call{Method: "PollWorkflowTaskQueue", Namespace: ns, Access: Write}
	query := Call{Method: "QueryWorkflow", Namespace: ns, Access: Read}
	list := Call{Method: "ListWorkflowExecutions", Namespace: ns, Access: Read}
	register := Call{Method: "RegisterNamespace", Namespace: ns, Access: Administer}
	addAttributes := Call{Method: "AddSearchAttributes", Namespace: ns, Access: Administer}
	systemInfo := Call{Method: "GetSystemInfo", Cluster: true, Access: Read}
	clusterWrite := Call{Method: "AddOrUpdateRemoteCluster", Cluster: true, Access: Administer}
	otherNamespace := Call{Method: "ListWorkflowExecutions", Namespace: "temporal-system", Access: Read}
	unknown := Call{Method: "SomethingNew", Namespace: ns}

	calls := []Call{start, signal, signalStart, terminate, reset, update, poll, query, list, register, addAttributes, systemInfo, clusterWrite, otherNamespace, unknown}
	allowed := map[Role][]Call{
		Admin:    calls,
		Worker:   {start, signal, signalStart, terminate, reset, update, poll, query, list, systemInfo},
		Listener: {start, signal, signalStart, query, list, systemInfo},
		Operator: {update, query, list, systemInfo},
		UI:       {query, list, systemInfo},
		"":       nil,
		"guest":  nil,
	}
	for role, want := range allowed {
		for _, c := range calls {
			ok, why := role.May(c, ns)
			if ok != contains(want, c) {
				t.Errorf("%q %s in %q: allowed %v (%s), want %v", role, c.Method, c.Namespace, ok, why, !ok)
			}
			if !ok && !strings.Contains(why, c.Method) && !strings.Contains(why, string(role)) && c.Namespace == ns {
				t.Errorf("%q %s refused for %q, which names neither", role, c.Method, why)
			}
		}
	}
	if _, why := UI.May(terminate, ns); why != "role ui may not TerminateWorkflowExecution" {
		t.Errorf("ui terminate: %q", why)
	}
	if _, why := Role("").May(start, ns); !strings.Contains(why, "needs a client certificate naming a role") {
		t.Errorf("no role: %q", why)
	}
}

func contains(calls []Call, c Call) bool {
	for _, x := range calls {
		if x == c {
			return true
		}
	}
	return false
}

func TestRoleOfACertificateIsItsOneOrganizationalUnit(t *testing.T) {
	for _, tc := range []struct {
		subject pkix.Name
		want    Role
		err     string
	}{
		{pkix.Name{CommonName: "careclock-ui", OrganizationalUnit: []string{"ui"}}, UI, ""},
		{pkix.Name{CommonName: "ops-jane", OrganizationalUnit: []string{"operator"}}, Operator, ""},
		{pkix.Name{CommonName: "temporal-internode"}, "", "names 0 organizational units"},
		{pkix.Name{CommonName: "x", OrganizationalUnit: []string{"ui", "admin"}}, "", "names 2 organizational units"},
		{pkix.Name{CommonName: "x", OrganizationalUnit: []string{"Admin"}}, "", `"Admin", which is not a role`},
	} {
		got, err := RoleOf(tc.subject)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%+v: %q, %v; want %q, %q", tc.subject, got, err, tc.want, tc.err)
		}
	}
}
