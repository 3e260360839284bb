// Command temporal-server is the Temporal server of careclock's production topology: the server
// of the go.temporal.io/server module go.mod pins, configured as its image is (the embedded
// template over the environment), with careclock's authorization. Every client must present a
// certificate from the deployment's CA; its role (package access) decides what it may call.
// It refuses to start unless the frontend and the internode connections require client
// certificates and the internal frontend serves the server's own calls.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	_ "time/tzdata" // the image has no zone files

	"github.com/alecthomas/kong"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/server/common/api"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql" // compose's database
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/temporal"

	"github.com/careclock/careclock/access"
)

type commandLine struct {
	Namespace string   `env:"TEMPORAL_NAMESPACE" default:"careclock" help:"The namespace of careclock's journeys: the only one its roles (but admin) may use."`
	Services  []string `env:"TEMPORAL_SERVICES" default:"frontend,internal-frontend,history,matching,worker" help:"The server's services to run."`

	Start struct{} `cmd:"" help:"Start the server, configured from the environment as the temporalio/server image is (docs/security.md lists careclock's settings)."`
}

func main() {
	var cli commandLine
	kong.Parse(&cli, kong.Name("temporal-server"),
		kong.Description("The Temporal server with careclock's authorization: mutual TLS, and each client certificate's role allowed only what it needs (docs/security.md)."))
	if err := start(cli); err != nil {
		fmt.Fprintln(os.Stderr, "temporal-server:", err)
		os.Exit(1)
	}
}

func start(cli commandLine) error {
	cfg, err := config.Load(config.WithEmbedded())
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if err := requireIdentity(cfg, cli.Services); err != nil {
		return err
	}
	logger := log.NewZapLogger(log.BuildZapLogger(cfg.Log))
	logger.Info("careclock authorization", tag.NewStringTag("namespace", cli.Namespace))
	s, err := temporal.NewServer(
		temporal.ForServices(cli.Services),
		temporal.WithConfig(cfg),
		temporal.WithLogger(logger),
		temporal.InterruptOn(temporal.InterruptCh()),
		temporal.WithAuthorizer(authorizer{namespace: cli.Namespace}),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper{} }),
	)
	if err != nil {
		return fmt.Errorf("create the server: %w", err)
	}
	return s.Start() // until interrupted
}

// requireIdentity refuses a configuration in which a client could reach the server without a
// certificate, or the server's own calls would need a role.
func requireIdentity(cfg *config.Config, services []string) error {
	var problems []error
	tls := cfg.Global.TLS
	if !tls.Frontend.Server.RequireClientAuth || len(tls.Frontend.Server.ClientCAFiles)+len(tls.Frontend.Server.ClientCAData) == 0 {
		problems = append(problems, errors.New("the frontend must require client certificates: set TEMPORAL_TLS_REQUIRE_CLIENT_AUTH=true, TEMPORAL_TLS_FRONTEND_CERT, TEMPORAL_TLS_FRONTEND_KEY and TEMPORAL_TLS_CLIENT1_CA_CERT"))
	}
	if !tls.Internode.Server.RequireClientAuth || tls.Internode.Server.CertFile == "" && tls.Internode.Server.CertData == "" {
		problems = append(problems, errors.New("the internode connections must require client certificates: set TEMPORAL_TLS_SERVER_CERT, TEMPORAL_TLS_SERVER_KEY and TEMPORAL_TLS_SERVER_CA_CERT"))
	}
	if _, ok := cfg.Services[string(primitives.InternalFrontendService)]; !ok || !slices.Contains(services, string(primitives.InternalFrontendService)) {
		problems = append(problems, errors.New("the server's own calls must go through the internal frontend: set USE_INTERNAL_FRONTEND=true and run the internal-frontend service"))
	}
	if len(problems) > 0 {
		return fmt.Errorf("careclock's Temporal server authorizes by client certificate:\n%w", errors.Join(problems...))
	}
	return nil
}

// principalType is the kind of principal careclock's claim mapper names.
const principalType = "certificate"

// claimMapper takes a client's role from its verified certificate (access.RoleOf). A client
// without one gets no role, so every call but a health check is refused with the reason.
type claimMapper struct{}

func (claimMapper) GetClaims(info *authorization.AuthInfo) (*authorization.Claims, error) {
	if info == nil || info.TLSSubject == nil {
		return &authorization.Claims{}, nil
	}
	claims := &authorization.Claims{Subject: info.TLSSubject.CommonName, AuthType: principalType}
	if role, err := access.RoleOf(*info.TLSSubject); err == nil {
		claims.Extensions = role
	}
	return claims, nil
}

// authorizer allows a call when the caller's role may make it (access.Role.May).
type authorizer struct{ namespace string }

func (a authorizer) Authorize(_ context.Context, claims *authorization.Claims, target *authorization.CallTarget) (authorization.Result, error) {
	if authorization.IsHealthCheckAPI(target.APIName) {
		return authorization.Result{Decision: authorization.DecisionAllow}, nil
	}
	if internal(claims) {
		return authorization.Result{Decision: authorization.DecisionAllow}, nil
	}
	var role access.Role
	var subject string
	if claims != nil {
		role, _ = claims.Extensions.(access.Role)
		subject = claims.Subject
	}
	ok, why := role.May(call(target), a.namespace)
	if !ok {
		return authorization.Result{Decision: authorization.DecisionDeny, Reason: why}, nil
	}
	return authorization.Result{Decision: authorization.DecisionAllow, Principal: &commonpb.Principal{Type: principalType, Name: subject}}, nil
}

// internal tells the claims of the server's own calls, which only the internal frontend gives
// (to a client with the internode certificate); careclock's claim mapper never does.
func internal(c *authorization.Claims) bool {
	return c != nil && c.AuthType == authorization.InternalPrincipalType && c.System == authorization.RoleAdmin
}

// call describes a request as the server's API metadata classifies it.
func call(t *authorization.CallTarget) access.Call {
	md := api.GetMethodMetadata(t.APIName)
	c := access.Call{Method: api.MethodName(t.APIName), Namespace: t.Namespace, Cluster: md.Scope == api.ScopeCluster}
	switch md.Access {
	case api.AccessReadOnly:
		c.Access = access.Read
	case api.AccessWrite:
		c.Access = access.Write
	case api.AccessAdmin:
		c.Access = access.Administer
	}
	if c.Method == "" {
		c.Method = t.APIName
	}
	return c
}
