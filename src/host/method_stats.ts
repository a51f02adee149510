import type { WireError } from "../bus/mod.ts";
import type { EndpointStats } from "../bus/mod.ts";

/** Counts, errors and processing time of one method, measured until the async handler settles. */
export class MethodStats {
  requests = 0;
  errors = 0;
  totalMs = 0;
  lastError = "";

  record(ms: number, err: WireError | undefined): void {
    this.requests++;
    this.totalMs += ms;
    // Client mistakes (4xx) are not the plugin's errors.
    if (err !== undefined && err.status >= 500) {
      this.errors++;
      this.lastError = `${err.status}:${err.code}`;
    }
  }

  toJSON(endpoint: { name: string; subject: string; queue_group: string }): EndpointStats {
    const ns = Math.round(this.totalMs * 1e6);
    return {
      ...endpoint,
      num_requests: this.requests,
      num_errors: this.errors,
      last_error: this.lastError,
      processing_time: ns,
      average_processing_time: this.requests === 0 ? 0 : Math.round(ns / this.requests),
      data: {},
    };
  }
}
