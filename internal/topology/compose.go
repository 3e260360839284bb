package topology

import (
	"context"
	"errors"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// What the harness changes between docker-compose.yml and processes on one host, and nothing
// else: every service gets its own loopback ports for the ports it listens on in its container,
// host names become 127.0.0.1, and each mount becomes a folder (named volumes under
// Dir/volumes, bind mounts the repository's own files) seen at the same path under the
// process's own root folder. A value the rewrite leaves naming a compose host or 0.0.0.0 is an
// error: docker-compose.yml has grown something the harness does not run.

// listens is the ports each service listens on in its container.
var listens = map[string][]int{
	"postgresql": {5432}, "temporal": {7233}, "temporal-ui": {8080}, "codec": {8080},
	"nats-1": {4222, 8222, 6222}, "nats-2": {4222, 8222, 6222}, "nats-3": {4222, 8222, 6222},
	"worker": {9464}, "listener": {9465},
}

// loadCompose loads docker-compose.yml with compose's own loader, as `docker compose` would
// with env set.
func loadCompose(ctx context.Context, file string, env map[string]string) (*types.Project, error) {
	var pairs []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		pairs = append(pairs, k+"="+env[k])
	}
	opts, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithEnv(pairs),
		cli.WithProfiles([]string{"tools"}),
		cli.WithResolvedPaths(true))
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(ctx)
}

// instance is one process of a service (a service with replicas has several): its ports and its
// root folder.
type instance struct {
	service string
	name    string
	ports   map[int]int // container port → loopback port
	root    string
}

// rewriter turns a service's configuration into its process's.
type rewriter struct {
	t       *Topology
	inst    *instance
	service types.ServiceConfig
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// freePort finds a free loopback port below 32768: the Temporal server keeps its membership
// ports in a PostgreSQL smallint, which the kernel's ephemeral ports overflow.
// A port is given out once per test process, so that two services never draw the same one
// before either listens on it.
func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		port := 20000 + mrand.IntN(12000)
		if portsGiven[port] {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		if err := l.Close(); err != nil {
			return 0, err
		}
		portsGiven[port] = true
		return port, nil
	}
	return 0, errors.New("no free loopback port between 20000 and 32000")
}

// newInstance gives a service's process its ports and its root folder, with a link at each
// mount's path to the folder or file it stands for.
func (t *Topology) newInstance(service, name string) (*instance, error) {
	s, ok := t.project.Services[service]
	if !ok {
		return nil, fmt.Errorf("docker-compose.yml has no service %q", service)
	}
	in := &instance{service: service, name: name, ports: map[int]int{}, root: filepath.Join(t.Dir, name, "root")}
	for _, cp := range listens[service] {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		in.ports[cp] = p
	}
	for _, v := range s.Volumes {
		var local string
		switch v.Type {
		case types.VolumeTypeBind:
			local = v.Source
		case types.VolumeTypeVolume:
			local = filepath.Join(t.Dir, "volumes", v.Source)
			if err := os.MkdirAll(local, 0o755); err != nil {
				return nil, err
			}
			if v.Volume != nil && v.Volume.Subpath != "" {
				// One file or folder of the volume (a service's own secrets): the link stands
				// for it, whether or not it exists yet.
				local = filepath.Join(local, filepath.FromSlash(v.Volume.Subpath))
			}
		default:
			return nil, fmt.Errorf("%s: a %s mount at %s", service, v.Type, v.Target)
		}
		at := filepath.Join(in.root, v.Target)
		if err := os.MkdirAll(filepath.Dir(at), 0o755); err != nil {
			return nil, err
		}
		if err := os.Symlink(local, at); err != nil {
			return nil, err
		}
	}
	t.instances[name] = in
	return in, nil
}

// owner is the one instance of a service other than in's that listens on container port p.
func (r rewriter) owner(p int) (int, bool) {
	found, n := 0, 0
	for _, other := range r.t.instances {
		if other.service == r.inst.service {
			continue
		}
		if lp, ok := other.ports[p]; ok {
			found = lp
			n++
		}
	}
	return found, n == 1
}

// value rewrites one environment value, argument or configuration text.
func (r rewriter) value(key, v string) (string, error) {
	if _, ok := r.t.project.Services[v]; ok && (strings.HasSuffix(key, "_HOST") || strings.HasSuffix(key, "_SEEDS")) {
		return "127.0.0.1", nil // a host name alone (POSTGRES_SEEDS, SQL_HOST)
	}
	if v == "0.0.0.0" {
		return "127.0.0.1", nil // BIND_ON_IP
	}
	if strings.HasSuffix(key, "_PORT") {
		if n, err := strconv.Atoi(v); err == nil {
			if lp, ok := r.inst.ports[n]; ok {
				return strconv.Itoa(lp), nil
			}
			if lp, ok := r.owner(n); ok {
				return strconv.Itoa(lp), nil
			}
		}
	}
	var pairs []string
	for cp, lp := range r.inst.ports {
		pairs = append(pairs, "0.0.0.0:"+strconv.Itoa(cp), "127.0.0.1:"+strconv.Itoa(lp))
		// Inside its container, 127.0.0.1 is the service itself (its health check).
		pairs = append(pairs, "127.0.0.1:"+strconv.Itoa(cp), "127.0.0.1:"+strconv.Itoa(lp))
	}
	for _, other := range r.t.instances {
		if other.name != other.service {
			continue // replicas are not addressed by name
		}
		for cp, lp := range other.ports {
			pairs = append(pairs, other.service+":"+strconv.Itoa(cp), "127.0.0.1:"+strconv.Itoa(lp))
		}
	}
	v = strings.NewReplacer(pairs...).Replace(v)
	// Paths under a mount point: the same path under the process's root folder.
	targets := make([]string, 0, len(r.service.Volumes))
	for _, m := range r.service.Volumes {
		targets = append(targets, m.Target)
	}
	slices.SortFunc(targets, func(a, b string) int { return len(b) - len(a) })
	for _, target := range targets {
		re := regexp.MustCompile(`(^|[\s"'=:])` + regexp.QuoteMeta(target) + `([/\s"']|$)`)
		v = re.ReplaceAllString(v, "${1}"+filepath.Join(r.inst.root, target)+"${2}")
	}
	if err := r.unmapped(v); err != nil {
		return "", fmt.Errorf("%s: %s: %w", r.inst.name, key, err)
	}
	return v, nil
}

// unmapped is an error if v still names a compose host or every interface.
func (r rewriter) unmapped(v string) error {
	if strings.Contains(v, "0.0.0.0") {
		return fmt.Errorf("%q listens on every interface after the rewrite", v)
	}
	for name := range r.t.project.Services {
		if regexp.MustCompile(`(^|[^\w-])` + regexp.QuoteMeta(name) + `:\d`).MatchString(v) {
			return fmt.Errorf("%q names the compose host %s, which the harness does not map", v, name)
		}
	}
	return nil
}

// environment is a service's environment for its process: the container's, rewritten, with
// PATH and HOME of the host and extra additions.
func (r rewriter) environment(extra map[string]string) ([]string, error) {
	env := []string{"PATH=" + r.t.opts.Bin + ":" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for _, k := range slices.Sorted(maps.Keys(r.service.Environment)) {
		v := r.service.Environment[k]
		if v == nil {
			continue
		}
		local, err := r.value(k, *v)
		if err != nil {
			return nil, err
		}
		env = append(env, k+"="+local)
	}
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		env = append(env, k+"="+extra[k])
	}
	return env, nil
}

// args rewrites a list of arguments.
func (r rewriter) args(in []string) ([]string, error) {
	out := make([]string, len(in))
	for i, a := range in {
		var err error
		if out[i], err = r.value("", a); err != nil {
			return nil, err
		}
	}
	return out, nil
}
