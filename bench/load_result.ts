/** What a load process reports on its last stdout line, as `{"result": LoadResult}`. */
export interface LoadResult {
  /** Completed requests with a 2xx status (or a NATS reply). */
  requests: number;
  /** Completed HTTP requests with another status. */
  non2xx: number;
  /** Transport errors and timeouts. */
  errors: number;
  /** Length of the measured window in seconds. */
  durationS: number;
  reqPerSec: number;
  p50Us: number;
  p99Us: number;
  /** CPU time (user + system) the load process itself used in the window, in µs. */
  loadCpuUs: number;
}
