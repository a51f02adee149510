/**
 * The bus: subjects, headers, error replies, the micro discovery protocol, and request/reply.
 * @module
 */
export { connectBus, DEFAULT_NATS_URL, parseServers } from "./connect.ts";
export { DEFAULT_MAX_PAYLOAD, RequestMux } from "./request_mux.ts";
export { isLastMessage, StreamPull } from "./stream_pull.ts";
export type { StreamPullOptions } from "./stream_pull.ts";
export { announcedReplySize, cancelSession, CHUNK_HEADROOM, collectChunks, headerBytes, needsChunks, requestInChunks, sizeNeedsChunks, UNSIZED } from "./chunks.ts";
export type { BodySource, ChunkedRequestOptions, CollectChunksOptions } from "./chunks.ts";
export { requestMessages, sessionSubject } from "./stream_request.ts";
export type { RequestMessagesOptions } from "./stream_request.ts";
export { BUS_FAILURE_MESSAGE, BusError, BusTimeoutError, DisconnectedError, isBusError, NoRespondersError, RequestLostError } from "./bus_errors.ts";
export type { BusFailure } from "./bus_errors.ts";
export { readHeaders, WireHeaders } from "./wire_headers.ts";
export { credentialFiles, credentialsInUrls, NATS_CREDENTIAL_ENV, natsAuthOptions, natsCredentialsFromEnv } from "./credentials.ts";
export type { NatsCredentials } from "./credentials.ts";
export {
  controlSubject,
  DEFAULT_PREFIX,
  eventsSubject,
  INSTANCE_ID,
  instanceSubjectBase,
  METHOD_NAME,
  PLUGIN_NAME,
  queueGroup,
  STREAM_ID,
  streamSubject,
  supervisorSubject,
  versionSubjectBase,
  versionToken,
} from "./subjects.ts";
export {
  H_BYTES,
  H_CANCEL,
  H_CHUNKS,
  H_DEADLINE,
  H_END,
  H_IDLE,
  H_SEQ,
  H_STREAM,
  H_ERROR_CODE,
  H_INSTANCE,
  H_NESTED,
  H_PRINCIPAL,
  H_REQUEST_ID,
  H_SERVICE_ERROR,
  H_SERVICE_ERROR_CODE,
  H_VERSION,
} from "./headers.ts";
export { decodeWireError, encodeWireError, replyOf, wireErrorOf } from "./wire_error.ts";
export {
  collectMicro,
  INFO_RESPONSE,
  META_DESCRIPTION,
  META_HOST,
  META_IDEMPOTENT,
  META_INPUT_SCHEMA,
  META_INSTANCE_SUBJECT,
  META_OUTPUT_SCHEMA,
  META_PREFIX,
  META_PROTOCOL,
  META_REGION,
  META_REQUIRES,
  META_RUNTIME,
  META_STREAM,
  META_WEIGHT,
  microSubjects,
  PING_RESPONSE,
  PROTOCOL_VERSION,
  SRV_PREFIX,
  STATS_RESPONSE,
} from "./micro.ts";
export type { BusConnectOptions } from "./connect.ts";
export type { BusReply, MuxRequestOptions, PendingRequest, RequestMuxOptions } from "./request_mux.ts";
export type { WireError } from "./wire_error.ts";
export type { CollectOptions, EndpointInfo, EndpointStats, InfoResponse, InstanceEvent, MicroVerb, StatsResponse } from "./micro.ts";
export { NATS_SECURITY_FIELDS, NatsOptionsSchema, NatsTlsSchema } from "./options.ts";
export type { ResolvedNatsOptions } from "./options.ts";
