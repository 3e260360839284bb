// Package connect builds careclock's clients and connections from its configuration: the
// Temporal client, the NATS connection of a role, the streams and search attributes, the
// metrics endpoint, and the start-up that the worker, the listener and the dev stack share.
package connect

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/metrics"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/workflows"
)

// TemporalOptions returns the client options of the SDK's envconfig (TEMPORAL_TLS_*,
// TEMPORAL_API_KEY, TEMPORAL_PROFILE and the config file), with the address and namespace of
// cfg when given, and careclock's logger.
func TemporalOptions(cfg config.Config, l zerolog.Logger) (client.Options, error) {
	// The client certificate's key is a secret like any other: refused if others may read it.
	if key := os.Getenv("TEMPORAL_TLS_CLIENT_KEY_PATH"); key != "" {
		if _, err := privacy.ReadSecretFile(key); err != nil {
			return client.Options{}, fmt.Errorf("temporal client key: %w", err)
		}
	}
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal client configuration: %w", err)
	}
	opts.HostPort = cmp.Or(cfg.TemporalAddress, opts.HostPort)
	opts.Namespace = cmp.Or(cfg.TemporalNamespace, opts.Namespace)
	opts.Logger = config.SDKLogger(l)
	return opts, nil
}

// ClientOptions are TemporalOptions with careclock's payload encryption: every payload the
// client writes (workflow inputs, signals, query answers, activity arguments, summaries) and the
// message and stack of every failure are encrypted with the keyring's current key.
func ClientOptions(cfg config.Config, l zerolog.Logger) (client.Options, error) {
	opts, err := TemporalOptions(cfg, l)
	if err != nil {
		return client.Options{}, err
	}
	ring, err := cfg.Keyring(false)
	if err != nil {
		return client.Options{}, err
	}
	Encrypt(&opts, ring)
	return opts, nil
}

// Encrypt sets the client's data and failure converters to encrypt with ring, and to refuse a
// payload that is not encrypted with one of its keys (privacy.Codec.EncryptedOnly).
func Encrypt(opts *client.Options, ring privacy.Keyring) {
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), privacy.Codec{Keys: ring, EncryptedOnly: true})
	opts.DataConverter = dc
	opts.FailureConverter = temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter: dc, EncodeCommonAttributes: true,
	})
}

// Temporal connects to Temporal with ClientOptions, reporting the SDK's metrics to m (nil:
// none).
func Temporal(ctx context.Context, cfg config.Config, l zerolog.Logger, m *metrics.Metrics) (client.Client, error) {
	opts, err := ClientOptions(cfg, l)
	if err != nil {
		return nil, err
	}
	opts.MetricsHandler = m.SDK()
	return Dial(ctx, opts)
}

// Dial connects to Temporal with options already loaded.
func Dial(ctx context.Context, opts client.Options) (client.Client, error) {
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s: %w", hostPort(opts), err)
	}
	return c, nil
}

func hostPort(o client.Options) string {
	if o.HostPort == "" {
		return client.DefaultHostPort
	}
	return o.HostPort
}

// NATS connects to NATS as role (RoleWorker, …) with reconnects for ever: a NATS restart
// pauses careclock, it does not stop it. Replies come to the role's own inbox prefix.
//
// While the connection is down a publish fails at once instead of waiting in the client's
// reconnect buffer: the caller retries it (Temporal retries the publish activity with backoff;
// the listener leaves the event unacknowledged), so nothing sits in a process's memory where a
// crash would lose it, and an outage shows as errors, not as calls that hang.
func NATS(c config.Config, role string, l zerolog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	opts := []nats.Option{
		nats.Name("careclock-" + role),
		nats.CustomInboxPrefix(config.InboxPrefix(role)),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if nc.IsClosed() {
				l.Debug().Msg("nats connection closed") // the process's own clean exit
				return
			}
			l.Warn().AnErr("error", err).Msg("nats disconnected")
		}),
		nats.ReconnectHandler(func(*nats.Conn) { l.Info().Msg("nats reconnected") }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			l.Error().Err(err).Msg("nats")
		}),
	}
	seed := c.NATSNKeySeed
	if seed == "" && c.NATSCreds == "" && c.DataDir != "" {
		if dev := c.Dev().NATSSeeds[role]; fileExists(dev) {
			seed = dev
		}
	}
	switch {
	case c.NATSCreds != "":
		if _, err := privacy.ReadSecretFile(c.NATSCreds); err != nil {
			return nil, nil, fmt.Errorf("nats credentials: %w", err)
		}
		opts = append(opts, nats.UserCredentials(c.NATSCreds))
	case seed != "":
		if _, err := privacy.ReadSecretFile(seed); err != nil {
			return nil, nil, fmt.Errorf("nats nkey seed: %w", err)
		}
		opt, err := nats.NkeyOptionFromSeed(seed)
		if err != nil {
			return nil, nil, fmt.Errorf("nats nkey seed: %w", err)
		}
		opts = append(opts, opt)
	}
	if c.NATSCAFile != "" {
		opts = append(opts, nats.RootCAs(c.NATSCAFile))
	}
	if c.NATSCertFile != "" {
		opts = append(opts, nats.ClientCert(c.NATSCertFile, c.NATSKeyFile))
	}
	nc, err := nats.Connect(c.NATSURL, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to nats at %s as %s: %w", c.NATSURL, role, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// EnsureSearchAttributes registers careclock's custom search attributes in the namespace, adding
// only those that are missing.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, k := range workflows.SearchAttributes {
		if _, ok := have.GetCustomAttributes()[k.GetName()]; !ok {
			missing[k.GetName()] = k.GetValueType()
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}

// EnsureNamespace registers the namespace with the given retention of closed journeys'
// histories when it does not exist, and reports whether it did. An existing namespace is left
// as it is.
func EnsureNamespace(ctx context.Context, c client.Client, namespace string, retention time.Duration) (bool, error) {
	_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	var notFound *serviceerror.NamespaceNotFound
	switch {
	case err == nil:
		return false, nil
	case !errors.As(err, &notFound):
		return false, fmt.Errorf("describe namespace %s: %w", namespace, err)
	}
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        namespace,
		Description:                      "careclock journeys",
		WorkflowExecutionRetentionPeriod: durationpb.New(retention),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return false, fmt.Errorf("register namespace %s: %w", namespace, err)
	}
	return err == nil, nil
}
