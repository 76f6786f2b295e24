// meshplane's Rego evaluator: Open Policy Agent's own Go library
// (github.com/open-policy-agent/opa, built through the module proxy) behind a
// line protocol on stdin/stdout, driven by `meshplane ext-auth` for Gloo's
// opaAuth. One prepared query per ext-auth config, so the modules of two
// policies never mix. Requests and answers are one JSON object a line:
//
//	{"id":1,"op":"prepare","key":"K","modules":{"file.rego":"package x ..."},"query":"data.x.allow == true"}
//	{"id":2,"op":"eval","key":"K","input":{...}}   -> {"id":2,"allowed":true}
//	{"id":3,"op":"drop","key":"K"}
//
// Errors come back as {"id":N,"error":"..."}. Modules are parsed as Rego v0
// (what Gloo's OPA accepts; `import rego.v1` still works), else as Rego v1.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

type request struct {
	ID      int64             `json:"id"`
	Op      string            `json:"op"`
	Key     string            `json:"key"`
	Modules map[string]string `json:"modules,omitempty"`
	Query   string            `json:"query,omitempty"`
	Input   any               `json:"input,omitempty"`
}

type response struct {
	ID      int64  `json:"id"`
	OK      bool   `json:"ok,omitempty"`
	Allowed bool   `json:"allowed,omitempty"`
	Error   string `json:"error,omitempty"`
}

var (
	mu      sync.RWMutex
	queries = map[string]*rego.PreparedEvalQuery{}
	outMu   sync.Mutex
	out     = json.NewEncoder(os.Stdout)
	evals   sync.WaitGroup
)

func reply(r response) {
	outMu.Lock()
	defer outMu.Unlock()
	_ = out.Encode(r)
}

func parseModule(name, text string) (*ast.Module, error) {
	m, errV0 := ast.ParseModuleWithOpts(name, text, ast.ParserOptions{RegoVersion: ast.RegoV0})
	if errV0 == nil {
		return m, nil
	}
	m, errV1 := ast.ParseModuleWithOpts(name, text, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if errV1 == nil {
		return m, nil
	}
	return nil, errV0
}

func prepare(req request) response {
	names := make([]string, 0, len(req.Modules))
	for n := range req.Modules {
		names = append(names, n)
	}
	sort.Strings(names)
	opts := []func(*rego.Rego){rego.Query(req.Query)}
	for _, n := range names {
		m, err := parseModule(n, req.Modules[n])
		if err != nil {
			return response{ID: req.ID, Error: err.Error()}
		}
		opts = append(opts, rego.ParsedModule(m))
	}
	pq, err := rego.New(opts...).PrepareForEval(context.Background())
	if err != nil {
		return response{ID: req.ID, Error: err.Error()}
	}
	mu.Lock()
	queries[req.Key] = &pq
	mu.Unlock()
	return response{ID: req.ID, OK: true}
}

func eval(req request) response {
	mu.RLock()
	pq := queries[req.Key]
	mu.RUnlock()
	if pq == nil {
		return response{ID: req.ID, Error: fmt.Sprintf("no prepared query %q", req.Key)}
	}
	rs, err := pq.Eval(context.Background(), rego.EvalInput(req.Input))
	if err != nil {
		return response{ID: req.ID, Error: err.Error()}
	}
	// Gloo's rule: allowed when the query has exactly one result whose one expression is true.
	return response{ID: req.ID, OK: true, Allowed: rs.Allowed()}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			reply(response{ID: -1, Error: "bad request line: " + err.Error()})
			continue
		}
		switch req.Op {
		case "prepare":
			reply(prepare(req))
		case "eval":
			evals.Add(1)
			go func(r request) {
				defer evals.Done()
				reply(eval(r))
			}(req)
		case "drop":
			mu.Lock()
			delete(queries, req.Key)
			mu.Unlock()
			reply(response{ID: req.ID, OK: true})
		default:
			reply(response{ID: req.ID, Error: "unknown op " + req.Op})
		}
	}
	// stdin closed (meshplane ext-auth stopped): answer what is in flight, then exit.
	evals.Wait()
}
