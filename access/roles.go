// Package access is who may do what on careclock's Temporal frontend. Every client presents a
// certificate from the deployment's CA (mutual TLS); the certificate's organizational unit names
// its role and its common name the holder. A role is allowed only what its program needs:
//
//   - worker: everything in careclock's namespace but its administration (it runs the journeys);
//   - listener: read the namespace, start and signal journeys;
//   - operator: read the namespace, and update a journey (starter replan);
//   - ui: read the namespace;
//   - admin: everything (starter setup registers the namespace and its search attributes).
//
// The Temporal server careclock runs in production (./temporal-server) maps a certificate to its
// role and asks May before every call; docs/security.md says why certificates and not tokens.
package access

import (
	"crypto/x509/pkix"
	"fmt"
	"slices"
	"strings"
)

// Role is what a client certificate allows.
type Role string

// The roles, one certificate each from starter secrets.
const (
	Admin    Role = "admin"
	Worker   Role = "worker"
	Listener Role = "listener"
	Operator Role = "operator"
	UI       Role = "ui"
)

// Roles are every role, in the order starter secrets issues their certificates.
var Roles = []Role{Admin, Worker, Listener, Operator, UI}

// RoleOf is the role a client certificate's subject names: its one organizational unit, which
// must be a role. A certificate without one (the Temporal server's own) has no role.
func RoleOf(subject pkix.Name) (Role, error) {
	if len(subject.OrganizationalUnit) != 1 {
		return "", fmt.Errorf("certificate %q names %d organizational units; careclock's roles need exactly one of %s", subject.CommonName, len(subject.OrganizationalUnit), roleNames())
	}
	r := Role(subject.OrganizationalUnit[0])
	if !slices.Contains(Roles, r) {
		return "", fmt.Errorf("certificate %q names the organizational unit %q, which is not a role (%s)", subject.CommonName, r, roleNames())
	}
	return r, nil
}

func roleNames() string {
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// Access is what a call does, as the Temporal server classifies its API.
type Access int

// The kinds of call.
const (
	Read Access = iota + 1
	Write
	Administer
)

// Call is one request to the Temporal frontend.
type Call struct {
	// Method is the API's short name: StartWorkflowExecution, TerminateWorkflowExecution, ….
	Method string
	// Namespace is the request's namespace; "" for a call about the cluster.
	Namespace string
	// Cluster is true for a call about the cluster (GetSystemInfo, ListNamespaces).
	Cluster bool
	Access  Access
}

// writes are the write calls allowed to the roles that write only some things.
var writes = map[Role][]string{
	Listener: {"StartWorkflowExecution", "SignalWorkflowExecution", "SignalWithStartWorkflowExecution"},
	Operator: {"UpdateWorkflowExecution"},
}

// May tells whether r may make c in a deployment whose journeys live in namespace, and if not,
// why, in words an operator can act on.
func (r Role) May(c Call, namespace string) (bool, string) {
	if r == Admin {
		return true, ""
	}
	if r == "" {
		return false, fmt.Sprintf("%s needs a client certificate naming a role (%s)", c.Method, roleNames())
	}
	if !slices.Contains(Roles, r) {
		return false, fmt.Sprintf("%q is not a role (%s)", r, roleNames())
	}
	if c.Access == Administer {
		return false, fmt.Sprintf("role %s may not %s: only admin administers", r, c.Method)
	}
	if c.Cluster {
		if c.Access == Read {
			return true, ""
		}
		return false, fmt.Sprintf("role %s may not %s on the cluster", r, c.Method)
	}
	if c.Namespace != namespace {
		return false, fmt.Sprintf("role %s is for namespace %s, not %q", r, namespace, c.Namespace)
	}
	switch {
	case c.Access == Read:
		return true, ""
	case c.Access == Write && r == Worker:
		return true, ""
	case c.Access == Write && slices.Contains(writes[r], c.Method):
		return true, ""
	}
	return false, fmt.Sprintf("role %s may not %s", r, c.Method)
}
