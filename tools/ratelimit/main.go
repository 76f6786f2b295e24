// The reference Envoy rate-limit service (github.com/envoyproxy/ratelimit),
// built from the Go module proxy for meshplane's tests and demo. This file only
// calls its runner; the service is entirely upstream's.
package main

import (
	"github.com/envoyproxy/ratelimit/src/service_cmd/runner"
	"github.com/envoyproxy/ratelimit/src/settings"
)

func main() {
	r := runner.NewRunner(settings.NewSettings())
	r.Run()
}
