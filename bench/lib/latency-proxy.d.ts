// Types of bench/lib/latency-proxy.js, for the test that drives it (test/bench/latency-proxy.test.ts).
export interface ProxyCounts {
  requests: number;
  connections: number;
  byMethod: Record<string, number>;
  byType: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
}
export interface LatencyProxy {
  readonly endpoint: string;
  snapshot(): ProxyCounts;
  setDelay(ms: number): void;
  stop(): Promise<void>;
}
export function startLatencyProxy(options: {
  upstream: string;
  delayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}): Promise<LatencyProxy>;
export function diffProxyCounts(before: ProxyCounts, after: ProxyCounts): ProxyCounts;
