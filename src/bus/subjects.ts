/**
 * Subject and queue-group names. Every subject Switchyard sends on is built here, from names that
 * already passed the plugin and method grammars — never from raw request text.
 * @module
 */

/** Plugin names: `^[a-z][a-z0-9-]{0,62}$`. Only names that pass it ever reach a subject. */
export const PLUGIN_NAME = /^[a-z][a-z0-9-]{0,62}$/;
/** Method names: `^[a-zA-Z][a-zA-Z0-9_-]{0,62}$`. */
export const METHOD_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,62}$/;

/** The default subject prefix. */
export const DEFAULT_PREFIX = "sy";

/** A version as one subject token: dots become underscores (`1.2.0` → `1_2_0`). */
export function versionToken(version: string): string {
  return version.replaceAll(".", "_").replaceAll("+", "~");
}

/** `<prefix>.<plugin>.<version-token>`: the base of a version's method subjects. */
export function versionSubjectBase(prefix: string, plugin: string, version: string): string {
  return `${prefix}.${plugin}.${versionToken(version)}`;
}

/**
 * `<prefix>.$i.<plugin>.<instanceId>`: the base of one instance's own method subjects. The plugin
 * name in it lets NATS permissions give each plugin only its own instance subjects (`sy.$i.hello.>`).
 */
export function instanceSubjectBase(prefix: string, plugin: string, instanceId: string): string {
  return `${prefix}.$i.${plugin}.${instanceId}`;
}

/** `<plugin>@<version>`: the queue group shared by every instance of one version. */
export function queueGroup(plugin: string, version: string): string {
  return `${plugin}@${version}`;
}

/** `<prefix>.$events.<plugin>`: where instances announce started, draining and stopped. */
export function eventsSubject(prefix: string, plugin: string): string {
  return `${prefix}.$events.${plugin}`;
}

/**
 * `<prefix>.$ctl.<plugin>.<instanceId>.<verb>`: control requests to one instance (`options`: replace
 * its plugin options). The plugin name lets NATS permissions grant each plugin only its own
 * (`sy.$ctl.<plugin>.>`); restrict publishing to supervisors.
 */
export function controlSubject(prefix: string, plugin: string, instanceId: string, verb: string): string {
  return `${prefix}.$ctl.${plugin}.${instanceId}.${verb}`;
}

/** `<prefix>.$sup.<verb>`: requests to supervisors (`ps`, `reload.<plugin>`). */
export function supervisorSubject(prefix: string, verb: string): string {
  return `${prefix}.$sup.${verb}`;
}

/** Instance ids are NATS-token safe: letters, digits, `-` and `_`, 1 to 64 characters. */
export const INSTANCE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Session ids (streams, bodies in chunks): NATS-token safe, like instance ids. */
export const STREAM_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * `<instance subject base>.$s.<streamId>`: where a caller pulls the rest of a session from the
 * instance serving it. Under the instance's own subjects, so only that plugin may listen there.
 */
export function streamSubject(instanceBase: string, streamId: string): string {
  return `${instanceBase}.$s.${streamId}`;
}
