import { createInbox } from "@nats-io/nats-core";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Logger } from "../deps.ts";
import { noopLogger } from "../deps.ts";
import { PLUGIN_NAME, supervisorSubject } from "../bus/mod.ts";
import type { ReloadReport } from "./plugin_group.ts";
import type { Supervisor, SupervisorSnapshot } from "./supervisor.ts";

const decoder = new TextDecoder();

/** A supervisor's answer to `reload`: first `accepted` (or `unknown`: not its plugin), later `done` or `failed`. */
export interface ReloadReply {
  supervisor: string;
  plugin: string;
  status: "accepted" | "unknown" | "done" | "failed";
  report?: ReloadReport;
}

/**
 * Serves the supervisor's control subjects: `<prefix>.$sup.ps` answers a {@linkcode SupervisorSnapshot};
 * `<prefix>.$sup.reload.<plugin>` answers `accepted` at once, reloads, then sends `done` or
 * `failed` with the report to the same reply subject. Every supervisor on the bus answers, so one
 * `switchyard ps` lists them all. Restrict who may publish to `<prefix>.$sup.>` with NATS permissions.
 */
export function serveSupervisorControl(nc: NatsConnection, supervisor: Supervisor, prefix: string, logger: Logger = noopLogger): { close(): void } {
  const encode = (value: unknown) => JSON.stringify(value);
  const subs: Subscription[] = [
    nc.subscribe(supervisorSubject(prefix, "ps"), {
      callback: (_err, msg) => {
        msg.respond(encode(supervisor.snapshot()));
      },
    }),
    nc.subscribe(supervisorSubject(prefix, "reload.*"), {
      callback: (_err, msg) => {
        const plugin = msg.subject.slice(msg.subject.lastIndexOf(".") + 1);
        const reply = msg.reply;
        if (reply === undefined || reply === "") return;
        const send = (value: ReloadReply) => {
          try {
            nc.publish(reply, encode(value));
          } catch {
            // the connection is closing
          }
        };
        if (!PLUGIN_NAME.test(plugin) || supervisor.get(plugin) === undefined) {
          send({ supervisor: supervisor.id, plugin, status: "unknown" });
          return;
        }
        send({ supervisor: supervisor.id, plugin, status: "accepted" });
        logger.info("reload requested over the control subject", { plugin });
        void supervisor.reload(plugin, "switchyard reload").then((report) =>
          send({ supervisor: supervisor.id, plugin, status: report.ok ? "done" : "failed", report })
        );
      },
    }),
  ];
  return {
    close() {
      for (const sub of subs) sub.unsubscribe();
    },
  };
}

/** Asks every supervisor on the bus for its instances. */
export async function requestPs(nc: NatsConnection, prefix: string, maxWaitMs = 2_000): Promise<SupervisorSnapshot[]> {
  const found: SupervisorSnapshot[] = [];
  try {
    const replies = await nc.requestMany(supervisorSubject(prefix, "ps"), undefined, { strategy: "stall", stall: 300, maxWait: maxWaitMs });
    for await (const msg of replies) {
      try {
        found.push(JSON.parse(decoder.decode(msg.data)) as SupervisorSnapshot);
      } catch {
        // not a snapshot
      }
    }
  } catch {
    // no responders: no supervisor runs
  }
  return found.sort((a, b) => a.supervisor.id.localeCompare(b.supervisor.id));
}

/**
 * Asks the supervisors running `plugin` to reload it, and waits for each one's outcome.
 * @returns the final replies (`done`/`failed`) of the supervisors that accepted, or `[]` when none runs it.
 */
export function requestReload(
  nc: NatsConnection,
  prefix: string,
  plugin: string,
  options: { timeoutMs: number; onReply?: (reply: ReloadReply) => void },
): Promise<{ accepted: string[]; finals: ReloadReply[]; timedOut: boolean }> {
  const inbox = createInbox();
  const accepted = new Set<string>();
  const finals: ReloadReply[] = [];
  return new Promise((resolve) => {
    let settled = false;
    const finish = (timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(quiet);
      sub.unsubscribe();
      resolve({ accepted: [...accepted], finals, timedOut });
    };
    const check = () => {
      if (accepted.size > 0 && finals.length >= accepted.size) finish(false);
    };
    // Supervisors answer at once; after a quiet spell with no acceptance, nobody runs the plugin.
    let quiet = setTimeout(() => accepted.size === 0 && finish(false), 1_000);
    const deadline = setTimeout(() => finish(true), options.timeoutMs);
    const sub = nc.subscribe(inbox, {
      callback: (_err, msg) => {
        let reply: ReloadReply;
        try {
          reply = JSON.parse(decoder.decode(msg.data)) as ReloadReply;
        } catch {
          return;
        }
        options.onReply?.(reply);
        if (reply.status === "accepted") accepted.add(reply.supervisor);
        else if (reply.status === "done" || reply.status === "failed") finals.push(reply);
        if (accepted.size === 0) {
          clearTimeout(quiet);
          quiet = setTimeout(() => accepted.size === 0 && finish(false), 300);
        }
        check();
      },
    });
    nc.publish(supervisorSubject(prefix, `reload.${plugin}`), "", { reply: inbox });
  });
}
