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
	// `go mod download -json` fetches the module into GOMODCACHE when it is not there yet and prints
	// where it is. (`go list -m -f {{.Dir}}` prints an empty Dir on a cold module cache, which is how
	// a fresh machine failed with "open cmd/pulumi-resource-kubernetes/schema.json".)
	out, err := exec.Command("go", "mod", "download", "-json", module).Output()
	if err != nil {
		log.Fatalf("go mod download %s: %v", module, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		log.Fatalf("go mod download %s: %v", module, err)
	}
	if info.Error != "" || info.Dir == "" {
		log.Fatalf("go mod download %s: no module directory (%s)", module, info.Error)
	}
	src := filepath.Join(info.Dir, "cmd", "pulumi-resource-kubernetes")
	dst := filepath.Join("cmd", "pulumi-resource-kubernetes")
	minify(filepath.Join(src, "schema.json"), filepath.Join(dst, "schema-embed.json"),
		func(doc map[string]any) { doc["version"] = version })
	minify(filepath.Join(src, "terraform-mapping.json"), filepath.Join(dst, "terraform-mapping-embed.json"), nil)
}
