// Prometheus metrics for the xDS server and the pipeline.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly connected = new Gauge({ name: 'meshplane_connected_proxies', help: 'Connected xDS streams by proxy role and protocol', labelNames: ['role', 'protocol'], registers: [this.registry] });
  readonly pushes = new Counter({ name: 'meshplane_xds_pushes_total', help: 'Responses sent, by resource type and protocol', labelNames: ['type', 'protocol'], registers: [this.registry] });
  readonly nacks = new Counter({ name: 'meshplane_xds_nacks_total', help: 'Responses proxies rejected, by resource type', labelNames: ['type'], registers: [this.registry] });
  readonly pushLatency = new Histogram({
    name: 'meshplane_push_latency_seconds',
    help: 'From a config change being seen to the proxy ACKing it',
    labelNames: ['type'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  readonly translation = new Histogram({ name: 'meshplane_translation_duration_seconds', help: 'Core + translation + encoding of one resource set', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2], registers: [this.registry] });
  readonly resources = new Gauge({ name: 'meshplane_proxy_resources', help: 'Resources served to each proxy key, by type', labelNames: ['proxy', 'type'], registers: [this.registry] });
  readonly stalled = new Counter({ name: 'meshplane_xds_stalled_streams_total', help: 'Streams closed because the proxy stopped reading', registers: [this.registry] });
  readonly refused = new Counter({ name: 'meshplane_xds_refused_streams_total', help: 'Streams refused (bad node or not authorized)', labelNames: ['reason'], registers: [this.registry] });

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'meshplane_' });
  }
}
