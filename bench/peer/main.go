// The go-control-plane peer of `npm run bench:xds`: serves the snapshots that
// meshplane's bench server built (read as encoded bytes from the files the
// bench writes) over ADS with go-control-plane's snapshot cache and SotW
// server, and reports the same figures as meshplane's bench server: time from
// a change to the last EDS ACK, CPU per response, RSS.
//
// Commands on stdin, one JSON object a line; events on stdout, the same way.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cache "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	server "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	// Register the Envoy resource types the snapshots carry.
	_ "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// The snapshot key is the node's cluster, as in meshplane's bench (node.cluster "gw/<k>").
type clusterHash struct{}

func (clusterHash) ID(n *core.Node) string { return n.GetCluster() }

var typeIndex = map[string]types.ResponseType{
	resource.ClusterType:  types.Cluster,
	resource.EndpointType: types.Endpoint,
	resource.ListenerType: types.Listener,
	resource.RouteType:    types.Route,
	resource.SecretType:   types.Secret,
}

type generation struct {
	snapshots map[string]*cache.Snapshot
	// EDS version per key: an EDS ACK with it counts for the change.
	eds map[string]string
}

type loadReport struct {
	Resources int `json:"resources"`
	// proto.Equal(what go-control-plane serves, what was loaded)
	Equal int `json:"equal"`
	// ... and byte-identical to meshplane's encoding
	Identical int `json:"identical"`
}

// load reads one generation written by bench/xds/snapshots.ts.
func load(path string) (*generation, loadReport, error) {
	var rep loadReport
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, rep, err
	}
	r := bytes.NewReader(raw)
	u32 := func() uint32 {
		var v uint32
		if err := binary.Read(r, binary.LittleEndian, &v); err != nil {
			panic(fmt.Errorf("%s: truncated: %w", path, err))
		}
		return v
	}
	blob := func() []byte {
		b := make([]byte, u32())
		if _, err := io.ReadFull(r, b); err != nil {
			panic(fmt.Errorf("%s: truncated: %w", path, err))
		}
		return b
	}
	str := func() string { return string(blob()) }
	if magic := string(blob()); magic != "meshplane-snapshots/1" {
		return nil, rep, fmt.Errorf("%s: not a snapshot file (%q)", path, magic)
	}
	g := &generation{snapshots: map[string]*cache.Snapshot{}, eds: map[string]string{}}
	for keys := u32(); keys > 0; keys-- {
		key := str()
		snap := &cache.Snapshot{}
		for typesLeft := u32(); typesLeft > 0; typesLeft-- {
			typeURL, version := str(), str()
			idx, ok := typeIndex[typeURL]
			if !ok {
				return nil, rep, fmt.Errorf("%s: unknown type %s", path, typeURL)
			}
			items := []types.Resource{}
			for n := u32(); n > 0; n-- {
				_, _ = str(), str() // name, resource version
				value := blob()
				msg, err := anypb.UnmarshalNew(&anypb.Any{TypeUrl: typeURL, Value: value}, proto.UnmarshalOptions{})
				if err != nil {
					return nil, rep, fmt.Errorf("%s: %s: %w", path, key, err)
				}
				// What go-control-plane will put on the wire for it.
				served, err := cache.MarshalResource(msg)
				if err != nil {
					return nil, rep, err
				}
				back := msg.ProtoReflect().New().Interface()
				if err := proto.Unmarshal(served, back); err != nil {
					return nil, rep, err
				}
				rep.Resources++
				if proto.Equal(back, msg) {
					rep.Equal++
				}
				if bytes.Equal(served, value) {
					rep.Identical++
				}
				items = append(items, msg)
			}
			snap.Resources[idx] = cache.NewResources(version, items)
			if typeURL == resource.EndpointType {
				g.eds[key] = version
			}
		}
		g.snapshots[key] = snap
	}
	return g, rep, nil
}

type waiting struct {
	expect  int64
	acked   map[int64]bool // streams that ACKed the change
	started time.Time
	cpu     time.Duration
	pushes  int64
	mem     runtime.MemStats
	eds     map[string]string
	done    chan struct{}
}

type peer struct {
	cache   cache.SnapshotCache
	pushes  atomic.Int64
	streams atomic.Int64
	mu      sync.Mutex
	wait    *waiting
	out     *json.Encoder
	outMu   sync.Mutex
}

func (p *peer) emit(v map[string]any) {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	_ = p.out.Encode(v)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func (p *peer) callbacks() server.Callbacks {
	return server.CallbackFuncs{
		StreamOpenFunc:   func(context.Context, int64, string) error { p.streams.Add(1); return nil },
		StreamClosedFunc: func(int64, *core.Node) { p.streams.Add(-1) },
		StreamRequestFunc: func(id int64, req *discovery.DiscoveryRequest) error {
			if req.GetTypeUrl() != resource.EndpointType || req.GetResponseNonce() == "" || req.GetErrorDetail() != nil {
				return nil
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			w := p.wait
			if w != nil && !w.acked[id] && w.eds[req.GetNode().GetCluster()] == req.GetVersionInfo() {
				w.acked[id] = true
				if int64(len(w.acked)) == w.expect {
					close(w.done)
				}
			}
			return nil
		},
		StreamResponseFunc: func(context.Context, int64, *discovery.DiscoveryRequest, *discovery.DiscoveryResponse) {
			p.pushes.Add(1)
		},
	}
}

func main() {
	p := &peer{cache: cache.NewSnapshotCache(true, clusterHash{}, nil), out: json.NewEncoder(os.Stdout)}
	gens := map[int]*generation{}
	ctx := context.Background()
	srv := server.NewServer(ctx, p.cache, p.callbacks())
	g := grpc.NewServer(
		grpc.MaxConcurrentStreams(1<<20),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.MaxRecvMsgSize(16<<20),
	)
	discovery.RegisterAggregatedDiscoveryServiceServer(g, srv)

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		var m struct {
			Cmd     string `json:"cmd"`
			Gen     int    `json:"gen"`
			Gens    []int  `json:"gens"`
			File    string `json:"file"`
			Clients int64  `json:"clients"`
		}
		if err := json.Unmarshal(in.Bytes(), &m); err != nil {
			p.emit(map[string]any{"event": "error", "message": err.Error()})
			continue
		}
		switch m.Cmd {
		case "listen":
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				p.emit(map[string]any{"event": "error", "message": err.Error()})
				os.Exit(1)
			}
			go func() { _ = g.Serve(lis) }()
			p.emit(map[string]any{"event": "listening", "port": lis.Addr().(*net.TCPAddr).Port})
		case "load":
			gen, rep, err := load(m.File)
			if err != nil {
				p.emit(map[string]any{"event": "error", "message": err.Error()})
				os.Exit(1)
			}
			gens[m.Gen] = gen
			p.emit(map[string]any{"event": "loaded", "gen": m.Gen, "resources": rep.Resources, "equal": rep.Equal, "identical": rep.Identical})
		case "set", "change":
			// "change" applies one or more generations back to back and reports
			// when every proxy has ACKed the endpoints of the last one.
			list := m.Gens
			if len(list) == 0 {
				list = []int{m.Gen}
			}
			started, cpu, pushes := time.Now(), cpuTime(), p.pushes.Load()
			var w *waiting
			for i, n := range list {
				gen := gens[n]
				if gen == nil {
					p.emit(map[string]any{"event": "error", "message": fmt.Sprintf("generation %d not loaded", n)})
					os.Exit(1)
				}
				if m.Cmd == "change" && i == len(list)-1 {
					w = &waiting{expect: m.Clients, acked: map[int64]bool{}, started: started, cpu: cpu, pushes: pushes, eds: gen.eds, done: make(chan struct{})}
					runtime.ReadMemStats(&w.mem)
					p.mu.Lock()
					p.wait = w
					p.mu.Unlock()
				}
				for key, snap := range gen.snapshots {
					if err := p.cache.SetSnapshot(ctx, key, snap); err != nil {
						p.emit(map[string]any{"event": "error", "message": err.Error()})
					}
				}
				delete(gens, n-1) // keep memory to what is served
			}
			if w == nil {
				p.emit(map[string]any{"event": "set", "gen": list[len(list)-1]})
				continue
			}
			go func() {
				<-w.done
				ms := float64(time.Since(w.started).Microseconds()) / 1000
				cpu := float64((cpuTime() - w.cpu).Microseconds()) / 1000
				p.mu.Lock()
				p.wait = nil
				p.mu.Unlock()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				p.emit(map[string]any{"event": "changed", "ms": ms, "cpuMs": cpu, "pushes": p.pushes.Load() - w.pushes, "rss": rss(), "proxies": p.streams.Load(),
					"allocatedBytes": after.TotalAlloc - w.mem.TotalAlloc, "gcs": after.NumGC - w.mem.NumGC, "gcPauseMs": float64(after.PauseTotalNs-w.mem.PauseTotalNs) / 1e6})
			}()
		case "stats":
			p.emit(map[string]any{"event": "stats", "rss": rss(), "proxies": p.streams.Load()})
		case "exit":
			g.Stop()
			os.Exit(0)
		}
	}
}
