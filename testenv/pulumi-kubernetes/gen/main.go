// Command gen writes cmd/pulumi-resource-kubernetes/{schema,terraform-mapping}-embed.json from the
// provider module's committed schema.json and terraform-mapping.json, setting the schema's version
// from $VERSION (what upstream's cmd/pulumi-resource-kubernetes/generate.go does).
package main

import (
	"encoding/json"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const module = "github.com/pulumi/pulumi-kubernetes/provider/v4"

func minify(src, dst string, edit func(map[string]any)) {
	raw, err := os.ReadFile(src)
	if err != nil {
		log.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		log.Fatalf("%s: %v", src, err)
	}
	if edit != nil {
		edit(doc)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		log.Fatal(err)
	}
}

func main() {
	version := os.Getenv("VERSION")
	if version == "" {
		log.Fatal("set VERSION to the provider version")
	}
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		log.Fatalf("go list -m %s: %v", module, err)
	}
	src := filepath.Join(strings.TrimSpace(string(dir)), "cmd", "pulumi-resource-kubernetes")
	dst := filepath.Join("cmd", "pulumi-resource-kubernetes")
	minify(filepath.Join(src, "schema.json"), filepath.Join(dst, "schema-embed.json"),
		func(doc map[string]any) { doc["version"] = version })
	minify(filepath.Join(src, "terraform-mapping.json"), filepath.Join(dst, "terraform-mapping-embed.json"), nil)
}
