package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// NATSAuthConf renders a NATS server authorization block with one nkey user per role, each with
// its permissions from NATSPermissions: what a NATS server outside the dev stack includes, so
// that its accounts are the code's. publicKeys maps each role to its user's public nkey; every
// role must have one.
func NATSAuthConf(publicKeys map[string]string) ([]byte, error) {
	return NATSAuthConfWith(publicKeys, Systems{})
}

// NATSAuthConfWith is NATSAuthConf with a user for each of the deployment's systems too, with its
// own permissions (Systems.Permissions).
func NATSAuthConfWith(publicKeys map[string]string, sys Systems) ([]byte, error) {
	var b strings.Builder
	b.WriteString("# careclock's NATS users: one nkey per role, with the permissions in config/natsauth.go,\n")
	b.WriteString("# and one per system of the deployment's systems file (config/systems.go).\n")
	b.WriteString("# Written by `starter secrets`; edit the code, not this file.\n")
	b.WriteString("authorization {\n  users = [\n")
	for _, role := range append(slices.Clone(Roles), sys.Roles()...) {
		key := publicKeys[role]
		if !strings.HasPrefix(key, "U") {
			return nil, fmt.Errorf("NATS role %s: want a user public nkey (U…), got %q", role, key)
		}
		p, err := NATSPermissions(role)
		if err != nil {
			p, err = sys.Permissions(role)
		}
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "    # %s\n    {nkey: %s, permissions: {publish: {allow: %s}, subscribe: {allow: %s}}}\n",
			role, strconv.Quote(key), confList(p.Publish), confList(p.Subscribe))
	}
	b.WriteString("  ]\n}\n")
	return []byte(b.String()), nil
}

func confList(subjects []string) string {
	quoted := make([]string, len(subjects))
	for i, s := range subjects {
		quoted[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}
