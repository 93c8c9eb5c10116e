// compose-config loads Compose files the way `docker compose config` does, with no Docker:
// compose-go's loader (the library Compose itself is built on) validates against the Compose
// schema, interpolates variables from the environment and .env, merges, normalises, resolves
// relative paths against the project directory (the first file's folder) and checks that every
// reference (depends_on, networks, volumes) resolves. On success it prints the normalised model;
// on an invalid file it prints the loader's error and exits 1.
//
//	go run . [-format yaml|json] [FILE ...]   # no FILE: compose.yaml, docker-compose.yml, ... in the working directory
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	format := flag.String("format", "yaml", "output format: yaml or json")
	flag.Parse()
	if *format != "yaml" && *format != "json" {
		fail(fmt.Errorf("unsupported format %q: yaml or json", *format))
	}

	options, err := cli.NewProjectOptions(flag.Args(),
		cli.WithOsEnv,
		cli.WithDotEnv,
		cli.WithDefaultConfigPath,
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}

	var out []byte
	if *format == "json" {
		out, err = project.MarshalJSON()
	} else {
		out, err = project.MarshalYAML()
	}
	if err != nil {
		fail(err)
	}
	os.Stdout.Write(out)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
