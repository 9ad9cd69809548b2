// Command pulumi-resource-kubernetes serves the Pulumi Kubernetes provider.
//
// Same as upstream's cmd/pulumi-resource-kubernetes/main.go
// (github.com/pulumi/pulumi-kubernetes/provider/v4), whose embedded files are generated at
// build time: run `go run ./gen` first (the testenv build script does).
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
