package config

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kong"
	"github.com/willabides/kongplete"
)

// CommandLine is a program's command line: a struct that embeds Config, with the program's own
// flags and commands beside it.
type CommandLine interface{ Settings() *Config }

// Parse reads the program's command line into cli from os.Args, the environment and the declared
// defaults, then checks the configuration. `-h` prints the generated help and exits 0; a usage
// or configuration error is printed with every problem at once, and exits 2.
func Parse(cli CommandLine, name, description string, options ...kong.Option) *kong.Context {
	ctx, err := ParseArgs(cli, name, description, os.Args[1:], os.Stdout, func(code int) { os.Exit(code) }, options...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		if ctx != nil && ctx.Command() == "" {
			fmt.Fprintf(os.Stderr, "run %s -h for help\n", name)
		}
		os.Exit(2)
	}
	return ctx
}

// ParseArgs is Parse with its arguments, help output and exit given (tests call it).
func ParseArgs(cli CommandLine, name, description string, args []string, out io.Writer, exit func(int), options ...kong.Option) (*kong.Context, error) {
	options = append([]kong.Option{kong.Name(name), kong.Description(description), kong.Writers(out, out), kong.Exit(exit),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, FlagsLast: true})}, options...)
	k, err := kong.New(cli, options...)
	if err != nil {
		return nil, fmt.Errorf("command line: %w", err) // a declaration bug, caught by the tests
	}
	// A shell asking for completions (complete -C, which sets COMP_LINE) gets them and the
	// program exits; otherwise this does nothing.
	kongplete.Complete(k, kongplete.WithExitFunc(exit))
	unsetEmpty(k.Model.Node)
	ctx, err := k.Parse(args)
	if err != nil {
		return ctx, err
	}
	cfg := cli.Settings()
	onCommandLine := map[*kong.Flag]bool{}
	for _, el := range ctx.Path {
		if el.Flag != nil {
			onCommandLine[el.Flag] = true
		}
	}
	cfg.given = map[string]bool{}
	for _, f := range ctx.Flags() {
		for _, env := range f.Tag.Envs {
			cfg.given[env] = onCommandLine[f] || os.Getenv(env) != ""
		}
	}
	if err := errors.Join(cfg.resolve(), cfg.check()); err != nil {
		return ctx, fmt.Errorf("configuration:\n%w", err)
	}
	return ctx, nil
}

// FromEnv reads the configuration from the environment and the defaults alone (for programs
// without a command line of their own, and tests).
func FromEnv() (Config, error) {
	var c Config
	_, err := ParseArgs(&c, "careclock", "", nil, io.Discard, func(int) {})
	return c, err
}

// unsetEmpty unsets the declared variables that are set to the empty string: careclock has
// always read those as unset, and a compose file's `NATS_URL: ""` means the default, not "".
func unsetEmpty(n *kong.Node) {
	for _, f := range n.Flags {
		for _, env := range f.Tag.Envs {
			if v, ok := os.LookupEnv(env); ok && v == "" {
				_ = os.Unsetenv(env) // cannot fail on a name that is set
			}
		}
	}
}

// Declared lists the declared settings, in the order of the Config struct.
func Declared() ([]*kong.Flag, error) {
	var c Config
	k, err := kong.New(&c, kong.Exit(func(int) {}))
	if err != nil {
		return nil, err
	}
	var flags []*kong.Flag
	for _, f := range k.Model.Flags {
		if len(f.Tag.Envs) > 0 && !f.Hidden {
			flags = append(flags, f)
		}
	}
	return flags, nil
}
