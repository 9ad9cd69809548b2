// Command etcd runs a single-member etcd for the live tests' API server.
//
// It accepts the few flags the test fixture passes (a subset of etcd's own flags, same names):
// --data-dir, --listen-client-urls, --advertise-client-urls, --listen-peer-urls,
// --initial-advertise-peer-urls, --name. It is a thin wrapper around
// go.etcd.io/etcd/server/v3/embed (https://pkg.go.dev/go.etcd.io/etcd/server/v3/embed).
package main

import (
	"flag"
	"log"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func urls(s string) []url.URL {
	var out []url.URL
	for _, part := range strings.Split(s, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil {
			log.Fatalf("bad URL %q: %v", part, err)
		}
		out = append(out, *u)
	}
	return out
}

func main() {
	dataDir := flag.String("data-dir", "default.etcd", "data directory")
	name := flag.String("name", "default", "member name")
	listenClient := flag.String("listen-client-urls", "http://127.0.0.1:2379", "client URLs to listen on")
	advertiseClient := flag.String("advertise-client-urls", "", "client URLs to advertise (default: listen URLs)")
	listenPeer := flag.String("listen-peer-urls", "http://127.0.0.1:2380", "peer URLs to listen on")
	advertisePeer := flag.String("initial-advertise-peer-urls", "", "peer URLs to advertise (default: listen URLs)")
	quotaBytes := flag.Int64("quota-backend-bytes", 0, "backend quota (0: etcd default)")
	unsafeNoFsync := flag.Bool("unsafe-no-fsync", false, "disable fsync (tests only)")
	version := flag.Bool("version", false, "print the etcd server version and exit")
	flag.Parse()
	if *version {
		printVersion()
		return
	}

	cfg := embed.NewConfig()
	cfg.Name = *name
	cfg.Dir = *dataDir
	cfg.ListenClientUrls = urls(*listenClient)
	if *advertiseClient == "" {
		*advertiseClient = *listenClient
	}
	cfg.AdvertiseClientUrls = urls(*advertiseClient)
	cfg.ListenPeerUrls = urls(*listenPeer)
	if *advertisePeer == "" {
		*advertisePeer = *listenPeer
	}
	cfg.AdvertisePeerUrls = urls(*advertisePeer)
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.QuotaBackendBytes = *quotaBytes
	cfg.UnsafeNoFsync = *unsafeNoFsync
	cfg.LogLevel = "warn"

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatalf("start etcd: %v", err)
	}
	defer e.Close()
	select {
	case <-e.Server.ReadyNotify():
		log.Printf("etcd ready, serving clients on %s", *listenClient)
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		log.Fatal("etcd did not become ready within 60s")
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-e.Err():
		log.Fatalf("etcd: %v", err)
	case <-sig:
		log.Print("etcd stopping")
	}
}
