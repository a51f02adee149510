import type { FolderEvent, PluginUpdate, ReloadReport } from "../supervisor/mod.ts";
import { print, printError } from "./command.ts";

/**
 * What `switchyard dev` prints about a change in the plugins folder: "applied" only for what took
 * effect; what was refused, ignored or not applied is said so, with why.
 */
export function printFolderEvent(event: FolderEvent): void {
  const name = event.plugin;
  switch (event.type) {
    case "reloaded":
      return printReload(name, event.report);
    case "refused":
      return printError(
        `\n✗ ${name}: not applied, the running instances keep their code, options and sandbox.\n  ${event.error}\n`,
      );
    case "removed":
      return print(`\n- ${name}: its folder is gone; its instances were drained\n`);
    case "added":
      if (event.update.added?.ready === true) return print(`\n+ ${name}: new plugin folder, started\n`);
      return printError(`\n✗ ${name}: new plugin folder, but it did not come up; see its lines above\n`);
    case "manifest":
      return printManifestUpdate(name, event.update);
  }
}

/** A blue-green replacement after a file change. */
export function printReload(name: string, r: ReloadReport): void {
  if (r.ok) {
    print(
      `\n↻ ${name} reloaded${
        r.version === undefined ? "" : ` (${r.version})`
      }: file change → new instances ready ${r.readyMs} ms, → all traffic on them ${r.switchMs} ms\n`,
    );
  } else {printError(
      `\n✗ ${name}: the new code did not come up, the old instances keep serving.\n  ${r.error}\n`,
    );}
}

function printManifestUpdate(name: string, update: PluginUpdate): void {
  if (update.replaced !== undefined) {
    if (update.replaced.ok) {
      print(
        `\n↻ ${name}: plugin.json applied: its permissions, requirements or runtime changed, so its instances were replaced blue-green\n`,
      );
    } else {printError(
        `\n✗ ${name}: plugin.json not applied: the new instances did not come up, the old ones keep serving.\n  ${update.replaced.error}\n`,
      );}
    return;
  }
  const options = update.options;
  if (options === undefined) {
    print(
      `\n· ${name}: plugin.json changed nothing that runs (options in the config's plugins.${name}.options take precedence over the manifest's)\n`,
    );
    return;
  }
  if (!options.applied) {
    printError(
      `\n✗ ${name}: plugin.json options refused, the running instances keep the previous ones.\n  ${options.message}\n`,
    );
    return;
  }
  if (options.ignored.length > 0) {
    printError(
      `\n⚠ ${name}: plugin.json options not applied, the plugin has no such options: ${
        options.ignored.join(", ")
      }\n`,
    );
  }
  print(
    `\n↻ ${name}: plugin.json options applied to the running instances (their state is kept)${
      options.ignored.length > 0 ? `, except ${options.ignored.join(", ")}` : ""
    }\n`,
  );
}
